/* SPDX-License-Identifier: MIT */
/* A blocking read interrupted by a signal: with SA_RESTART it goes on and
 * returns the data that comes later; without, it fails with EINTR.  The
 * same for a blocking write into a full pipe. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t hits;

static void on_alarm(int sig)
{
	(void)sig;
	hits++;
}

static void handler(int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = flags;
	sigaction(SIGALRM, &sa, NULL);
}

static void case_read(int flags, const char *name)
{
	int p[2], st;
	char c = 0;
	ssize_t n;
	pid_t pid;

	pipe(p);
	handler(flags);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		usleep(300000);
		write(p[1], "x", 1);
		_exit(0);
	}
	close(p[1]);
	hits = 0;
	ualarm(100000, 0);
	errno = 0;
	n = read(p[0], &c, 1);
	printf("%s read: n=%zd errno=%s hits=%d c=%c\n", name, n, n < 0 ? strerror(errno) : "-", (int)hits,
	       n == 1 ? c : '-');
	if (n < 0)
		n = read(p[0], &c, 1);
	printf("%s read again: n=%zd c=%c\n", name, n, n == 1 ? c : '-');
	close(p[0]);
	waitpid(pid, &st, 0);
}

static void case_write(int flags, const char *name)
{
	static char big[1 << 20];
	int p[2], go[2], st;
	ssize_t n, total = 0;
	pid_t pid;
	char c = 0;

	pipe(p);
	pipe(go);
	handler(flags);
	pid = fork();
	if (pid == 0) {
		char buf[65536];

		close(p[1]);
		close(go[1]);
		/* Drain only once the first write has returned: on a loaded
		 * machine a timed start raced the alarm and let it complete. */
		read(go[0], &c, 1);
		while (read(p[0], buf, sizeof(buf)) > 0)
			;
		_exit(0);
	}
	close(p[0]);
	close(go[0]);
	hits = 0;
	ualarm(100000, 0);
	errno = 0;
	n = write(p[1], big, sizeof(big));
	/* A pipe may take part of it before the signal: report only whether
	 * the call completed, was cut short, or failed. */
	printf("%s write: %s hits=%d\n", name,
	       n == (ssize_t)sizeof(big) ? "complete" : n < 0 ? (errno == EINTR ? "EINTR" : "error") : "partial",
	       (int)hits);
	if (n > 0)
		total = n;
	write(go[1], &c, 1);
	close(go[1]);
	while (total < (ssize_t)sizeof(big) && (n = write(p[1], big + total, sizeof(big) - (size_t)total)) != 0) {
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0)
			total += n;
	}
	printf("%s wrote all: %s\n", name, total == (ssize_t)sizeof(big) ? "yes" : "no");
	close(p[1]);
	waitpid(pid, &st, 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	case_read(SA_RESTART, "restart");
	case_read(0, "norestart");
	case_write(SA_RESTART, "restart");
	return 0;
}
