/* SPDX-License-Identifier: MIT */
/*
 * Description: a sandboxed EF has no network but its own loopback.  Its
 * network namespace holds only "lo", up; with sockets allowed
 * (sandbox.allow=socket:connect) a connection to a listener of the host on
 * 127.0.0.1 is refused, since that address is the sandbox's own loopback,
 * and the host's listener never sees it; without the option, socket()
 * itself kills the EF (SIGSYS).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox-helpers.h"

static int connect_to(void *arg)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = *(const in_port_t *)arg,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return 1000 + errno;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		return 0; /* reached the host: isolation broken */
	return errno;
}

static int host_listener(in_port_t *ret_port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*ret_port = sin.sin_port;
	return fd;
}

static void test_host_listener_unreachable(void **state)
{
	in_port_t port;
	int lfd = host_listener(&port);

	(void)state;
	/* The host itself can connect: the listener works. */
	assert_int_equal(connect_to(&port), 0);
	t_assert_exit(t_sandbox_run("sandbox.allow=socket:connect", connect_to, &port, sizeof(port)),
		      XOS_EF_EXITED, ECONNREFUSED);
	/* One connection came in: the host's own; none from the sandbox. */
	assert_true(accept(lfd, NULL, NULL) >= 0);
	assert_int_equal(accept(lfd, NULL, NULL), -1);
	assert_int_equal(errno, EAGAIN);
	close(lfd);
}

static void test_socket_forbidden_by_default(void **state)
{
	in_port_t port;
	int lfd = host_listener(&port);

	(void)state;
	t_assert_exit(t_sandbox_run(NULL, connect_to, &port, sizeof(port)), XOS_EF_KILLED, SIGSYS);
	close(lfd);
}

/* /proc/self/net/dev lists the interfaces of the reader's network namespace. */
static int only_loopback_up(void *arg)
{
	char buf[4096] = { 0 }, *line, *save = NULL;
	int fd = open("/proc/self/net/dev", O_RDONLY), n = 0, lo = 0;
	ssize_t len;

	(void)arg;
	if (fd < 0)
		return 1000 + errno;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return 999;
	/* Two header lines, then one line per interface. */
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strchr(line, ':') || strstr(line, "Inter-") || strstr(line, "face"))
			continue;
		n++;
		while (*line == ' ')
			line++;
		lo += strncmp(line, "lo:", 3) == 0;
	}
	return n == 1 && lo == 1 ? 0 : 100 * n + lo;
}

static void test_only_loopback(void **state)
{
	(void)state;
	t_assert_exit(t_sandbox_run(NULL, only_loopback_up, NULL, 0), XOS_EF_EXITED, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_listener_unreachable),
		cmocka_unit_test(test_socket_forbidden_by_default),
		cmocka_unit_test(test_only_loopback),
	};

	t_sandbox_require();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
