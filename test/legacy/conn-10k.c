/* SPDX-License-Identifier: MIT */
/* Many concurrent loopback TCP connections (10,000 by default, or argv[1]):
 * a forked client opens them all, one after the other, to a server in the
 * parent, which accepts each; with every connection still open, the
 * client sends a line on each and the server echoes it; then the server
 * closes its ends first and the client sees end of file on each.  Raises
 * RLIMIT_NOFILE as far as it needs.  With CONN_REPORT set, writes what the
 * two processes and the run's area (XOS_SHIM_AREA) use in memory while
 * every connection is open and idle to that file. */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "sock-pairs.h"

static long status_kib(pid_t pid, const char *key)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = atol(line + strlen(key) + 1);
	fclose(f);
	return v;
}

static void report(pid_t child, int n)
{
	const char *path = getenv("CONN_REPORT"), *area = getenv("XOS_SHIM_AREA");
	struct stat st;
	FILE *f;

	if (!path || !(f = fopen(path, "w")))
		return;
	fprintf(f, "connections=%d\n", n);
	fprintf(f, "server_rss_kib=%ld server_shmem_kib=%ld\n", status_kib(getpid(), "VmRSS:"),
		status_kib(getpid(), "RssShmem:"));
	fprintf(f, "client_rss_kib=%ld client_shmem_kib=%ld\n", status_kib(child, "VmRSS:"),
		status_kib(child, "RssShmem:"));
	if (area && stat(area, &st) == 0)
		fprintf(f, "area_size_mib=%lld area_used_kib=%lld\n", (long long)st.st_size >> 20,
			(long long)st.st_blocks / 2);
	fclose(f);
}

static int xread(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* Tell the other side we got this far, and wait for it to say so too. */
static void sync_with(int out, int in)
{
	char b = 1;

	if (write(out, &b, 1) != 1 || read(in, &b, 1) != 1)
		exit(80);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10000, *fds, l, st, eofs = 0, to_parent[2], to_child[2];
	struct rlimit rl = { (rlim_t)n + 64, (rlim_t)n + 64 };
	struct sockaddr_in addr;
	char line[16], buf[16];
	pid_t pid;

	setvbuf(stdout, NULL, _IONBF, 0);
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < (rlim_t)n + 64) {
		rl.rlim_cur = (rlim_t)n + 64;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			printf("SKIP: cannot raise RLIMIT_NOFILE to %d: %s\n", n + 64, strerror(errno));
			return 77;
		}
	}
	fds = calloc((size_t)n, sizeof(int));
	l = t_listen(&addr, SOMAXCONN); /* a full queue drops SYNs: 1 s retries */
	if (!fds || pipe(to_parent) || pipe(to_child))
		return 81;
	pid = fork();
	if (pid == 0) {
		close(l);
		for (int i = 0; i < n; i++) {
			fds[i] = socket(AF_INET, SOCK_STREAM, 0);
			if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&addr, sizeof(addr))) {
				printf("client: connection %d: %s\n", i, strerror(errno));
				_exit(1);
			}
		}
		for (int i = 0; i < n; i++) {
			snprintf(line, sizeof(line), "%09d\n", i);
			if (write(fds[i], line, 10) != 10 || xread(fds[i], buf, 10) || memcmp(buf, line, 10)) {
				printf("client: echo %d wrong\n", i);
				_exit(2);
			}
		}
		sync_with(to_parent[1], to_child[0]);
		for (int i = 0; i < n; i++) {
			if (read(fds[i], buf, sizeof(buf)) == 0)
				eofs++;
			close(fds[i]);
		}
		printf("client: %d connections, %d echoes, %d ends of file\n", n, n, eofs);
		_exit(0);
	}
	for (int i = 0; i < n; i++) {
		fds[i] = accept(l, NULL, NULL);
		if (fds[i] < 0) {
			printf("server: accept %d: %s\n", i, strerror(errno));
			kill(pid, SIGKILL);
			return 1;
		}
	}
	close(l);
	for (int i = 0; i < n; i++) {
		if (xread(fds[i], buf, 10) || write(fds[i], buf, 10) != 10) {
			printf("server: echo %d failed\n", i);
			kill(pid, SIGKILL);
			return 2;
		}
	}
	/* Every connection open and idle: what does it cost? */
	sync_with(to_child[1], to_parent[0]);
	report(pid, n);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	waitpid(pid, &st, 0);
	printf("server: %d connections accepted and echoed, client exit %d\n", n, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 3;
}
