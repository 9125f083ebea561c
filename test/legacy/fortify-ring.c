/* SPDX-License-Identifier: MIT */
/* Description: built with -O2 -D_FORTIFY_SOURCE=2, as Debian builds its
 * programs, so that reads into buffers of known size call __read_chk,
 * __recv_chk and __recvfrom_chk, and poll on an array calls __poll_chk
 * and ppoll __ppoll_chk (glibc's versions call its internal read and poll,
 * which an interposer of read or poll never sees).  A child sends lines
 * over one socketpair, read back with each of them; over a second one, it
 * answers after a pause that the parent waits out in poll, then ppoll.
 * Under --policy=perf both socketpairs are on rings: the reads must come
 * from the ring, the polls must see the ring's bytes. */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE "fortified line\n"

/* Lengths the compiler cannot see: so every call is a checked one. */
static volatile size_t line_len = sizeof(LINE) - 1;
static volatile nfds_t one = 1;

int main(void)
{
	int s[2], t[2], st, n_ok = 0;
	char buf[64];
	struct pollfd p[1];
	struct timespec ts = { 5, 0 };
	pid_t pid;

	setvbuf(stdout, NULL, _IONBF, 0);
	alarm(10);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) || socketpair(AF_UNIX, SOCK_STREAM, 0, t))
		return 99;
	pid = fork();
	if (pid == 0) {
		close(s[0]);
		close(t[0]);
		for (int i = 0; i < 3; i++)
			if (write(s[1], LINE, sizeof(LINE) - 1) != sizeof(LINE) - 1)
				_exit(1);
		for (int i = 0; i < 2; i++) {
			if (read(t[1], buf, 1) != 1)
				_exit(2);
			usleep(100000);
			if (write(t[1], "!", 1) != 1)
				_exit(3);
		}
		_exit(0);
	}
	close(s[1]);
	close(t[1]);
	/* Exactly one line each: the whole stream is 3 lines, each read waits
	 * for its own (MSG_WAITALL for recv, a loop for read). */
	for (size_t got = 0; got < sizeof(LINE) - 1;) {
		ssize_t n = read(s[0], buf + got, line_len - got);

		if (n <= 0)
			break;
		got += (size_t)n;
		n_ok += got == sizeof(LINE) - 1 && !memcmp(buf, LINE, sizeof(LINE) - 1);
	}
	if (recv(s[0], buf, line_len, MSG_WAITALL) == sizeof(LINE) - 1 && !memcmp(buf, LINE, sizeof(LINE) - 1))
		n_ok++;
	if (recvfrom(s[0], buf, line_len, MSG_WAITALL, NULL, NULL) == sizeof(LINE) - 1 &&
	    !memcmp(buf, LINE, sizeof(LINE) - 1))
		n_ok++;
	printf("read, recv, recvfrom: %d of 3 lines\n", n_ok);

	p[0].fd = t[0];
	p[0].events = POLLIN;
	if (write(t[0], "?", 1) != 1)
		return 99;
	printf("poll: %d", poll(p, one, 5000));
	printf(", revents POLLIN %d, %s\n", !!(p[0].revents & POLLIN), read(t[0], buf, one) == 1 && buf[0] == '!' ? "answer read" : "no answer");
	if (write(t[0], "?", 1) != 1)
		return 99;
	printf("ppoll: %d", ppoll(p, one, &ts, NULL));
	printf(", revents POLLIN %d, %s\n", !!(p[0].revents & POLLIN), read(t[0], buf, one) == 1 && buf[0] == '!' ? "answer read" : "no answer");
	waitpid(pid, &st, 0);
	printf("child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}
