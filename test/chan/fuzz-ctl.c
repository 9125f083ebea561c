/* SPDX-License-Identifier: MIT */
/*
 * Description: libFuzzer harness for the channel control page (struct
 * xos__chan_ctl), which both ends' processes map and so neither trusts.
 * Each input opens a non-blocking channel on a mechanism it picks, passes
 * one message so both ends hold a path, then plays the hostile peer: it
 * overwrites the control page with its own bytes (closed flags, the lock
 * word, the bound flag, the path counters and ids, the mechanism and ICF
 * names, the CPU hints, ...) and runs a script of calls on both ends
 * (send, recv, peek/consume/release, reserve/commit, switch, mechanism,
 * fd, stats) interleaved with more pokes into the page.
 * Input layout: a flags byte (mechanism, bidirectional, stream, forge
 * before the first message, multi-producer), a length byte and that many bytes of page
 * image, then the script, one opcode byte per step.
 * Every call must return a value in range or -errno, never crash, leak
 * memory (LeakSanitizer) or descriptors, or hang (libFuzzer -timeout).
 *
 * Built and run by `make fuzz-ctl` (clang -fsanitize=fuzzer), with the
 * waits for a promised path or a held lock shortened to keep it fast.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/chan/chan_i.h"

/* The channel layer's host: nothing runs in an EF here; unbound channels bind to the input's pick. */
static const char *default_mech = "ring";

static int fuzz_init(void)
{
	static const struct xos_mech *const builtin[] = {
		&xos__mech_ring, &xos__mech_pipe, &xos__mech_unix, &xos__mech_tcp,
	};

	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		(void)xos__mech_register(builtin[i]); /* -EBUSY from the second input on */
	return 0;
}

static int bind_default(struct xos_chan *end)
{
	int rc = xos__chan_bind(end, default_mech);

	return rc < 0 ? rc : 0;
}

static const struct xos__chan_host fuzz_host = { .init = fuzz_init, .bind_default = bind_default };

static const char *const mechs[] = { "ring", "pipe", "unix", "ring" };

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		abort();
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Say which descriptors are open (a leak report). */
static void list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[300], to[256];

	while (d && (e = readdir(d)) != NULL) {
		ssize_t k;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		k = readlink(path, to, sizeof(to) - 1);
		if (k > 0) {
			to[k] = '\0';
			fprintf(stderr, "  fd %s -> %s\n", e->d_name, to);
		}
	}
	if (d)
		closedir(d);
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

/* A call's result must be a length within @max or one of the errors a hostile peer may cause. */
static void check_rc(ssize_t rc, size_t max)
{
	if (rc >= 0) {
		if ((size_t)rc > max)
			abort();
		return;
	}
	switch (-rc) {
	case EAGAIN: case EPIPE: case EPROTO: case EBADF: case EBUSY: case EINVAL: case EIO:
	case ETIMEDOUT: case EMSGSIZE: case ENOBUFS: case EOPNOTSUPP: case ECONNRESET:
		return;
	default:
		fprintf(stderr, "unexpected error %zd (%s)\n", rc, strerror((int)-rc));
		abort();
	}
}

static void forge(struct xos__chan_ctl *ctl, const uint8_t *img, size_t len)
{
	if (len > sizeof(*ctl))
		len = sizeof(*ctl);
	memcpy((void *)ctl, img, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds_before = count_fds();
	struct xos_chan_attr attr;
	struct xos_chan *ends[2];
	struct xos__chan_ctl *ctl;
	bool open_end[2] = { true, true };
	const uint8_t *in = data, *img;
	size_t n = size, img_len;
	uint8_t flags;
	char buf[256];
	int sends = 0;

	flags = (uint8_t)take(&in, &n, 1);
	img_len = (size_t)take(&in, &n, 1);
	if (img_len > n)
		img_len = n;
	img = in;
	in += img_len;
	n -= img_len;

	xos_chan_attr_init(&attr);
	attr.capacity = 65536; /* small sends never fill it: a writer here never waits for its own reader */
	attr.flags = XOS_CHAN_F_NONBLOCK | ((flags & 4) ? XOS_CHAN_F_BIDIR : 0) |
		     ((flags & 8) ? XOS_CHAN_F_STREAM : 0);
	if ((flags & 32) && !(flags & 4))
		attr.flags |= XOS_CHAN_F_MULTI_PRODUCER; /* its writers' lock is off the page */
	xos__chan_host_set(&fuzz_host);
	default_mech = mechs[flags & 3];
	if (!(flags & 16))
		attr.mechanism = mechs[flags & 3];
	if (xos_chan_open(ends, &attr) < 0)
		abort();
	ctl = ends[0]->ctl;
	if (flags & 16) {
		forge(ctl, img, img_len); /* a peer that lies before anything was bound */
	} else {
		if (xos_chan_send(ends[0], "hello", 5) != 5 || xos_chan_recv(ends[1], buf, sizeof(buf)) != 5)
			abort();
		forge(ctl, img, img_len);
	}

	for (int steps = 0; n > 0 && steps < 64; steps++) {
		uint8_t op = (uint8_t)take(&in, &n, 1);
		int e = op >> 7;
		struct xos_chan *end = ends[e];
		const void *view;
		void *w;
		ssize_t rc;

		if (!open_end[e])
			continue;
		switch (op & 15) {
		case 0:
		case 1: { /* send: small messages only, so the ring never fills with its reader here */
			size_t len = (size_t)take(&in, &n, 1) % 48;

			if (sends++ >= 24)
				break;
			memset(buf, 'a' + (int)len % 26, len);
			check_rc(xos_chan_send(end, buf, len), len);
			break;
		}
		case 2:
		case 3:
			check_rc(xos_chan_recv(end, buf, (size_t)take(&in, &n, 1) % sizeof(buf)), sizeof(buf));
			break;
		case 4:
			rc = xos_chan_peek(end, &view);
			check_rc(rc, 4096);
			if (rc > 0) {
				volatile char sink = 0;

				for (ssize_t i = 0; i < rc; i++)
					sink ^= ((const char *)view)[i];
				(void)sink;
				check_rc(xos_chan_consume(end, (size_t)rc), 0);
			}
			break;
		case 5:
			check_rc(xos_chan_release(end), 0);
			break;
		case 6: {
			size_t len = 1 + (size_t)take(&in, &n, 1) % 32;

			if (sends++ >= 24)
				break;
			rc = xos_chan_reserve(end, len, &w);
			check_rc(rc, 0);
			if (rc == 0) {
				memset(w, 'r', len);
				check_rc(xos_chan_commit(end, (size_t)take(&in, &n, 1) % (len + 1)), 0);
			}
			break;
		}
		case 7:
			if (sends++ >= 24)
				break;
			check_rc(xos_chan_switch(end, mechs[take(&in, &n, 1) & 3]), 0);
			break;
		case 8: { /* the peer pokes 8 bytes of the page */
			size_t off = (size_t)take(&in, &n, 2) % (sizeof(*ctl) - 8);
			uint64_t v = take(&in, &n, 8);

			memcpy((char *)ctl + off, &v, 8);
			break;
		}
		case 9: {
			struct xos_chan_stats st;
			const char *m = xos_chan_mechanism(end);

			if (strlen(m) >= XOS_CHAN_MECH_MAX || strlen(xos_chan_name(end)) >= XOS_CHAN_NAME_MAX)
				abort();
			check_rc(xos_chan_stats(end, &st), 0);
			break;
		}
		case 10:
			rc = xos_chan_fd(end);
			if (rc < 0)
				check_rc(rc, 0);
			break;
		case 11:
			xos_chan_close(end);
			open_end[e] = false;
			break;
		case 12:
			forge(ctl, img, img_len); /* the same lies again, later */
			break;
		default:
			break;
		}
	}
	for (int i = 0; i < 2; i++)
		if (open_end[i])
			xos_chan_close(ends[i]);
	if (count_fds() != fds_before) {
		fprintf(stderr, "descriptors leaked: %d before, %d after\n", fds_before, count_fds());
		list_fds();
		abort();
	}
	return 0;
}
