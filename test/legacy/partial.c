/* SPDX-License-Identifier: MIT */
/* Partial reads and big writes: a child writes messages of many sizes
 * (up to 3 MiB in one write) into a pipe and a socketpair; the parent reads
 * with small and odd-sized buffers and checks every byte and the total. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned char pattern(uint64_t i)
{
	return (unsigned char)(i * 2654435761u >> 13);
}

static int run(int rfd, int wfd, const char *name)
{
	static const size_t sizes[] = { 1, 7, 4096, 4097, 65536, 100000, 3 << 20, 13 };
	uint64_t total = 0, expect = 0, bad = 0;
	size_t bufsz = 1;
	pid_t pid;
	int st;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		expect += sizes[i];
	pid = fork();
	if (pid == 0) {
		uint64_t pos = 0;

		close(rfd);
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			unsigned char *b = malloc(sizes[i]);
			size_t off = 0;

			for (size_t j = 0; j < sizes[i]; j++)
				b[j] = pattern(pos + j);
			while (off < sizes[i]) {
				ssize_t n = write(wfd, b + off, sizes[i] - off);

				if (n <= 0)
					_exit(3);
				off += (size_t)n;
			}
			pos += sizes[i];
			free(b);
		}
		_exit(0);
	}
	close(wfd);
	for (;;) {
		unsigned char buf[70000];
		ssize_t n = read(rfd, buf, bufsz);

		if (n < 0)
			return 1;
		if (n == 0)
			break;
		for (ssize_t j = 0; j < n; j++)
			bad += buf[j] != pattern(total + (uint64_t)j);
		total += (uint64_t)n;
		bufsz = bufsz * 3 + 1;
		if (bufsz > sizeof(buf))
			bufsz = 5;
	}
	close(rfd);
	waitpid(pid, &st, 0);
	printf("%s: %llu of %llu bytes, %llu wrong, writer exit %d\n", name, (unsigned long long)total,
	       (unsigned long long)expect, (unsigned long long)bad, WEXITSTATUS(st));
	return total != expect || bad;
}

int main(void)
{
	int p[2], s[2], rc = 0;

	if (pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, s))
		return 2;
	rc |= run(p[0], p[1], "pipe");
	rc |= run(s[0], s[1], "socketpair");
	return rc;
}
