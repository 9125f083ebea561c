/* SPDX-License-Identifier: MIT */
/* Threads that return, call pthread_exit, and create threads themselves;
 * the main thread joins them and prints what each gave back. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

static void *leaf(void *arg)
{
	return (void *)((intptr_t)arg * 3);
}

static void *worker(void *arg)
{
	intptr_t n = (intptr_t)arg;
	pthread_t t;
	void *r;

	if (pthread_create(&t, NULL, leaf, (void *)n) || pthread_join(t, &r))
		return (void *)-1;
	if (n % 2)
		pthread_exit((void *)((intptr_t)r + 1000));
	return (void *)((intptr_t)r + 2000);
}

int main(void)
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
	return 0;
}
