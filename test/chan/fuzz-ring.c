/* SPDX-License-Identifier: MIT */
/*
 * Description: libFuzzer harness for the ring reader fed arbitrary shared
 * state.  Each input makes a fresh ring, attaches the reading end, then
 * plays the hostile writer: the input sets the head index and the whole
 * data area, and its tail is a script of reader calls (peek, advance,
 * release) interleaved with pokes into the shared area and the head
 * (a writer changing state under the reader) and the peer's closed flag.
 * Input layout: head index (8 bytes), image length (2), the image of the
 * data area, then the script, one opcode byte per step.
 * The reader must only ever return a frame lying inside its data area,
 * -EPROTO, -EAGAIN or EOF; ASan/UBSan catch everything else.
 *
 * Built and run by `make fuzz-ring` (clang -fsanitize=fuzzer).
 */
#include "config.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/chan/chan_i.h"

#define CAP 4096u
#define PAGE 4096u

void *xos__ring_shared(void *st, size_t *ret_len);

/* What ring.c needs from the generic layer. */
void xos__close_fds(int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

static int peer_gone;

bool xos__chan_peer_gone(const struct xos_mech_link *link)
{
	(void)link;
	return peer_gone;
}

static uint64_t take(const uint8_t **p, size_t *n, size_t bytes)
{
	uint64_t v = 0;

	if (bytes > *n)
		bytes = *n;
	memcpy(&v, *p, bytes);
	*p += bytes;
	*n -= bytes;
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct xos__chan_ctl ctl;
	const struct xos_mech_params p = { .flags = 0, .dirs = 1, .capacity = CAP, .max_msg = CAP / 4 };
	struct xos_mech_link link = { .ctl = &ctl, .idx = 1, .ctl_sock = -1 };
	int fds[2][XOS_MECH_MAX_FDS] = { { -1, -1, -1, -1 }, { -1, -1, -1, -1 } };
	unsigned int nfds;
	const struct xos_mech_ops *ops = &xos__chan_ring;
	void *st;
	uint8_t *map, *area;
	_Atomic uint64_t *head;
	size_t map_len, n = size;
	const uint8_t *in = data;
	bool have_frame = false;

	memset(&ctl, 0, sizeof(ctl));
	peer_gone = 0;
	if (ops->make(&p, fds, &nfds) < 0)
		abort();
	xos__close_fds(fds[0], nfds);
	if (ops->attach(&p, &link, fds[1], nfds, &st) < 0)
		abort();
	map = xos__ring_shared(st, &map_len);
	head = (_Atomic uint64_t *)(void *)map;
	area = map + PAGE;

	/* Input: head (8 bytes), length of the area image (2), the image, the script. */
	atomic_store(head, take(&in, &n, 8));
	{
		size_t k = (size_t)take(&in, &n, 2) % (CAP + 1);

		if (k > n)
			k = n;
		memcpy(area, in, k);
		in += k;
		n -= k;
	}
	for (int steps = 0; n > 0 && steps < 4096; steps++) {
		uint8_t op = (uint8_t)take(&in, &n, 1);
		struct xos_mech_frame f;
		int rc;

		switch (op % 6) {
		case 0:
		case 1:
			rc = ops->rx_peek(st, &f, true);
			if (rc == 1) {
				volatile uint8_t sink = 0;

				/* The frame must lie inside the data area: touch every byte. */
				if (f.data < area || f.data + f.len > area + CAP)
					abort();
				for (uint32_t i = 0; i < f.len; i++)
					sink ^= f.data[i];
				(void)sink;
				have_frame = true;
			} else if (rc != 0 && rc != -EAGAIN && rc != -EPROTO) {
				abort();
			} else {
				have_frame = false;
			}
			break;
		case 2:
			if (have_frame)
				ops->rx_advance(st);
			have_frame = false;
			break;
		case 3:
			ops->rx_release(st);
			break;
		case 4: { /* the writer pokes 8 bytes somewhere in the area */
			uint64_t off = take(&in, &n, 2) % (CAP - 8), v = take(&in, &n, 8);

			memcpy(area + off, &v, 8);
			break;
		}
		case 5: { /* the writer moves the head, or closes, or dies */
			uint8_t what = (uint8_t)take(&in, &n, 1);

			if (what & 1)
				atomic_store(head, take(&in, &n, 8));
			else if (what & 2)
				atomic_store(&ctl.closed[0], 1);
			else
				peer_gone = 1;
			break;
		}
		}
	}
	ops->detach(st);
	return 0;
}
