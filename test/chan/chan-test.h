/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the channel tests: start EFs in a given ICF with
 * their channel ends, a sequenced message format both sides can check,
 * and the loops over every mechanism and ICF.
 */
#ifndef XOS_TEST_CHAN_H
#define XOS_TEST_CHAN_H

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <xos.h>

static const char *const mechs[] = { "ring", "pipe", "unix", "tcp" };
static const char *const icfs[] = { "thread", "process" };
#define NMECHS 4
#define NICFS 2

/* A failure inside an EF: its exit status is the line that failed. */
#define EF_CHECK(cond)                                                                   \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "%s:%d: EF check failed: %s\n", __FILE__, __LINE__, #cond); \
			return __LINE__;                                                 \
		}                                                                        \
	} while (0)

static inline double t_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Start @fn(@arg) in ICF @icf owning @ends. */
static inline struct xos_ef *t_start(const char *icf, xos_ef_fn fn, const void *arg, size_t size,
				     struct xos_chan *const *ends, size_t nends)
{
	struct xos_ef_attr attr;
	struct xos_ef *ef = NULL;
	int rc;

	xos_ef_attr_init(&attr);
	attr.icf = icf;
	attr.chans = ends;
	attr.nchans = nends;
	rc = xos_ef_create(&ef, &attr, fn, arg, size);
	if (rc != 0)
		fail_msg("xos_ef_create(%s) = %d (%s)", icf, rc, strerror(-rc));
	return ef;
}

/* Join @ef and check it exited with 0 (else: the line of the failed EF check). */
static inline void t_join_ok(struct xos_ef *ef, const char *what)
{
	struct xos_ef_exit ex = { 0 };

	if (xos_ef_join(ef, &ex) != 0)
		fail_msg("%s: join failed", what);
	if (ex.how != XOS_EF_EXITED || ex.status != 0)
		fail_msg("%s: EF %s with %d (an EF check failed at that line)", what,
			 ex.how == XOS_EF_KILLED ? "killed" : "exited", ex.status);
}

static inline struct xos_ef_exit t_join(struct xos_ef *ef)
{
	struct xos_ef_exit ex = { 0 };

	assert_int_equal(xos_ef_join(ef, &ex), 0);
	return ex;
}

/* Open a channel forced onto @mech. */
static inline void t_open(struct xos_chan *ends[2], const char *mech, unsigned int flags, size_t capacity)
{
	struct xos_chan_attr attr;
	int rc;

	xos_chan_attr_init(&attr);
	attr.mechanism = mech;
	attr.flags = flags;
	attr.capacity = capacity;
	attr.name = mech;
	rc = xos_chan_open(ends, &attr);
	if (rc != 0)
		fail_msg("xos_chan_open(%s) = %d (%s)", mech ? mech : "-", rc, strerror(-rc));
}

/* ---- sequenced messages: [u64 seq][u32 len][bytes derived from seq] ---- */

#define SEQ_HDR 12

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Random size of message @seq: mostly small, sometimes up to @max. */
static inline size_t seq_size(uint64_t seq, size_t max)
{
	uint64_t h = mix64(seq * 2654435761u + 1);
	size_t s = (h & 7) == 0 ? (size_t)(h >> 8) % max : (size_t)(h >> 8) % 256;

	return s < SEQ_HDR ? SEQ_HDR : s;
}

static inline void seq_fill(uint8_t *buf, uint64_t seq, size_t len)
{
	uint32_t l = (uint32_t)len;

	memcpy(buf, &seq, 8);
	memcpy(buf + 8, &l, 4);
	for (size_t i = SEQ_HDR; i < len; i++)
		buf[i] = (uint8_t)(seq * 131 + i * 7);
}

/* 0 if @buf of @len is message @seq intact. */
static inline int seq_check(const uint8_t *buf, size_t len, uint64_t seq)
{
	uint64_t s;
	uint32_t l;

	if (len < SEQ_HDR)
		return 1;
	memcpy(&s, buf, 8);
	memcpy(&l, buf + 8, 4);
	if (s != seq)
		return 2;
	if (l != len)
		return 3;
	for (size_t i = SEQ_HDR; i < len; i++)
		if (buf[i] != (uint8_t)(seq * 131 + i * 7))
			return 4;
	return 0;
}

/* How many messages an ordering test sends (XOS_TEST_MSGS overrides, for slow builds). */
static inline uint64_t t_msgs(uint64_t dflt)
{
	const char *v = getenv("XOS_TEST_MSGS");

	return v && *v ? strtoull(v, NULL, 0) : dflt;
}

#endif
