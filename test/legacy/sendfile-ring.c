/* SPDX-License-Identifier: MIT */
/* Description: a server's way of sending a file: a header with write(), the
 * file's body with sendfile (here sendfile64, as in every program built
 * with 64-bit file offsets: nginx), a trailer with writev, over a
 * socketpair, a loopback TCP connection and a pipe to a forked reader.
 * Every byte must arrive once and in order, with the file offset moved as
 * the kernel moves it (an offset pointer leaves it alone, none advances
 * it).  Under --policy=perf the channels are on rings; sendfile must not
 * bypass them. */
#define _FILE_OFFSET_BITS 64
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define FILE_BYTES (300000u + 17u)
#define HEAD "HEADER: a file follows\n"
#define TAIL "TRAILER\n"

static unsigned char pattern(uint64_t i)
{
	return (unsigned char)(i * 2654435761u >> 13);
}

/* The sending side: header, file in two sendfile calls, trailer. */
static int send_side(int out, int file)
{
	off_t off = 1000;
	struct iovec iov[2] = { { TAIL, 4 }, { TAIL + 4, sizeof(TAIL) - 5 } };
	size_t left;
	ssize_t n;

	if (write(out, HEAD, sizeof(HEAD) - 1) != sizeof(HEAD) - 1)
		return 1;
	/* The first 1000 bytes from the file offset, which must advance. */
	if (lseek(file, 0, SEEK_SET) != 0 || sendfile(out, file, NULL, 1000) != 1000 || lseek(file, 0, SEEK_CUR) != 1000)
		return 2;
	/* The rest through an offset pointer: the file offset stays. */
	for (left = FILE_BYTES - 1000; left; left -= (size_t)n) {
		n = sendfile(out, file, &off, left);
		if (n <= 0)
			return 3;
	}
	if (off != FILE_BYTES || lseek(file, 0, SEEK_CUR) != 1000)
		return 4;
	/* Past the end of the file: 0, as the kernel says. */
	if (sendfile(out, file, &off, 10) != 0)
		return 5;
	return writev(out, iov, 2) == sizeof(TAIL) - 1 ? 0 : 6;
}

/* The receiving side: everything until EOF, checked. */
static void receive_side(const char *name, int in)
{
	static unsigned char buf[FILE_BYTES + 100];
	size_t got = 0, bad = 0;
	ssize_t n;

	while (got < sizeof(buf) && (n = read(in, buf + got, sizeof(buf) - got)) > 0)
		got += (size_t)n;
	if (got != sizeof(HEAD) - 1 + FILE_BYTES + sizeof(TAIL) - 1 || memcmp(buf, HEAD, sizeof(HEAD) - 1) ||
	    memcmp(buf + got - (sizeof(TAIL) - 1), TAIL, sizeof(TAIL) - 1))
		bad++;
	for (size_t i = 0; i < FILE_BYTES && sizeof(HEAD) - 1 + i < got; i++)
		bad += buf[sizeof(HEAD) - 1 + i] != pattern(i);
	printf("%s: %zu bytes, %zu wrong\n", name, got, bad);
}

static void run(const char *name, int mine, int theirs, int file)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		close(mine);
		_exit(send_side(theirs, file));
	}
	close(theirs);
	receive_side(name, mine);
	close(mine);
	waitpid(pid, &st, 0);
	printf("%s: sender exit %d\n", name, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

int main(void)
{
	char path[] = "/tmp/xos-sendfile-XXXXXX";
	static unsigned char data[FILE_BYTES];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int file = mkstemp(path), sv[2], p[2], l, c, st;
	pid_t pid;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (file < 0)
		return 99;
	unlink(path);
	for (size_t i = 0; i < FILE_BYTES; i++)
		data[i] = pattern(i);
	if (write(file, data, FILE_BYTES) != FILE_BYTES)
		return 99;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 99;
	run("socketpair", sv[0], sv[1], file);

	/* Blocking connect and accept: the pair the shim puts on a ring. */
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &alen))
		return 99;
	pid = fork();
	if (pid == 0) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		close(l);
		char go;

		if (connect(s, (struct sockaddr *)&a, sizeof(a)))
			_exit(98);
		/* Sent once the server accepted: the file goes to a server
		 * that is there, not to the kernel's queue of a late accept. */
		if (read(s, &go, 1) != 1)
			_exit(97);
		_exit(send_side(s, file));
	}
	c = accept(l, NULL, NULL);
	close(l);
	if (write(c, "g", 1) != 1)
		return 99;
	receive_side("tcp", c);
	close(c);
	waitpid(pid, &st, 0);
	printf("tcp: sender exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));

	if (pipe(p))
		return 99;
	run("pipe", p[0], p[1], file);
	return 0;
}
