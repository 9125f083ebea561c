/* SPDX-License-Identifier: MIT */
/*
 * Description: a sandboxed EF still talks.  Over descriptors it is given
 * by its creator (sandbox.fds: a pair of pipes; a unix socket pair with
 * sendmsg/recvmsg), it answers a thousand requests in order, then sees
 * EOF when the creator closes its end.  The same echo EF runs in a
 * process for comparison.
 */
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sandbox-helpers.h"

#define ROUNDS 1000

struct fds {
	int in, out;     /* the EF's ends */
	int peer_in, peer_out; /* the creator's ends, closed by the EF */
	int datagram;    /* use sendmsg/recvmsg */
};

static ssize_t get(const struct fds *f, uint32_t *v)
{
	struct iovec iov = { .iov_base = v, .iov_len = sizeof(*v) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	return f->datagram ? recvmsg(f->in, &mh, 0) : read(f->in, v, sizeof(*v));
}

static ssize_t put(const struct fds *f, uint32_t v)
{
	struct iovec iov = { .iov_base = &v, .iov_len = sizeof(v) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	return f->datagram ? sendmsg(f->out, &mh, MSG_NOSIGNAL) : write(f->out, &v, sizeof(v));
}

/* Answer v with 3v+1 until EOF; return how many were answered. */
static int echo(void *arg)
{
	const struct fds *f = arg;
	uint32_t v;
	int n = 0;

	if (f->peer_in != f->out)
		close(f->peer_in);
	if (f->peer_out != f->in)
		close(f->peer_out);
	while (get(f, &v) == sizeof(v)) {
		if (put(f, 3 * v + 1) != sizeof(v))
			return -1;
		n++;
	}
	return n;
}

static void converse(const char *icf, int datagram)
{
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	struct fds f = { .datagram = datagram };
	int to_ef[2], from_ef[2];
	char options[64];

	if (datagram) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, to_ef), 0);
		/* one socket pair carries both directions */
		from_ef[0] = to_ef[0];
		from_ef[1] = to_ef[1];
		f.in = to_ef[1];
		f.out = to_ef[1];
		f.peer_in = to_ef[0];
		f.peer_out = to_ef[0];
	} else {
		assert_int_equal(pipe(to_ef), 0);
		assert_int_equal(pipe(from_ef), 0);
		f.in = to_ef[0];
		f.out = from_ef[1];
		f.peer_in = to_ef[1];
		f.peer_out = from_ef[0];
	}
	xos_ef_attr_init(&attr);
	attr.icf = icf;
	/* A sandbox keeps only the descriptors it is given by name (a process, all). */
	snprintf(options, sizeof(options), "sandbox.fds=%d:%d", f.in, f.out);
	attr.options = options;
	assert_int_equal(xos_ef_create(&ef, &attr, echo, &f, sizeof(f)), 0);
	if (datagram) {
		close(to_ef[1]);
	} else {
		close(to_ef[0]);
		close(from_ef[1]);
	}
	for (uint32_t i = 0; i < ROUNDS; i++) {
		struct fds mine = { .in = f.peer_out, .out = f.peer_in, .datagram = datagram };
		uint32_t v = 0;

		assert_int_equal(put(&mine, i), sizeof(i));
		assert_int_equal(get(&mine, &v), sizeof(v));
		assert_int_equal(v, 3 * i + 1);
	}
	if (datagram) {
		shutdown(to_ef[0], SHUT_WR);
	} else {
		close(to_ef[1]);
	}
	assert_int_equal(xos_ef_join(ef, &ex), 0);
	t_assert_exit(ex, XOS_EF_EXITED, ROUNDS);
	close(f.peer_out);
}

static void test_pipes(void **state)
{
	(void)state;
	converse("process", 0);
	converse("sandbox", 0);
}

static void test_unix_socket_pair(void **state)
{
	(void)state;
	converse("process", 1);
	converse("sandbox", 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipes),
		cmocka_unit_test(test_unix_socket_pair),
	};

	t_sandbox_require();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
