/* SPDX-License-Identifier: MIT */
/*
 * bench-mutate: what moving an EF costs.
 *
 * For domains of 1 MiB, 64 MiB and 1 GiB (3/4 of each touched by the EF's
 * heap), the latency of mutate thread->process and process->thread, as
 * the EF sees it (from the creator's xos_ef_mutate() call to the EF
 * running again in its new host) and as the creator sees it (the call's
 * duration), next to the native baseline measured in the same run: a
 * plain fork() of a process holding the same touched memory (anonymous,
 * private), until the child runs.  Then dump + restore of an EF with
 * 100 MiB of data (image in $XOS_BENCH_DIR, default /dev/shm; restore in
 * this process once the original has ended, so its addresses are free):
 * the stop-the-world xos_ef_dump against xos_ef_dump_start in alternating
 * rounds, the EF's pause in each, and restore until the EF runs again.
 *
 * Prints `figure: NAME = VALUE UNIT` lines; medians over the repetitions.
 */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xos.h>

#include "bench.h"

struct shared {
	_Atomic int ready, stop;
	_Atomic uint64_t hops;
	_Atomic uint64_t resumed_ns;
	_Atomic uint64_t child_ns;
	_Atomic int measure;           /* dump bench: note the EF's longest gap */
	_Atomic uint64_t max_gap_ns;   /* the longest safe point: the pause */
	_Atomic uint64_t max_gap_cpu_ns; /* the CPU time the EF's thread used in it */
	_Atomic uint64_t max_fault_ns; /* the longest write: a copy-on-write fault */
	_Atomic uint64_t run_ns;       /* dump bench: when the (restored) EF first ran */
};

struct bench_arg {
	size_t touch;
	struct shared *sh; /* MAP_SHARED: seen by the creator whatever hosts the EF */
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double median_us(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	return (double)v[n / 2] / 1000.0;
}

/* The EF: fill its heap, then spin through safe points, noting each new host. */
static int spinner(void *arg)
{
	const struct bench_arg *a = arg;
	struct shared *sh = a->sh;
	char *p = xos_malloc(a->touch);
	pid_t last = gettid();

	if (!p)
		return 1;
	memset(p, 0x5a, a->touch);
	atomic_store(&sh->ready, 1);
	while (!atomic_load(&sh->stop)) {
		xos_ef_yield();
		if (gettid() != last) {
			last = gettid();
			atomic_store(&sh->resumed_ns, bench_now_ns());
			atomic_fetch_add(&sh->hops, 1);
		}
	}
	return p[a->touch / 2] == 0x5a ? 0 : 2;
}

static void wait_hop(struct shared *sh, uint64_t before)
{
	while (atomic_load(&sh->hops) == before)
		;
}

/* Native baseline: fork of a process holding @touch bytes, until the child runs. */
static double fork_baseline(size_t touch, int reps)
{
	char *mem = mmap(NULL, touch, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
				 -1, 0);
	uint64_t v[64];

	if (mem == MAP_FAILED || sh == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	memset(mem, 0x5a, touch);
	for (int i = 0; i < reps; i++) {
		uint64_t t0 = bench_now_ns();
		pid_t pid = fork();

		if (pid == 0) {
			atomic_store(&sh->child_ns, bench_now_ns());
			_exit(0);
		}
		waitpid(pid, NULL, 0);
		v[i] = atomic_load(&sh->child_ns) - t0;
	}
	munmap(mem, touch);
	munmap(sh, sizeof(*sh));
	return median_us(v, reps);
}

static void bench_size(const char *label, size_t dom, int reps)
{
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
				 -1, 0);
	struct bench_arg a = { .touch = dom / 4 * 3, .sh = sh };
	uint64_t to_p[64], to_t[64], call_p[64], call_t[64];
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	double base;
	int rc;

	xos_ef_attr_init(&attr);
	attr.icf = "thread";
	attr.flags = XOS_EF_F_DOMAIN;
	attr.domain_size = dom;
	rc = xos_ef_create(&ef, &attr, spinner, &a, sizeof(a));
	if (rc < 0) {
		fprintf(stderr, "bench-mutate: create: %s\n", strerror(-rc));
		exit(1);
	}
	while (!atomic_load(&sh->ready))
		usleep(100);
	for (int i = 0; i < reps; i++) {
		uint64_t hops = atomic_load(&sh->hops), t0 = bench_now_ns();

		if ((rc = xos_ef_mutate(ef, "process")) < 0)
			goto fail;
		call_p[i] = bench_now_ns() - t0;
		wait_hop(sh, hops);
		to_p[i] = atomic_load(&sh->resumed_ns) - t0;

		hops = atomic_load(&sh->hops);
		t0 = bench_now_ns();
		if ((rc = xos_ef_mutate(ef, "thread")) < 0)
			goto fail;
		call_t[i] = bench_now_ns() - t0;
		wait_hop(sh, hops);
		to_t[i] = atomic_load(&sh->resumed_ns) - t0;
	}
	atomic_store(&sh->stop, 1);
	xos_ef_join(ef, &ex);
	if (ex.status != 0)
		fprintf(stderr, "bench-mutate: EF ended with %d\n", ex.status);
	base = fork_baseline(a.touch, reps);
	{
		double tp = median_us(to_p, reps), pt = median_us(to_t, reps);

		printf("figure: fork_baseline_%s = %.1f us\n", label, base);
		printf("figure: mutate_thread_to_process_%s = %.1f us (%.2fx fork)\n", label, tp,
		       tp / base);
		printf("figure: mutate_thread_to_process_call_%s = %.1f us\n", label,
		       median_us(call_p, reps));
		printf("figure: mutate_process_to_thread_%s = %.1f us (%.2fx fork)\n", label, pt,
		       pt / base);
		printf("figure: mutate_process_to_thread_call_%s = %.1f us\n", label,
		       median_us(call_t, reps));
	}
	munmap(sh, sizeof(*sh));
	return;
fail:
	fprintf(stderr, "bench-mutate: mutate: %s\n", strerror(-rc));
	exit(1);
}

/* CPU time of the calling thread (a system call: only while measuring). */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The EF of the dump bench: 100 MiB of data, then safe points and a write to one page per step. */

static int holder(void *arg)
{
	const struct bench_arg *a = arg;
	struct shared *sh = a->sh;
	char *p = xos_malloc(a->touch);
	uint64_t k = 0;

	if (!p)
		return 1;
	for (size_t i = 0; i < a->touch; i += 64)
		p[i] = (char)(i >> 6);
	atomic_store(&sh->ready, 1);
	while (!atomic_load(&sh->stop)) {
		bool measure = atomic_load(&sh->measure);
		uint64_t c0 = measure ? thread_cpu_ns() : 0, t0 = bench_now_ns(), t1, t2;

		xos_ef_yield(); /* parked here for a dump */
		t1 = bench_now_ns();
		if (measure && t1 - t0 > atomic_load(&sh->max_gap_ns))
			atomic_store(&sh->max_gap_cpu_ns, thread_cpu_ns() - c0);
		/* A write per step: a page not yet in the image costs a copy-on-write fault. */
		p[(k * 4096 + 8) % a->touch] = (char)k;
		k++;
		t2 = bench_now_ns();
		if (!atomic_load(&sh->run_ns))
			atomic_store(&sh->run_ns, t2);
		if (atomic_load(&sh->measure)) {
			if (t1 - t0 > atomic_load(&sh->max_gap_ns))
				atomic_store(&sh->max_gap_ns, t1 - t0);
			if (t2 - t1 > atomic_load(&sh->max_fault_ns))
				atomic_store(&sh->max_fault_ns, t2 - t1);
		}
		atomic_fetch_add(&sh->hops, 1);
	}
	for (size_t i = 0; i < a->touch; i += 64)
		if (p[i] != (char)(i >> 6))
			return 3;
	return 0;
}

/* Let the EF take @n more steps. */
static void wait_steps(struct shared *sh, uint64_t n)
{
	uint64_t h0 = atomic_load(&sh->hops);

	while (atomic_load(&sh->hops) < h0 + n)
		;
}

static void print_spread(const char *name, uint64_t *v, int n, const char *unit_note)
{
	uint64_t lo = v[0], hi = v[0];

	for (int i = 1; i < n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	printf("figure: %s = %.2f ms (median of %d, spread %.2f..%.2f)%s\n", name,
	       median_us(v, n) / 1000, n, (double)lo / 1e6, (double)hi / 1e6, unit_note);
}

/*
 * The floor of the pause of this design: write-protecting the page tables
 * of 100 MiB of shmem (userfaultfd), measured on a memfd mapped here.
 */
static uint64_t wp_floor_ns(size_t len)
{
	int memfd = memfd_create("bench-wp", MFD_CLOEXEC), uffd;
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_WP_HUGETLBFS_SHMEM };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	uint64_t t0, t = 0;
	char *m;

	if (memfd < 0 || ftruncate(memfd, (off_t)len) < 0)
		return 0;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (m != MAP_FAILED && uffd >= 0) {
		memset(m, 1, len);
		reg.range.start = wp.range.start = (uintptr_t)m;
		reg.range.len = wp.range.len = len;
		if (ioctl(uffd, UFFDIO_API, &api) == 0 && ioctl(uffd, UFFDIO_REGISTER, &reg) == 0) {
			t0 = bench_now_ns();
			if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) == 0)
				t = bench_now_ns() - t0;
		}
	}
	if (uffd >= 0)
		close(uffd);
	if (m != MAP_FAILED)
		munmap(m, len);
	close(memfd);
	return t;
}

/* Finding the data extents of a 100 MiB memfd (lseek SEEK_DATA/SEEK_HOLE), done in the pause. */
static uint64_t extents_ns(size_t len)
{
	int fd = memfd_create("bench-ext", MFD_CLOEXEC);
	char *buf = malloc((size_t)1 << 20);
	uint64_t t0, t;
	off_t off = 0;

	memset(buf, 1, (size_t)1 << 20);
	for (size_t o = 0; fd >= 0 && o < len; o += (size_t)1 << 20)
		if (pwrite(fd, buf, (size_t)1 << 20, (off_t)o) < 0)
			break;
	t0 = bench_now_ns();
	while (fd >= 0 && (size_t)off < len) {
		off_t d = lseek(fd, off, SEEK_DATA);

		if (d < 0)
			break;
		off = lseek(fd, d, SEEK_HOLE);
		if (off < 0)
			break;
	}
	t = bench_now_ns() - t0;
	free(buf);
	if (fd >= 0)
		close(fd);
	return t;
}

/*
 * Rounds A B A B: A is the stop-the-world dump (xos_ef_dump), B the dump
 * that does not stop the EF (xos_ef_dump_start + xos_ef_dump_wait).  The
 * pause is what the EF sees: its longest stay in a safe point while the
 * dump runs (parked); apart, its longest write (a copy-on-write fault it
 * waited on, in B).  Each image is then restored here (the original has ended).
 */
static void bench_dump(int reps)
{
	const char *dir = getenv("XOS_BENCH_DIR") ? getenv("XOS_BENCH_DIR") : "/dev/shm";
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
				 -1, 0);
	struct bench_arg a = { .touch = (size_t)100 << 20, .sh = sh };
	uint64_t vd[2][16], vp[2][16], vf[2][16], vr[2][16], vrun[2][16], vrun_e[2][16], vall[2][16], vall_e[2][16], vcall[16], vmemcpy[16], vfill[16],
		vcheck[16], vwp[16], vext[16], vpcpu[16];
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	char path[4096];
	int rc, n[2] = { 0, 0 };

	snprintf(path, sizeof(path), "%s/xos-bench-mutate.%d.img", dir, (int)getpid());
	xos_ef_attr_init(&attr);
	attr.icf = "thread";
	attr.flags = XOS_EF_F_DOMAIN;
	attr.domain_size = (size_t)128 << 20;
	for (int r = 0; r < 2 * reps; r++) {
		int m = r % 2, i = n[m]++;
		uint64_t t0;

		atomic_store(&sh->ready, 0);
		atomic_store(&sh->stop, 0);
		if ((rc = xos_ef_create(&ef, &attr, holder, &a, sizeof(a))) < 0)
			goto fail;
		while (!atomic_load(&sh->ready))
			usleep(100);
		wait_steps(sh, 1000);
		atomic_store(&sh->max_gap_ns, 0);
		atomic_store(&sh->max_gap_cpu_ns, 0);
		atomic_store(&sh->max_fault_ns, 0);
		atomic_store(&sh->measure, 1);
		t0 = bench_now_ns();
		if (m == 0) {
			rc = xos_ef_dump(ef, path);
		} else {
			rc = xos_ef_dump_start(ef, path, 0);
			vcall[i] = bench_now_ns() - t0;
			if (rc == 0)
				rc = xos_ef_dump_wait(ef, -1);
		}
		if (rc < 0)
			goto fail;
		vd[m][i] = bench_now_ns() - t0;
		wait_steps(sh, 100); /* the step after the pause records it */
		atomic_store(&sh->measure, 0);
		vp[m][i] = atomic_load(&sh->max_gap_ns);
		if (m == 1)
			vpcpu[i] = atomic_load(&sh->max_gap_cpu_ns);
		vf[m][i] = atomic_load(&sh->max_fault_ns);
		atomic_store(&sh->stop, 1);
		xos_ef_join(ef, &ex);

		/* Restore, until the EF has run a step (restore_to_running). */
		t0 = bench_now_ns();
		rc = xos_image_check(path, NULL, 0);
		vcheck[i] = bench_now_ns() - t0;
		if (rc < 0)
			goto fail;
		/* Lazy and eager (XOS_RESTORE_EAGER=1) restores of the same image, in alternating order. */
		for (int k = 0; k < 2; k++) {
			int eager = (k + i) % 2;

			if (eager)
				setenv("XOS_RESTORE_EAGER", "1", 1);
			else
				unsetenv("XOS_RESTORE_EAGER");
			atomic_store(&sh->stop, 0);
			atomic_store(&sh->run_ns, 0);
			t0 = bench_now_ns();
			if ((rc = xos_ef_restore(path, &ef)) < 0)
				goto fail;
			if (!eager)
				vr[m][i] = bench_now_ns() - t0;
			/* The EF stamps its first step itself: no need to spin for it (2 CPUs). */
			while (!atomic_load(&sh->run_ns))
				usleep(50);
			(eager ? vrun_e : vrun)[m][i] = atomic_load(&sh->run_ns) - t0;
			/* The EF then reads every byte of its buffer: all in. */
			atomic_store(&sh->stop, 1);
			rc = xos_ef_join(ef, &ex);
			(eager ? vall_e : vall)[m][i] = bench_now_ns() - t0;
			if (rc < 0)
				goto fail;
			if (ex.status != 0)
				fprintf(stderr, "bench-mutate: restored EF ended with %d\n", ex.status);
		}
		unsetenv("XOS_RESTORE_EAGER");
		unlink(path);
	}
	for (int i = 0; i < reps; i++) {
		vwp[i] = wp_floor_ns(a.touch);
		vext[i] = extents_ns(a.touch);
	}
	{
		/* Native reference: one memcpy of the same bytes. */
		char *src = malloc(a.touch), *dst = malloc(a.touch);

		memset(src, 1, a.touch);
		memset(dst, 2, a.touch);
		for (int i = 0; i < reps; i++) {
			uint64_t t0 = bench_now_ns();

			memcpy(dst, src, a.touch);
			vmemcpy[i] = bench_now_ns() - t0;
		}
		/*
		 * The floor of any dump or restore of this design: filling a
		 * fresh shmem file (the image on tmpfs, or the restored
		 * domain's memfd) with the same bytes.  Here that is page
		 * allocation, not copying.
		 */
		for (int i = 0; i < reps; i++) {
			int fd = memfd_create("bench-fill", MFD_CLOEXEC);
			uint64_t t0 = bench_now_ns();

			for (size_t o = 0; fd >= 0 && o < a.touch; o += (size_t)1 << 20)
				if (pwrite(fd, src + o, (size_t)1 << 20, (off_t)o) != (ssize_t)1 << 20)
					break;
			vfill[i] = bench_now_ns() - t0;
			if (fd >= 0)
				close(fd);
		}
		free(src);
		free(dst);
	}
	{
		double d = median_us(vd[0], reps) / 1000, r = median_us(vr[0], reps) / 1000,
		       m = median_us(vmemcpy, reps) / 1000, f = median_us(vfill, reps) / 1000;
		double pb = median_us(vp[1], reps) / 1000, pa = median_us(vp[0], reps) / 1000;
		double ra = median_us(vrun[0], reps) / 1000, rb = median_us(vrun[1], reps) / 1000;
		double chk = median_us(vcheck, reps) / 1000;

		printf("figure: memcpy_100MiB = %.1f ms\n", m);
		printf("figure: shmem_fill_100MiB = %.1f ms (writing a fresh memfd: what dump and restore each must do)\n", f);
		printf("figure: dump_100MiB = %.1f ms (%s)\n", d, dir);
		printf("figure: restore_100MiB = %.1f ms\n", r);
		printf("figure: dump_restore_100MiB = %.1f ms (%.1fx memcpy, %.2fx two shmem fills; goal < 90 ms)\n",
		       d + r, (d + r) / m, (d + r) / (2 * f));
		/* A B A B: stop-the-world, then copy-on-write, in alternating rounds. */
		print_spread("dump_pause_stop_100MiB", vp[0], reps, " (baseline: xos_ef_dump, EF parked throughout)");
		print_spread("dump_pause_100MiB", vp[1], reps, "");
		printf("figure: dump_pause_100MiB_vs_stop = %.3fx (goal <= 5 ms: %s)\n", pb / pa,
		       pb <= 5.0 ? "met" : "missed");
		print_spread("dump_fault_stall_max_100MiB", vf[1], reps,
			     " (the EF's longest write during the dump: a copy-on-write fault, served by another thread)");
		print_spread("dump_start_call_100MiB", vcall, reps, " (the caller's wait in xos_ef_dump_start)");
		print_spread("dump_background_100MiB", vd[1], reps, " (xos_ef_dump_start until xos_ef_dump_wait returns)");
		print_spread("dump_arm_wp_100MiB", vwp, reps,
			     " (write-protecting 100 MiB of shmem page tables: done before the pause, while the EF runs)");
		print_spread("dump_extents_100MiB", vext, reps, " (finding the data extents: done before the pause, while the EF runs)");
		print_spread("dump_pause_cpu_100MiB", vpcpu, reps,
			     " (the CPU time the EF's own thread spent in that pause, taking the snapshot: the rest of the"
			     " pause, if any, it was runnable and waiting for a CPU)");
		print_spread("restore_to_running_stop_100MiB", vrun[0], reps, " (lazy restore of an xos_ef_dump image)");
		print_spread("restore_to_running_100MiB", vrun[1], reps, " (lazy restore of an xos_ef_dump_start image)");
		print_spread("restore_to_running_eager_100MiB", vrun_e[1], reps,
			     " (baseline, same image, same rounds: XOS_RESTORE_EAGER=1, every chunk in and verified first)");
		print_spread("restore_all_in_100MiB", vall[1], reps,
			     " (lazy: restore start until the EF has read back all of its 100 MiB and ended)");
		print_spread("restore_all_in_eager_100MiB", vall_e[1], reps, " (the same, eager)");
		print_spread("image_verify_100MiB", vcheck, reps,
			     " (reading and checking the whole image: the floor of any restore that verifies before running)");
		printf("figure: restore_to_running_100MiB_vs_eager = %.3fx (goal <= 5 ms: %s; an eager restore's floor %.1f ms: "
		       "verify %.1f ms + fill)\n", rb / (median_us(vrun_e[1], reps) / 1000), rb <= 5.0 ? "met" : "missed",
		       chk + f, chk);
		(void)ra;
	}
	munmap(sh, sizeof(*sh));
	return;
fail:
	fprintf(stderr, "bench-mutate: dump/restore: %s\n", strerror(-rc));
	unlink(path);
	exit(1);
}

/*
 * An EF asleep in xos_chan_recv on a channel of @mech, mutated thread ->
 * process and back: each call's duration.  The request must first end
 * the EF's wait: a ring's wait is a futex the request wakes; a pipe,
 * unix or tcp end sleeps in the kernel, which the request interrupts
 * (a signal), or which looks at the request every 20 ms.
 */
static int asleep_ef(void *arg)
{
	struct xos_chan *end = *(struct xos_chan **)arg;
	char buf[8];
	ssize_t n;

	while ((n = xos_chan_recv(end, buf, sizeof(buf))) > 0)
		;
	return n == 0 ? 0 : 1;
}

static void bench_asleep(const char *mech, int reps)
{
	struct xos_chan_attr ca;
	struct xos_chan *c[2];
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	uint64_t to_p[64], to_t[64];
	int rc;

	xos_chan_attr_init(&ca);
	ca.mechanism = mech;
	if ((rc = xos_chan_open(c, &ca)) < 0)
		goto fail;
	xos_ef_attr_init(&attr);
	attr.icf = "thread";
	attr.flags = XOS_EF_F_DOMAIN;
	attr.domain_size = 1u << 20;
	attr.chans = &c[1];
	attr.nchans = 1;
	if ((rc = xos_ef_create(&ef, &attr, asleep_ef, &c[1], sizeof(c[1]))) < 0)
		goto fail;
	for (int i = 0; i < reps; i++) {
		uint64_t t0;

		usleep(3000); /* asleep in its receive by now */
		t0 = bench_now_ns();
		if ((rc = xos_ef_mutate(ef, "process")) < 0)
			goto fail;
		to_p[i] = bench_now_ns() - t0;
		usleep(3000);
		t0 = bench_now_ns();
		if ((rc = xos_ef_mutate(ef, "thread")) < 0)
			goto fail;
		to_t[i] = bench_now_ns() - t0;
	}
	xos_chan_close(c[0]);
	xos_ef_join(ef, &ex);
	if (ex.status != 0)
		fprintf(stderr, "bench-mutate: asleep EF on %s ended with %d\n", mech, ex.status);
	printf("figure: mutate_asleep_%s_thread_to_process = %.2f ms (EF asleep in xos_chan_recv; median of %d)\n",
	       mech, median_us(to_p, reps) / 1e3, reps);
	printf("figure: mutate_asleep_%s_process_to_thread = %.2f ms\n", mech, median_us(to_t, reps) / 1e3);
	return;
fail:
	fprintf(stderr, "bench-mutate: asleep on %s: %s\n", mech, strerror(-rc));
	exit(1);
}

/* `bench-mutate dump`: the dump and restore figures only; `bench-mutate asleep`: the asleep ones. */
int main(int argc, char **argv)
{
	static const char *const mechs[] = { "ring", "pipe", "unix", "tcp" };

	if (argc > 1 && strcmp(argv[1], "dump") == 0) {
		bench_dump(5);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "asleep") == 0) {
		for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
			bench_asleep(mechs[i], 15);
		return 0;
	}
	bench_size("1MiB", (size_t)1 << 20, 21);
	bench_size("64MiB", (size_t)64 << 20, 15);
	bench_size("1GiB", (size_t)1 << 30, 7);
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		bench_asleep(mechs[i], 15);
	bench_dump(5);
	return 0;
}
