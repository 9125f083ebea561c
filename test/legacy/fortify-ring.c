/* SPDX-License-Identifier: MIT */
/* Description: built with -O2 -D_FORTIFY_SOURCE=2, as Debian builds its
 * programs, so that reads into buffers of known size call __read_chk,
 * __recv_chk and __recvfrom_chk (glibc's versions call its internal read,
 * which an interposer of read never sees).  A child sends lines over a
 * socketpair, read back with each of them.  Under --policy=perf the
 * socketpair is on a ring: the reads must come from it. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define LINE "fortified line\n"

/* Lengths the compiler cannot see: so every call is a checked one. */
static volatile size_t line_len = sizeof(LINE) - 1;

int main(void)
{
	int s[2], st, n_ok = 0;
	char buf[64];
	pid_t pid;

	setvbuf(stdout, NULL, _IONBF, 0);
	alarm(10);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s))
		return 99;
	pid = fork();
	if (pid == 0) {
		close(s[0]);
		for (int i = 0; i < 3; i++)
			if (write(s[1], LINE, sizeof(LINE) - 1) != sizeof(LINE) - 1)
				_exit(1);
		_exit(0);
	}
	close(s[1]);
	/* Exactly one line each: the whole stream is 3 lines, each read waits
	 * for its own (MSG_WAITALL for recv, a loop for read). */
	for (size_t got = 0; got < sizeof(LINE) - 1;) {
		char piece[sizeof(LINE)];
		ssize_t n = read(s[0], piece, line_len - got);

		if (n <= 0)
			break;
		memcpy(buf + got, piece, (size_t)n);
		got += (size_t)n;
		n_ok += got == sizeof(LINE) - 1 && !memcmp(buf, LINE, sizeof(LINE) - 1);
	}
	if (recv(s[0], buf, line_len, MSG_WAITALL) == sizeof(LINE) - 1 && !memcmp(buf, LINE, sizeof(LINE) - 1))
		n_ok++;
	if (recvfrom(s[0], buf, line_len, MSG_WAITALL, NULL, NULL) == sizeof(LINE) - 1 &&
	    !memcmp(buf, LINE, sizeof(LINE) - 1))
		n_ok++;
	printf("read, recv, recvfrom: %d of 3 lines\n", n_ok);
	waitpid(pid, &st, 0);
	printf("child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}
