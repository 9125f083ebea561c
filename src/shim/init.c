/* SPDX-License-Identifier: MIT */
/*
 * The shim's start in each program image: resolve libc, map the run's
 * shared area, find or make this process's EF (an exec keeps the EF of
 * the process that called it; a process the shim did not see being born,
 * such as a posix_spawn child, gets a new EF under its parent's), and
 * learn which inherited fds are recorded channels.
 */
#include "config.h"

#include <dlfcn.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim_i.h"

static void find_own_path(void)
{
	Dl_info info;

	if (dladdr((void *)find_own_path, &info) && info.dli_fname) {
		size_t n = strlen(info.dli_fname);

		if (n < sizeof(shim.lib_path))
			memcpy(shim.lib_path, info.dli_fname, n + 1);
	}
}

bool shim_cpus_probe(void)
{
	int saved = errno;
	cpu_set_t cpus;
	long ncpu;

	/* The CPUs this process may run on (one system call; sysconf reads
	 * /sys, three). */
	ncpu = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 ? CPU_COUNT(&cpus) : sysconf(_SC_NPROCESSORS_ONLN);
	shim.multi_cpu = ncpu > 1;
	shim.cpus_known = true;
	errno = saved;
	return shim.multi_cpu;
}

/* The library's DT_FINI (-Wl,-fini): nothing to do at exit here. */
void shim_fini(void) SHIM_HIDDEN SHIM_FORK_PATH;
void shim_fini(void)
{
}

__attribute__((constructor)) static void shim_init(void)
{
	SHIM_ERRNO_SAVE;
	const char *policy = secure_getenv("XOS_POLICY");
	int32_t ef;

	shim_real_resolve();
	find_own_path();
	shim_pid = shim_getpid();
	shim_tid_probe();
	shim.perf = policy && strcmp(policy, "perf") == 0;
	shim_area_attach();
	if (!shim.area) {
		/* Nothing to record in, yet or at all (shim_area_attach). */
		shim.perf = shim.area_deferred;
		SHIM_ERRNO_RESTORE();
		return;
	}
	if (shim.start_ef >= 0) {
		/* The exec'ing image wrote this image's name and count: until it
		 * records something, its end is left to its parent's wait, as a
		 * light fork child's (unless the parent is gone by then). */
		ef = shim.start_ef;
		shim_light = 1;
	} else {
		ef = shim_ef_find_pid(shim_pid);
		if (ef >= 0 && atomic_load(&shim.area->ef[ef].end) == SHIM_END_RUNNING) {
			shim.area->ef[ef].execs++;
		} else {
			int32_t parent = shim_ef_find_pid(shim_getppid());

			ef = shim_ef_new(SHIM_ICF_PROCESS, parent, shim_pid, shim_pid);
		}
		shim_ef_set_name(ef);
	}
	shim_self = ef;
	shim_fds_rebuild();
	/* A ring inherited on 0, 1 or 2 stays only if stdio is served.  One
	 * moved back already needs no stream (the kernel carries it): serving
	 * one cost a scan of the program's symbols and a malloc arena, ~5
	 * page faults, in every command a vfork'ing parent started on it. */
	for (int fd = 0; fd <= 2; fd++) {
		struct shim_fd *f = shim_fd_get(fd);

		if (f && f->ring && shim_ring_live(f) && !shim_stdio_serve(fd))
			shim_ring_downgrade(fd, f, "exec into a program using wide stdio", true);
	}
	SHIM_ERRNO_RESTORE();
}
