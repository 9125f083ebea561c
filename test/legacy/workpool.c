/* SPDX-License-Identifier: MIT */
/* A plain legacy program: a worker pool.  The parent forks N workers,
 * hands each its tasks through its own task pipe, and multiplexes their
 * result pipes with poll (or epoll), reading results as they come (in
 * pieces, whatever the workers' pace).  Each worker answers a task with
 * SIZE bytes computed from the task.  Prints a checksum of every result
 * in task order.  Usage: workpool poll|epoll WORKERS TASKS SIZE_KIB */
#define _GNU_SOURCE
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXW 16

static uint64_t mix(uint64_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

int main(int argc, char **argv)
{
	int epoll_mode = argc > 1 && strcmp(argv[1], "epoll") == 0;
	int nw = argc > 2 ? atoi(argv[2]) : 4, tasks = argc > 3 ? atoi(argv[3]) : 64;
	size_t size = (size_t)(argc > 4 ? atol(argv[4]) : 1024) * 1024;
	int task[MAXW][2], res[MAXW][2], ep = -1, done = 0, next = 0;
	size_t got[MAXW] = { 0 };
	int cur[MAXW];
	uint64_t *sums = calloc((size_t)tasks, sizeof(uint64_t)), total = 1469598103934665603ull;
	static unsigned char buf[1 << 16];

	if (nw < 1 || nw > MAXW || tasks < 1 || !sums)
		return 2;
	for (int w = 0; w < nw; w++) {
		pid_t pid;

		if (pipe(task[w]) || pipe(res[w]))
			return 2;
		pid = fork();
		if (pid == 0) {
			static unsigned char out[1 << 16];
			int t;

			for (int k = 0; k <= w; k++) {
				close(task[k][1]);
				close(res[k][0]);
			}
			while (read(task[w][0], &t, sizeof(t)) == sizeof(t) && t >= 0) {
				for (size_t off = 0; off < size; off += sizeof(out)) {
					size_t n = size - off < sizeof(out) ? size - off : sizeof(out);

					for (size_t i = 0; i < n; i += 64)
						out[i] = (unsigned char)(t * 7 + (int)((off + i) >> 6));
					if (write(res[w][1], out, n) != (ssize_t)n)
						_exit(3);
				}
			}
			_exit(0);
		}
		close(task[w][0]);
		close(res[w][1]);
	}
	if (epoll_mode) {
		ep = epoll_create1(0);
		for (int w = 0; w < nw; w++) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)w };

			epoll_ctl(ep, EPOLL_CTL_ADD, res[w][0], &ev);
		}
	}
	for (int w = 0; w < nw; w++) {
		cur[w] = next < tasks ? next++ : -1;
		if (cur[w] >= 0)
			write(task[w][1], &cur[w], sizeof(int));
	}
	while (done < tasks) {
		int ready[MAXW], nr = 0;

		if (epoll_mode) {
			struct epoll_event ev[MAXW];
			int n = epoll_wait(ep, ev, MAXW, 10000);

			for (int i = 0; i < n; i++)
				ready[nr++] = (int)ev[i].data.u32;
			if (n <= 0)
				return 4;
		} else {
			struct pollfd pf[MAXW];

			for (int w = 0; w < nw; w++)
				pf[w] = (struct pollfd){ .fd = cur[w] >= 0 ? res[w][0] : -1, .events = POLLIN };
			if (poll(pf, (nfds_t)nw, 10000) <= 0)
				return 4;
			for (int w = 0; w < nw; w++)
				if (pf[w].revents)
					ready[nr++] = w;
		}
		for (int i = 0; i < nr; i++) {
			int w = ready[i];
			size_t want = size - got[w];
			ssize_t n = read(res[w][0], buf, want < sizeof(buf) ? want : sizeof(buf));

			if (n <= 0 || cur[w] < 0)
				return 5;
			sums[cur[w]] = mix(sums[cur[w]] ? sums[cur[w]] : 1469598103934665603ull, buf, (size_t)n);
			got[w] += (size_t)n;
			if (got[w] == size) {
				got[w] = 0;
				done++;
				cur[w] = next < tasks ? next++ : -1;
				if (cur[w] >= 0)
					write(task[w][1], &cur[w], sizeof(int));
			}
		}
	}
	for (int w = 0; w < nw; w++) {
		int stop = -1, st;

		write(task[w][1], &stop, sizeof(stop));
		close(task[w][1]);
		wait(&st);
	}
	for (int t = 0; t < tasks; t++)
		total = mix(total, (unsigned char *)&sums[t], sizeof(sums[t]));
	printf("%s pool: %d workers, %d tasks of %zu KiB: checksum %016llx\n", epoll_mode ? "epoll" : "poll", nw, tasks,
	       size / 1024, (unsigned long long)total);
	return 0;
}
