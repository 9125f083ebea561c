/* SPDX-License-Identifier: MIT */
/*
 * Attack: with sandbox.allow=socket:connect (meant for the sandbox's own
 * loopback), connect to a host AF_UNIX socket found on the read-only view
 * (a socket file ignores read-only mounts, and path lookup ignores network
 * namespaces).  The host listens on a socket in a fresh directory under
 * /var/tmp.  Stopped: socket(AF_UNIX) fails with EAFNOSUPPORT (or the EF
 * is killed), and the listener never sees a connection.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "limits-attack.h"

static int dial(void *arg)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0)
		return errno == EAFNOSUPPORT ? 10 : 11;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", (const char *)arg);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return 12;
	return write(fd, "pwned", 5) == 5 ? 0 : 13;
}

int main(void)
{
	char dir[] = "/var/tmp/xos-unix.XXXXXX", path[96];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct pollfd pfd;
	struct xos_ef_exit ex;
	int lfd, got;

	la_require_sandbox();
	if (!mkdtemp(dir))
		return perror("mkdtemp"), 1;
	snprintf(path, sizeof(path), "%s/host.sock", dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(lfd, 4) < 0)
		return perror("host listener"), 1;
	ex = la_run("sandbox.allow=socket:connect", dial, path, strlen(path) + 1);
	pfd = (struct pollfd){ .fd = lfd, .events = POLLIN };
	got = poll(&pfd, 1, 0);
	close(lfd);
	unlink(path);
	rmdir(dir);
	if (got > 0 || (ex.how == XOS_EF_EXITED && ex.status == 0)) {
		printf("FAIL: the sandboxed EF connected to a host AF_UNIX socket (EF %s)\n", la_how(ex));
		return 1;
	}
	if (ex.how == XOS_EF_EXITED && ex.status != 10) {
		printf("FAIL: EF %s, want socket(AF_UNIX) to fail with EAFNOSUPPORT (10)\n", la_how(ex));
		return 1;
	}
	printf("ok: no connection to the host socket (EF %s)\n", la_how(ex));
	return 0;
}
