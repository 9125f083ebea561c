/* SPDX-License-Identifier: MIT */
/*
 * Description: libFuzzer harness for the shim's ring (src/shim/ring.c) fed
 * a hostile shared area.  Each input puts a pipe on a fresh ring slot,
 * then runs a script that interleaves the pipe's own reads and writes with
 * pokes of everything another process of the run could write: the
 * cursors, the capacity, the pipe's page-buffer account, the mode, the
 * generation, the slot index of the channel, the direction count, the bell
 * count, the data offset, the direction's size (rings grow by doubling)
 * and the half-close bits, plus downgrades and F_SETPIPE_SZ.  ring.c is
 * included, so that the harness can ask pages_take() whether a write would
 * block (it must not: nobody else runs).  Every data byte outside the one direction the pipe may use
 * is PROT_NONE, so a copy outside the slot faults; ASan/UBSan catch the
 * rest.  A read must return at most what was asked, -EIO once the ring is
 * broken, -EAGAIN, or fall back to the kernel.
 * Script: one opcode byte, then its operand bytes (missing bytes are 0).
 *
 * Built and run by `make fuzz-shim-ring [FUZZ_SECONDS=N]` (clang -fsanitize=fuzzer).
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../../src/shim/ring.c"

struct shim_state shim;
__thread int32_t shim_pid, shim_self = -1, shim_thread_ef = -1;
__thread uint8_t shim_light;

uint64_t shim_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool shim_own_process(void)
{
	return true;
}

static int rfd = -1, wfd = -1;

/* The area once per process, with only slot 0's first direction usable. */
static void setup(void)
{
	size_t len = shim_area_bytes(), off = shim_ring_data_off();
	char *a;
	int p[2];

	a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (a == MAP_FAILED || mprotect(a + off + SHIM_RING_SIZE, len - off - SHIM_RING_SIZE, PROT_NONE) < 0)
		abort();
	shim.area = (struct shim_area *)a;
	shim_area_init(shim.area, shim_now_ns());
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		abort();
	rfd = p[0];
	wfd = p[1];
	signal(SIGPIPE, SIG_IGN);
	shim.fd_hi = (rfd > wfd ? rfd : wfd) + 1;
	if (shim.fd_hi > SHIM_FD_MAX)
		abort();
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
	static char buf[2 * SHIM_RING_SIZE];
	struct shim_area *a;
	struct shim_ring *r;
	struct shim_dir *D;
	struct shim_fd *fr, *fw;
	const uint8_t *in = data;
	size_t n = size;
	int32_t slot;
	char sink[256];

	if (!shim.area)
		setup();
	a = shim.area;
	r = &a->ring[0];
	D = &r->dir[0];
	/* A fresh slot 0 (keeping its generation), an empty kernel pipe. */
	{
		uint32_t gen = atomic_load(&r->gen);

		memset(r, 0, sizeof(*r));
		atomic_store(&r->gen, gen);
	}
	a->ring_off = shim_ring_data_off();
	atomic_store(&a->ring_used, 0);
	atomic_store(&a->ring_next, 0);
	while (read(rfd, sink, sizeof(sink)) > 0)
		;
	fcntl(wfd, F_SETPIPE_SZ, 65536);
	memset(&a->chan[0], 0, sizeof(a->chan[0]));
	a->chan[0].kind = SHIM_CH_PIPE;
	atomic_store(&a->chan[0].used, 1);
	slot = shim_ring_attach(0, 1, 16);
	if (slot != 0)
		abort();
	fr = &shim.fd[rfd];
	fw = &shim.fd[wfd];
	*fr = (struct shim_fd){ .chan = 1, .end = 0, .ring = 1, .gen = atomic_load(&r->gen) };
	*fw = (struct shim_fd){ .chan = 1, .end = 1, .ring = 1, .gen = atomic_load(&r->gen) };

	while (n > 0) {
		uint8_t op = (uint8_t)take(&in, &n, 1);

		switch (op % 19) {
		case 0: { /* read, never sleeping */
			size_t len = (size_t)take(&in, &n, 3) % sizeof(buf);
			ssize_t k = shim_ring_read(rfd, fr, buf, len, MSG_DONTWAIT);

			if (k > (ssize_t)len || (k < 0 && k != SHIM_USE_KERNEL && k != -EIO && k != -EAGAIN))
				abort();
			break;
		}
		case 1: { /* write what fits without blocking (the harness is alone) */
			size_t len = (size_t)take(&in, &n, 3) % sizeof(buf);
			uint64_t h = atomic_load(&D->head), t = atomic_load(&D->tail);
			uint32_t cap = atomic_load(&D->cap);
			ssize_t k;

			if (h - t <= cap && cap <= atomic_load(&r->size[0]) && len > cap - (h - t))
				len = cap - (h - t);
			/* A pipe's account may take less: shrink to what it takes
			 * whole (a smaller write may merge differently). */
			for (int tries = 0; len && D->slots && tries < 4; tries++) {
				static struct shim_dir sim;
				size_t got;

				memcpy(&sim, D, sizeof(sim));
				if (!pages_settle(&sim, t))
					break;
				got = pages_take(&sim, h, len, len, true);
				if (got == len)
					break;
				len = tries == 3 ? 0 : got;
			}
			if (!len || atomic_load(&D->reader_gone))
				break;
			k = shim_ring_write(wfd, fw, buf, len);
			if (k > (ssize_t)len)
				abort();
			break;
		}
		case 2: atomic_store(&D->head, take(&in, &n, 8)); break;
		case 3: atomic_store(&D->tail, take(&in, &n, 8)); break;
		case 4: atomic_store(&D->head, atomic_load(&D->head) + (int16_t)take(&in, &n, 2)); break;
		case 5: atomic_store(&D->tail, atomic_load(&D->tail) + (int16_t)take(&in, &n, 2)); break;
		case 6: atomic_store(&D->cap, (uint32_t)take(&in, &n, 4)); break;
		case 7: atomic_store(&r->mode, (uint32_t)take(&in, &n, 1) % 5); break;
		case 8: atomic_store(&r->gen, atomic_load(&r->gen) + (uint32_t)take(&in, &n, 1) % 2); break;
		case 9: a->chan[0].ring = (int32_t)take(&in, &n, 4); break;
		case 10: r->ndirs = (uint32_t)take(&in, &n, 4); break;
		case 11: atomic_store(&D->bells, (uint32_t)take(&in, &n, 1) % 8); break;
		case 12: a->ring_off = take(&in, &n, 8); break;
		case 13: { /* the page-buffer account */
			uint32_t i = (uint32_t)take(&in, &n, 1);

			switch (take(&in, &n, 1) % 5) {
			case 0: D->slots = (uint32_t)take(&in, &n, 2); break;
			case 1: D->bhead += (uint32_t)(int8_t)take(&in, &n, 1); break;
			case 2: D->btail += (uint32_t)(int8_t)take(&in, &n, 1); break;
			case 3: D->blen[i % SHIM_PIPE_SLOTS] = (uint16_t)take(&in, &n, 2); break;
			default: D->bend[i % SHIM_PIPE_SLOTS] += (uint64_t)(int16_t)take(&in, &n, 2); break;
			}
			break;
		}
		case 14: { /* F_SETPIPE_SZ from either end */
			static const int sizes[] = { 4096, 8192, 16384, 65536, 262144, 524288, 1 << 20, 3000, 0, -1 };
			uint8_t v = (uint8_t)take(&in, &n, 1);
			struct shim_fd *f = v & 1 ? fw : fr;
			int rc = shim_ring_pipe_size(v & 1 ? wfd : rfd, f, sizes[(v >> 1) % 10]);

			if (rc == SHIM_USE_KERNEL)
				rc = fcntl(v & 1 ? wfd : rfd, F_SETPIPE_SZ, sizes[(v >> 1) % 10]);
			break;
		}
		case 15: atomic_store(&D->rwait, (uint32_t)take(&in, &n, 1) % 2); break;
		case 16: { /* the size: any value, or a power of two around it */
			uint32_t v = (uint32_t)take(&in, &n, 4);

			atomic_store(&r->size[0], v & 1 ? v : 1u << (v >> 1) % 24);
			break;
		}
		case 17: atomic_store(&r->shut, (uint32_t)take(&in, &n, 1)); break;
		default: /* a downgrade from either end, or a poll's question */
			switch (take(&in, &n, 1) % 3) {
			case 0: shim_ring_downgrade(rfd, fr, "fuzz", true); break;
			case 1: shim_ring_downgrade(wfd, fw, "fuzz", false); break;
			default: (void)shim_ring_readable(fr); break;
			}
			break;
		}
	}
	return 0;
}
