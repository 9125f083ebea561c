/* SPDX-License-Identifier: MIT */
/* fork while other threads allocate and print: the child must be able to
 * malloc, use stdio and exit (no lock of the shim held across fork). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_int stop;

static void *churn(void *arg)
{
	int p[2];

	(void)arg;
	while (!atomic_load(&stop)) {
		void *x = malloc(1000);

		memset(x, 1, 1000);
		free(x);
		if (pipe(p) == 0) {
			close(p[0]);
			close(p[1]);
		}
	}
	return NULL;
}

int main(void)
{
	pthread_t t[3];
	int ok = 0;

	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, churn, NULL);
	for (int i = 0; i < 200; i++) {
		pid_t pid = fork();
		int st;

		if (pid == 0) {
			char *s = malloc(64);

			snprintf(s, 64, "%d", i);
			free(s);
			exit(i % 7);
		}
		if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == i % 7)
			ok++;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	printf("forks ok: %d\n", ok);
	return ok == 200 ? 0 : 1;
}
