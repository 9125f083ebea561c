/* SPDX-License-Identifier: MIT */
/*
 * Attack: root inside the sandbox writes the host kernel's global knobs
 * through the sandbox's /proc.  core_pattern would make the kernel run a
 * command of the EF's choosing as host root on the next crash; any other
 * sysctl (kernel.printk_ratelimit_burst here) changes for the whole host.
 * Also: the magic SysRq trigger, and reading the kernel's memory and
 * symbols.  Every write must fail and the host's values stay as they were.
 *
 * Harmless if the attack succeeds: core_pattern is written with its own
 * current value, and the changed ratelimit is put back by the test.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "priv-helpers.h"

#define CORE_PATTERN "/proc/sys/kernel/core_pattern"
#define BURST "/proc/sys/kernel/printk_ratelimit_burst"

struct knobs {
	char core_pattern[256]; /* the host's current value, written back as is */
	char burst[32];         /* the host's value + 1 */
};

static int read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

/* 1 if writing @text to @path got through (open and full write). */
static int write_through(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = write(fd, text, strlen(text));
	close(fd);
	if (n < 0)
		return 0;
	t_say("  EF wrote %s\n", path);
	return 1;
}

static int attacker(void *arg)
{
	const struct knobs *k = arg;
	int through = 0;
	char buf[4096];
	ssize_t n;
	int fd;

	if (write_through(CORE_PATTERN, k->core_pattern))
		through |= 1;
	if (write_through(BURST, k->burst))
		through |= 2;
	/* "h" only prints the help to the kernel log: harmless if it gets through. */
	if (write_through("/proc/sysrq-trigger", "h"))
		through |= 4;
	/* The kernel's memory and symbol addresses: nothing may be read. */
	fd = open("/proc/kcore", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf));
		close(fd);
		if (n > 0) {
			t_say("  EF read /proc/kcore\n");
			through |= 8;
		}
	}
	fd = open("/proc/kallsyms", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			t_say("  EF read /proc/kallsyms\n");
			through |= 16;
		}
	}
	return through;
}

int main(void)
{
	struct knobs k;
	char before[256], after[256], burst[32];
	int failed = 0;

	t_sandbox_require();
	if (read_text(CORE_PATTERN, k.core_pattern, sizeof(k.core_pattern)) < 0 ||
	    read_text(BURST, burst, sizeof(burst)) < 0) {
		printf("# SKIP no /proc/sys/kernel here\n");
		return T_SKIP;
	}
	snprintf(k.burst, sizeof(k.burst), "%ld\n", strtol(burst, NULL, 10) + 1);
	memcpy(before, k.core_pattern, sizeof(before));

	failed |= t_expect_stopped("writing host sysctls, sysrq, reading kcore/kallsyms",
				   t_sandbox_run(NULL, attacker, &k, sizeof(k)));

	if (read_text(CORE_PATTERN, after, sizeof(after)) < 0 || strcmp(before, after) != 0) {
		printf("not ok: host core_pattern changed\n");
		failed = 1;
	}
	if (read_text(BURST, after, sizeof(after)) < 0 || strcmp(after, burst) != 0) {
		int fd = open(BURST, O_WRONLY | O_CLOEXEC);

		printf("not ok: host kernel.printk_ratelimit_burst changed (%s -> %s)\n", burst, after);
		if (fd >= 0) {
			if (write(fd, burst, strlen(burst)) < 0)
				printf("# could not put it back\n");
			close(fd);
		}
		failed = 1;
	} else {
		printf("ok: host values unchanged\n");
	}
	return failed ? T_FAIL : T_PASS;
}
