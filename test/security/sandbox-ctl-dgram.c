/* SPDX-License-Identifier: MIT */
/*
 * Attack: use a socket the EF holds without having made it (the control
 * socket of an EF with a memory domain, which its process inherits) to
 * send a datagram to a host AF_UNIX datagram socket by path, as one would
 * to /dev/log or a systemd notify socket.  A datagram socket, even one of
 * a connected pair, takes any address sendto(2) gives it; seccomp cannot
 * read that address.  The host binds a datagram socket in a fresh
 * directory under /var/tmp (on the sandbox's read-only view); the EF tries
 * sendto() to it on every socket descriptor it holds:
 *   - a domain EF in a process (its process holds the control socket);
 *   - a domain EF mutated from a thread into a process;
 *   - an EF in the sandbox that made a domain EF there (so it holds that
 *     EF's control socket; making it must work in the sandbox).
 * Stopped: the host socket receives nothing.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "priv-helpers.h"

#define FD_SCAN 1024

struct target {
	char path[96];
	pid_t creator; /* the test's pid: a mutated EF waits until it runs elsewhere */
	int host_fd;   /* the host socket itself, which a process EF inherits with the rest */
};

/* sendto() the host socket on every socket descriptor held (but the host's own). */
static void spray(const struct target *t)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", t->path);
	for (int fd = 3; fd < FD_SCAN; fd++) {
		int type;
		socklen_t len = sizeof(type);

		if (fd == t->host_fd || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
			continue;
		sendto(fd, "pwned", 5, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sun, sizeof(sun));
	}
}

static int spray_ef(void *arg)
{
	spray(arg);
	return 0;
}

/* A thread EF: safe points until a mutate moves it into a process, then spray. */
static int spray_once_moved(void *arg)
{
	const struct target *t = arg;

	for (int i = 0; i < 20000 && getpid() == t->creator; i++) {
		xos_ef_yield();
		usleep(100);
	}
	if (getpid() == t->creator)
		return 2;
	spray(t);
	return 0;
}

static int idle(void *arg)
{
	(void)arg;
	return 0;
}

/* In the sandbox: make a domain EF (its control socket is then ours too), spray, join it. */
static int sandbox_spray(void *arg)
{
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	int rc;

	xos_ef_attr_init(&attr);
	attr.icf = "thread";
	attr.flags = XOS_EF_F_DOMAIN;
	rc = xos_ef_create(&ef, &attr, idle, NULL, 0);
	if (rc < 0) {
		t_say("  in the sandbox: xos_ef_create(thread, XOS_EF_F_DOMAIN) = %s\n", strerror(-rc));
		return 3;
	}
	spray(arg);
	if (xos_ef_join(ef, &ex) < 0 || ex.how != XOS_EF_EXITED || ex.status != 0)
		return 4;
	return 0;
}

static struct xos_ef *start_domain(const char *icf, xos_ef_fn fn, const struct target *t)
{
	struct xos_ef_attr attr;
	struct xos_ef *ef;
	int rc;

	xos_ef_attr_init(&attr);
	attr.icf = icf;
	attr.flags = XOS_EF_F_DOMAIN;
	rc = xos_ef_create(&ef, &attr, fn, t, sizeof(*t));
	if (rc < 0) {
		printf("not ok: xos_ef_create(%s, XOS_EF_F_DOMAIN) = %s\n", icf, strerror(-rc));
		exit(T_FAIL);
	}
	return ef;
}

static int join_status(struct xos_ef *ef)
{
	struct xos_ef_exit ex;

	if (xos_ef_join(ef, &ex) < 0)
		return -1;
	return ex.how == XOS_EF_EXITED ? ex.status : 128 + ex.status;
}

/* Datagrams the host socket got since last asked (drained). */
static int host_received(int hfd)
{
	char buf[64];
	int n = 0;

	while (recv(hfd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		n++;
	return n;
}

static int check(const char *who, int status, int hfd)
{
	int got = host_received(hfd);

	if (got) {
		printf("FAIL: %s: the host datagram socket received %d message(s)\n", who, got);
		return 1;
	}
	if (status != 0) {
		printf("FAIL: %s: EF ended with %d\n", who, status);
		return 1;
	}
	printf("ok: %s: nothing reached the host socket\n", who);
	return 0;
}

int main(void)
{
	char dir[] = "/var/tmp/xos-dgram.XXXXXX";
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct target t = { .creator = getpid() };
	struct xos_ef *ef;
	int hfd, fails = 0, rc;

	alarm(60);
	/* Each part names its ICF: no forced ICF or policy may move the EFs. */
	unsetenv("XOS_ICF");
	unsetenv("XOS_POLICY");
	if (!mkdtemp(dir))
		return perror("mkdtemp"), T_FAIL;
	snprintf(t.path, sizeof(t.path), "%s/host.sock", dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", t.path);
	hfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (hfd < 0 || bind(hfd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return perror("host socket"), T_FAIL;
	t.host_fd = hfd;

	/* The probe: this very spray works from a socket the EF makes itself. */
	{
		int own = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		if (own < 0 || sendto(own, "x", 1, 0, (struct sockaddr *)&sun, sizeof(sun)) != 1 ||
		    host_received(hfd) != 1) {
			printf("FAIL: the host datagram socket does not receive\n");
			return T_FAIL;
		}
		close(own);
	}

	fails += check("domain EF in a process", join_status(start_domain("process", spray_ef, &t)), hfd);

	ef = start_domain("thread", spray_once_moved, &t);
	rc = xos_ef_mutate(ef, "process");
	if (rc < 0) {
		printf("FAIL: xos_ef_mutate(thread -> process) = %s\n", strerror(-rc));
		fails++;
	}
	fails += check("domain EF mutated thread -> process", join_status(ef), hfd);

	{
		struct xos_icf_info infos[16];
		int n = xos_icf_list(infos, 16);
		bool have = false;

		for (int i = 0; i < n && i < 16; i++)
			have |= strcmp(infos[i].name, "sandbox") == 0 && infos[i].available;
		if (have) {
			struct xos_ef_exit ex = t_sandbox_run(NULL, sandbox_spray, &t, sizeof(t));

			fails += check("sandboxed EF holding a domain EF's control socket",
				       ex.how == XOS_EF_EXITED ? ex.status : 128 + ex.status, hfd);
		} else {
			printf("# sandbox part skipped: sandbox ICF unavailable\n");
		}
	}

	close(hfd);
	unlink(t.path);
	rmdir(dir);
	return fails ? T_FAIL : T_PASS;
}
