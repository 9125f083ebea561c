/* SPDX-License-Identifier: MIT */
/* A plain legacy program: threads and signals around readiness.  Four
 * threads share one epoll set of socketpairs registered EPOLLONESHOT and
 * re-armed by EPOLL_CTL_MOD after each message (a thread-pool server); a
 * child process writes the messages.  Then registrations made while
 * another thread sleeps on the set (an acceptor handing connections to an
 * event loop): a ready fd added, one that turns ready after, a one-shot
 * re-armed with bytes waiting; each must wake the sleeper.  Then the
 * self-pipe trick: a SIGALRM handler writes a byte to a non-blocking pipe
 * that the main loop waits on with poll.  Prints the counts.  Deterministic
 * output. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define NSOCK 4
#define NMSG 500
#define MSG 16

static int ep, sv[NSOCK][2], selfpipe[2];
static atomic_int got, bad;
static atomic_uint_fast64_t sum;

static void *worker(void *arg)
{
	(void)arg;
	while (atomic_load(&got) < NSOCK * NMSG) {
		struct epoll_event ev;
		char m[MSG];
		int n = epoll_wait(ep, &ev, 1, 100), i;

		if (n <= 0)
			continue;
		i = (int)ev.data.u32;
		/* One message per event: the rest waits for the re-arm. */
		if (recv(sv[i][0], m, MSG, MSG_WAITALL) != MSG) {
			atomic_fetch_add(&bad, 1);
		} else {
			unsigned v;

			sscanf(m, "%u", &v);
			atomic_fetch_add(&sum, v);
			atomic_fetch_add(&got, 1);
		}
		ev.events = EPOLLIN | EPOLLONESHOT;
		epoll_ctl(ep, EPOLL_CTL_MOD, sv[i][0], &ev);
	}
	return NULL;
}

/* What the other thread does while the main one sleeps on the set. */
struct late {
	int ep;
	int fd, peer;        /* the fd registered, the end written */
	uint32_t events;
	int op;              /* EPOLL_CTL_ADD or EPOLL_CTL_MOD */
	bool write_first;    /* the byte before the registration, else after */
};

static void *late_ctl(void *arg)
{
	struct late *l = arg;
	struct epoll_event ev = { .events = l->events, .data.u32 = 7 };

	usleep(50000); /* the main thread is asleep by now */
	if (l->write_first && write(l->peer, "x", 1) != 1)
		return NULL;
	epoll_ctl(l->ep, l->op, l->fd, &ev);
	if (!l->write_first) {
		usleep(20000);
		if (write(l->peer, "x", 1) != 1)
			return NULL;
	}
	return NULL;
}

/* Sleep on @l->ep (which holds a silent ring fd) while another thread
 * makes the registration; woken by it within 3 s? */
static const char *woken(struct late *l)
{
	struct epoll_event ev;
	pthread_t t;
	int n;

	pthread_create(&t, NULL, late_ctl, l);
	do
		n = epoll_wait(l->ep, &ev, 1, 3000);
	while (n < 0 && errno == EINTR);
	pthread_join(t, NULL);
	return n == 1 && ev.data.u32 == 7 && (ev.events & EPOLLIN) ? "yes" : "no";
}

static void late_registrations(void)
{
	int quiet[2], a[2], b[2], c[2], d[2], set = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 1 };
	char buf[8];

	if (set < 0 || pipe(quiet) || socketpair(AF_UNIX, SOCK_STREAM, 0, a) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, b) || pipe(c) || socketpair(AF_UNIX, SOCK_STREAM, 0, d))
		return;
	epoll_ctl(set, EPOLL_CTL_ADD, quiet[0], &ev);
	printf("late: a ready socket added: %s\n",
	       woken(&(struct late){ set, a[0], a[1], EPOLLIN, EPOLL_CTL_ADD, true }));
	epoll_ctl(set, EPOLL_CTL_DEL, a[0], NULL);
	printf("late: a socket added, ready after: %s\n",
	       woken(&(struct late){ set, b[0], b[1], EPOLLIN, EPOLL_CTL_ADD, false }));
	epoll_ctl(set, EPOLL_CTL_DEL, b[0], NULL);
	printf("late: a ready pipe added: %s\n", woken(&(struct late){ set, c[0], c[1], EPOLLIN, EPOLL_CTL_ADD, true }));
	epoll_ctl(set, EPOLL_CTL_DEL, c[0], NULL);
	/* A one-shot reported once (off), a byte while off, re-armed. */
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLONESHOT, .data.u32 = 7 };
	epoll_ctl(set, EPOLL_CTL_ADD, d[0], &ev);
	if (write(d[1], "y", 1) != 1 || epoll_wait(set, &ev, 1, 3000) != 1 || read(d[0], buf, 1) != 1)
		printf("late: one-shot: first event missing\n");
	printf("late: a one-shot re-armed with a byte waiting: %s\n",
	       woken(&(struct late){ set, d[0], d[1], EPOLLIN | EPOLLONESHOT, EPOLL_CTL_MOD, true }));
	close(set);
	for (int i = 0; i < 2; i++) {
		close(quiet[i]);
		close(a[i]);
		close(b[i]);
		close(c[i]);
		close(d[i]);
	}
}

static void on_alarm(int sig)
{
	int saved = errno;

	(void)sig;
	write(selfpipe[1], "a", 1);
	errno = saved;
}

int main(void)
{
	pthread_t t[4];
	pid_t pid;
	int st, alarms = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ep = epoll_create1(0);
	for (int i = 0; i < NSOCK; i++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u32 = (uint32_t)i };

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]))
			return 2;
		epoll_ctl(ep, EPOLL_CTL_ADD, sv[i][0], &ev);
	}
	pid = fork();
	if (pid == 0) {
		for (int k = 0; k < NMSG; k++) {
			for (int i = 0; i < NSOCK; i++) {
				char m[MSG];

				snprintf(m, sizeof(m), "%015u", (unsigned)(k * NSOCK + i));
				if (write(sv[i][1], m, MSG) != MSG)
					_exit(3);
			}
			if (k % 50 == 0)
				usleep(1000);
		}
		_exit(0);
	}
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	waitpid(pid, &st, 0);
	printf("thread pool: %d messages, sum %llu, %d bad, writer exit %d\n", atomic_load(&got),
	       (unsigned long long)atomic_load(&sum), atomic_load(&bad), WEXITSTATUS(st));
	late_registrations();

	if (pipe2(selfpipe, O_NONBLOCK))
		return 2;
	{
		struct sigaction sa;
		struct itimerval it = { { 0, 5000 }, { 0, 5000 } };

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
		while (alarms < 40) {
			struct pollfd p = { .fd = selfpipe[0], .events = POLLIN };
			char b[64];
			ssize_t n;

			if (poll(&p, 1, 2000) == 0)
				break;
			while ((n = read(selfpipe[0], b, sizeof(b))) > 0)
				alarms += (int)n;
		}
		memset(&it, 0, sizeof(it));
		setitimer(ITIMER_REAL, &it, NULL);
	}
	printf("self-pipe: at least 40 alarms seen: %s\n", alarms >= 40 ? "yes" : "no");
	return 0;
}
