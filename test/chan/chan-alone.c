/* SPDX-License-Identifier: MIT */
/*
 * Description: the channel layer on its own.  Linked with libxos-chan
 * only (no runtime, no ICF: the link itself fails if the layer calls up),
 * with a stub host table, it carries messages both ways between two
 * threads on a ring and on a pipe, binding each channel through the
 * host's default binding, calling the host's init and safe point, and
 * ends with EOF and -EPIPE as the full library does.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/chan/chan_host.h"

#define ROUNDS 2000
#define STREAM_MSGS 20000

/* ---- the stub host: counts what the layer asks of it ---- */
static _Atomic unsigned int n_init, n_safe, n_bind;
static const char *bind_mech; /* what the default binding picks */
static char explained[256];

/* Registers the two mechanisms this test runs, as the runtime registers its built-ins. */
static int host_init(void)
{
	if (n_init++ == 0) {
		if (xos__mech_register(&xos__mech_ring) < 0 || xos__mech_register(&xos__mech_pipe) < 0)
			return -EIO;
	}
	return 0;
}

static void host_safe_point(void)
{
	n_safe++;
}

static const char *host_icf(void)
{
	return "stub";
}

static int host_bind_default(struct xos_chan *end)
{
	int rc = xos__chan_bind(end, bind_mech);

	n_bind += rc == 1;
	return rc < 0 ? rc : 0;
}

static void host_log(enum xos__chan_log kind, const char *fmt, va_list ap)
{
	if (kind == XOS__CHAN_LOG_EXPLAIN)
		vsnprintf(explained, sizeof(explained), fmt, ap);
}

static const struct xos__chan_host stub_host = {
	.init = host_init,
	.safe_point = host_safe_point,
	.icf_name = host_icf,
	.bind_default = host_bind_default,
	.log = host_log,
};

/* ---- the peer thread: echoes each message, then streams numbered ones ---- */
struct peer {
	struct xos_chan *end;
	int failed_line;
};

#define PEER_CHECK(p, cond)                      \
	do {                                     \
		if (!(cond)) {                   \
			(p)->failed_line = __LINE__; \
			return NULL;             \
		}                                \
	} while (0)

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	uint64_t v;

	for (int i = 0; i < ROUNDS; i++) {
		PEER_CHECK(p, xos_chan_recv(p->end, &v, sizeof(v)) == sizeof(v));
		v += 1;
		PEER_CHECK(p, xos_chan_send(p->end, &v, sizeof(v)) == sizeof(v));
	}
	for (uint64_t k = 0; k < STREAM_MSGS; k++)
		PEER_CHECK(p, xos_chan_send(p->end, &k, sizeof(k)) == sizeof(k));
	PEER_CHECK(p, xos_chan_close(p->end) == 0);
	return NULL;
}

static void run_pair(const char *mech)
{
	struct xos_chan_attr attr;
	struct xos_chan *ends[2];
	struct peer peer;
	pthread_t t;
	unsigned int safe_before = n_safe, init_before = n_init, bind_before = n_bind;
	uint64_t v;

	bind_mech = mech;
	xos_chan_attr_init(&attr);
	attr.flags = XOS_CHAN_F_BIDIR;
	attr.name = mech;
	assert_int_equal(xos_chan_open(ends, &attr), 0);
	assert_int_equal(n_init, init_before + 1);
	assert_string_equal(xos_chan_mechanism(ends[0]), ""); /* bound at first use */

	peer = (struct peer){ .end = ends[1] };
	assert_int_equal(pthread_create(&t, NULL, peer_main, &peer), 0);
	for (uint64_t i = 0; i < ROUNDS; i++) {
		v = i * 3;
		assert_int_equal(xos_chan_send(ends[0], &v, sizeof(v)), sizeof(v));
		assert_int_equal(xos_chan_recv(ends[0], &v, sizeof(v)), sizeof(v));
		assert_int_equal(v, i * 3 + 1);
	}
	assert_string_equal(xos_chan_mechanism(ends[0]), mech);
	for (uint64_t k = 0; k < STREAM_MSGS; k++) {
		assert_int_equal(xos_chan_recv(ends[0], &v, sizeof(v)), sizeof(v));
		assert_int_equal(v, k);
	}
	assert_int_equal(xos_chan_recv(ends[0], &v, sizeof(v)), 0); /* EOF after the peer's close */
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(peer.failed_line, 0);
	assert_int_equal(xos_chan_send(ends[0], &v, sizeof(v)), -EPIPE);
	assert_int_equal(xos_chan_close(ends[0]), 0);

	/* One binding, by whichever end came first; a safe point per send and receive. */
	assert_int_equal(n_bind, bind_before + 1);
	assert_true(n_safe - safe_before >= 2u * (2 * ROUNDS + STREAM_MSGS));
}

static void test_ring(void **state)
{
	(void)state;
	run_pair("ring");
}

static void test_pipe(void **state)
{
	(void)state;
	run_pair("pipe");
}

/* attr.mechanism binds at open, explained through the host's log with the host's ICF. */
static void test_forced(void **state)
{
	struct xos_chan_attr attr;
	struct xos_chan *ends[2];
	char c = 'x';

	(void)state;
	xos_chan_attr_init(&attr);
	attr.mechanism = "pipe";
	attr.name = "forced";
	assert_int_equal(xos_chan_open(ends, &attr), 0);
	assert_string_equal(xos_chan_mechanism(ends[0]), "pipe");
	assert_non_null(strstr(explained, "chan \"forced\" (stub <-> stub, at open) -> pipe"));
	assert_int_equal(xos_chan_send(ends[0], &c, 1), 1);
	c = 0;
	assert_int_equal(xos_chan_recv(ends[1], &c, 1), 1);
	assert_int_equal(c, 'x');
	assert_int_equal(xos_chan_close(ends[0]), 0);
	assert_int_equal(xos_chan_close(ends[1]), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring),
		cmocka_unit_test(test_pipe),
		cmocka_unit_test(test_forced),
	};

	xos__chan_host_set(&stub_host);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
