/* SPDX-License-Identifier: MIT */
/* Description: stdio on a pipe dup'ed onto stdin and stdout, as a shell
 * sets up a pipeline: the writer mixes printf with write(1) (the order
 * must hold), then execs seq, whose stdio writes the rest; the reader
 * mixes read(0), fgets, getc and a large fread, then execs cksum on what
 * it has not read.  Under --policy=perf the pipe stays on its ring through
 * the dup and both execs (xos-run --stats counts its bytes), so every
 * stdio byte must reach the ring in order, none behind the shim's back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void writer(void)
{
	char line[64];

	for (int i = 0; i < 3000; i++) {
		printf("printf line %05d\n", i);
		if (i % 250 == 0) {
			fflush(stdout);
			int n = snprintf(line, sizeof(line), "write line %05d\n", i);
			write(1, line, (size_t)n);
		}
	}
	printf("end of printf, seq follows\n");
	fflush(stdout);
	/* stdout is line-buffered (set before the fork, kept across the
	 * dup2): no newline, so still in the buffer at the exec, and lost
	 * there as natively; the line before went out at its newline. */
	printf("flushed by its newline\n");
	printf("never flushed");
	execl("/usr/bin/seq", "seq", "1", "200000", (char *)NULL);
	_exit(127);
}

static void reader(void)
{
	char buf[32768], line[128];
	unsigned long sum = 0;
	size_t n, lines = 0;
	ssize_t k;

	/* The first line, byte by byte through read(2), then stdio. */
	for (char c = 0; c != '\n' && read(0, &c, 1) == 1;)
		putchar(c);
	while (lines < 3000 && fgets(line, sizeof(line), stdin)) {
		lines++;
		for (char *p = line; *p; p++)
			sum = sum * 31 + (unsigned char)*p;
	}
	for (int i = 0; i < 1000; i++) {
		int c = getc(stdin);

		if (c == EOF)
			break;
		sum = sum * 31 + (unsigned)c;
	}
	n = fread(buf, 1, sizeof(buf), stdin);
	for (size_t i = 0; i < n; i++)
		sum = sum * 31 + (unsigned char)buf[i];
	printf("reader: %zu lines, fread %zu bytes, checksum %lu\n", lines, n, sum);
	/* What stdio holds is the reader's; cksum gets what is left in the
	 * pipe, which depends on timing: count it all instead. */
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
		for (size_t i = 0; i < n; i++)
			sum = sum * 31 + (unsigned char)buf[i];
	k = read(0, buf, 1);
	printf("reader: total checksum %lu, then read() says %zd\n", sum, k);
	fflush(stdout);
	execl("/usr/bin/cksum", "cksum", (char *)NULL); /* an empty stdin by now */
	_exit(127);
}

int main(void)
{
	int p[2], st;
	pid_t w, r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (pipe(p) != 0)
		return 1;
	w = fork();
	if (w == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		writer();
	}
	r = fork();
	if (r == 0) {
		dup2(p[0], 0);
		close(p[0]);
		close(p[1]);
		reader();
	}
	close(p[0]);
	close(p[1]);
	/* The reader prints too: it ends last (it waits for EOF). */
	waitpid(r, &st, 0);
	printf("reader: exit %d\n", WEXITSTATUS(st));
	waitpid(w, &st, 0);
	printf("writer: exit %d\n", WEXITSTATUS(st));
	return 0;
}
