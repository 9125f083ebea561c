/* SPDX-License-Identifier: MIT */
/* Half closes on stream sockets (a socketpair and a loopback TCP
 * connection): after shutdown(SHUT_WR) the peer reads the bytes written
 * before it, then end of file (blocking, MSG_DONTWAIT, and a reader
 * already asleep is woken), while the other direction still works; a
 * write after one's own SHUT_WR fails with EPIPE and SIGPIPE (none with
 * MSG_NOSIGNAL); after SHUT_RD reads see end of file, and the peer's
 * writes fail on AF_UNIX but not on TCP; SHUT_RDWR does both. */
#include <pthread.h>
#include <signal.h>

#include "sock-pairs.h"

static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

static void show(const char *what, ssize_t n, const char *buf)
{
	if (n < 0)
		printf("  %s: -1 %s\n", what, strerror(errno));
	else
		printf("  %s: %zd \"%.*s\"\n", what, n, (int)n, buf);
}

static void *sleepy_reader(void *arg)
{
	static char buf[16];
	static ssize_t n;

	n = read(*(int *)arg, buf, sizeof(buf));
	return &n;
}

static void run(const char *kind)
{
	char buf[64];
	int sv[2], a, b;
	pthread_t t;
	void *res;

	printf("%s:\n", kind);
	t_pair(kind, sv);
	a = sv[0];
	b = sv[1];
	show("write a", write(a, "hello", 5), "hello");
	show("shutdown a SHUT_WR", shutdown(a, SHUT_WR), "");
	show("read b", read(b, buf, sizeof(buf)), buf);
	show("read b at eof", read(b, buf, sizeof(buf)), buf);
	show("recv b MSG_DONTWAIT at eof", recv(b, buf, sizeof(buf), MSG_DONTWAIT), buf);
	show("write b (other way)", write(b, "reply", 5), "reply");
	show("read a", read(a, buf, sizeof(buf)), buf);
	show("write a after SHUT_WR", write(a, "x", 1), "x");
	printf("  SIGPIPE: %d\n", (int)sigpipes);
	show("send a MSG_NOSIGNAL", send(a, "x", 1, MSG_NOSIGNAL), "x");
	printf("  SIGPIPE: %d\n", (int)sigpipes);
	show("recv a MSG_DONTWAIT (nothing yet)", recv(a, buf, sizeof(buf), MSG_DONTWAIT), buf);
	show("shutdown a SHUT_RD", shutdown(a, SHUT_RD), "");
	show("read a after SHUT_RD", read(a, buf, sizeof(buf)), buf);
	if (!strcmp(kind, "unix")) {
		show("write b after peer SHUT_RD", write(b, "more", 4), "more");
		printf("  SIGPIPE: %d\n", (int)sigpipes);
	}
	close(a);
	close(b);

	/* A reader asleep when the peer shuts writing wakes with end of file. */
	t_pair(kind, sv);
	pthread_create(&t, NULL, sleepy_reader, &sv[1]);
	usleep(50000);
	show("shutdown a SHUT_RDWR", shutdown(sv[0], SHUT_RDWR), "");
	pthread_join(t, &res);
	printf("  sleeping reader woke with %zd\n", *(ssize_t *)res);
	show("read a after SHUT_RDWR", read(sv[0], buf, sizeof(buf)), buf);
	show("write b to a SHUT_RDWR peer", send(sv[1], "y", 1, MSG_NOSIGNAL), "y");
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	signal(SIGPIPE, on_sigpipe);
	setvbuf(stdout, NULL, _IONBF, 0);
	run("unix");
	run("tcp");
	return 0;
}
