/* SPDX-License-Identifier: MIT */
/* errno is untouched by interposed calls that succeed, and set exactly as
 * libc sets it by those that fail. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void *nothing(void *a)
{
	return a;
}

#define KEEP(call)                                                                   \
	do {                                                                         \
		errno = 4242;                                                        \
		(void)(call);                                                        \
		printf("%-40s errno %s\n", #call, errno == 4242 ? "kept" : strerror(errno)); \
	} while (0)

int main(void)
{
	int p[2], s[2], st;
	char c;
	pthread_t t;
	pid_t pid;

	KEEP(pipe(p));
	KEEP(socketpair(AF_UNIX, SOCK_STREAM, 0, s));
	KEEP(write(p[1], "x", 1));
	KEEP(read(p[0], &c, 1));
	KEEP(send(s[0], "y", 1, 0));
	KEEP(recv(s[1], &c, 1, 0));
	KEEP(dup2(p[0], 20));
	KEEP(close(20));
	KEEP(fcntl(p[0], F_GETFL));
	KEEP(pthread_create(&t, NULL, nothing, NULL));
	KEEP(pthread_join(t, NULL));
	pid = fork();
	if (pid == 0)
		_exit(0);
	KEEP(waitpid(pid, &st, 0));
	KEEP(close(p[0]));
	KEEP(close(p[1]));
	KEEP(close(s[0]));
	KEEP(close(s[1]));
	errno = 0;
	printf("close(-1): %d %s\n", close(-1), strerror(errno));
	errno = 0;
	printf("read(-1): %zd %s\n", read(-1, &c, 1), strerror(errno));
	errno = 0;
	printf("dup2(-1, 5): %d %s\n", dup2(-1, 5), strerror(errno));
	errno = 0;
	printf("pipe2(bad flags): %d %s\n", pipe2(p, 0x7fffffff), strerror(errno));
	return 0;
}
