/* SPDX-License-Identifier: MIT */
/* Threads that return, call pthread_exit, and create threads themselves;
 * the main thread joins them and prints what each gave back (and, given
 * an argument, the thread ids the kernel gave them all). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static long tids[16];

static void *leaf(void *arg)
{
	tids[8 + (intptr_t)arg] = syscall(SYS_gettid);
	return (void *)((intptr_t)arg * 3);
}

static void *worker(void *arg)
{
	intptr_t n = (intptr_t)arg;
	pthread_t t;
	void *r;

	tids[n] = syscall(SYS_gettid);
	if (pthread_create(&t, NULL, leaf, (void *)n) || pthread_join(t, &r))
		return (void *)-1;
	if (n % 2)
		pthread_exit((void *)((intptr_t)r + 1000));
	return (void *)((intptr_t)r + 2000);
}

int main(int argc, char **argv)
{
	pthread_t t[8];

	for (intptr_t i = 0; i < 8; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i))
			return 1;
	for (int i = 0; i < 8; i++) {
		void *r;

		if (pthread_join(t[i], &r))
			return 2;
		printf("thread %d -> %ld\n", i, (long)(intptr_t)r);
	}
	(void)argv;
	if (argc > 1) {
		printf("tids");
		for (int i = 0; i < 16; i++)
			printf(" %ld", tids[i]);
		printf("\n");
	}
	return 0;
}
