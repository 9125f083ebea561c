/* SPDX-License-Identifier: MIT */
/* Description: a program that writes wide-character stdio (wprintf) to a
 * pipe dup'ed onto its stdout.  The shim cannot serve a wide stream, so
 * under --policy=perf the pipe goes back to the kernel at the dup, and the
 * output must be the same as natively. */
#include <locale.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wchar.h>

int main(void)
{
	char buf[4096];
	int p[2], st;
	long total = 0;
	ssize_t n;
	pid_t c;

	setlocale(LC_ALL, "C.UTF-8");
	if (pipe(p) != 0)
		return 1;
	c = fork();
	if (c == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		for (int i = 0; i < 2000; i++)
			wprintf(L"wide line %d \u00e9\n", i);
		return fwide(stdout, 0) > 0 ? 0 : 2;
	}
	close(p[1]);
	while ((n = read(p[0], buf, sizeof(buf))) > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		total += n;
	}
	waitpid(c, &st, 0);
	printf("read %ld bytes, child exit %d\n", total, WEXITSTATUS(st));
	return 0;
}
