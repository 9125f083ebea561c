/* SPDX-License-Identifier: MIT */
/* Uses the ring does not emulate, in the middle of a stream: the reader
 * polls, hands the pipe to an exec'd program (cksum) as its stdin, and
 * reads through stdio.  Under --policy=perf each one moves the channel
 * back to the kernel while bytes are in flight; not one may be lost,
 * duplicated or reordered. */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOTAL (2u << 20)

static unsigned char pattern(uint64_t i)
{
	return (unsigned char)(i * 2654435761u >> 11);
}

static pid_t writer(int wfd, int rfd)
{
	pid_t pid = fork();

	if (pid == 0) {
		static unsigned char b[TOTAL];

		close(rfd);
		for (uint64_t i = 0; i < TOTAL; i++)
			b[i] = pattern(i);
		for (uint64_t off = 0; off < TOTAL;) {
			size_t chunk = off % 3 ? 1000 : 40000;
			ssize_t n = write(wfd, b + off, chunk < TOTAL - off ? chunk : TOTAL - off);

			if (n <= 0)
				_exit(3);
			off += (uint64_t)n;
		}
		_exit(0);
	}
	close(wfd);
	return pid;
}

/* Read up to @want bytes, checking them; returns bytes read. */
static uint64_t check(int fd, uint64_t *pos, uint64_t want, uint64_t *bad)
{
	unsigned char buf[8192];
	uint64_t got = 0;

	while (got < want) {
		ssize_t n = read(fd, buf, want - got < sizeof(buf) ? want - got : sizeof(buf));

		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			*bad += buf[i] != pattern(*pos + (uint64_t)i);
		*pos += (uint64_t)n;
		got += (uint64_t)n;
	}
	return got;
}

static void poll_case(int rfd, int wfd, const char *name)
{
	uint64_t pos = 0, bad = 0;
	struct pollfd p = { .fd = rfd, .events = POLLIN };
	pid_t pid = writer(wfd, rfd);
	int st;

	usleep(50000); /* let the writer run ahead */
	check(rfd, &pos, 1000, &bad);
	while (pos < TOTAL) {
		if (poll(&p, 1, 5000) != 1)
			break;
		if (check(rfd, &pos, 5000, &bad) == 0)
			break;
	}
	waitpid(pid, &st, 0);
	printf("%s with poll: %llu bytes, %llu wrong\n", name, (unsigned long long)pos, (unsigned long long)bad);
	close(rfd);
}

int main(void)
{
	int p[2], s[2], st;
	uint64_t pos = 0, bad = 0;
	pid_t w, c;
	FILE *f;

	setvbuf(stdout, NULL, _IONBF, 0);
	pipe(p);
	poll_case(p[0], p[1], "pipe");
	socketpair(AF_UNIX, SOCK_STREAM, 0, s);
	poll_case(s[0], s[1], "socketpair");

	/* exec: the rest of the stream goes to cksum as its stdin. */
	pipe(p);
	w = writer(p[1], p[0]);
	usleep(50000);
	check(p[0], &pos, 1000, &bad);
	printf("exec: read %llu bytes first, %llu wrong; cksum of the rest: ", (unsigned long long)pos,
	       (unsigned long long)bad);
	c = fork();
	if (c == 0) {
		dup2(p[0], 0);
		close(p[0]);
		execl("/usr/bin/cksum", "cksum", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	waitpid(c, &st, 0);
	waitpid(w, &st, 0);

	/* stdio: fdopen the read end halfway through. */
	pipe(p);
	pos = bad = 0;
	w = writer(p[1], p[0]);
	usleep(50000);
	check(p[0], &pos, 3000, &bad);
	f = fdopen(p[0], "r");
	for (int ch; (ch = fgetc(f)) != EOF; pos++)
		bad += (unsigned char)ch != pattern(pos);
	fclose(f);
	waitpid(w, &st, 0);
	printf("stdio: %llu bytes, %llu wrong\n", (unsigned long long)pos, (unsigned long long)bad);
	return 0;
}
