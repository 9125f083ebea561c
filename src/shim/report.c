/* SPDX-License-Identifier: MIT */
/*
 * The record of a program run: one shared area, mapped MAP_SHARED by every
 * managed process, holding an EF record per thread and process and a
 * channel record per pipe and socket.  Records are appended with an atomic
 * counter and published with a release store of `used`, so any process,
 * including a fork child or a signal handler, can add one without a lock
 * or malloc.  xos-run creates the area as a file (XOS_SHIM_AREA) and reads
 * it when the program ends; without it the shim keeps an anonymous shared
 * area, which follows forks but not execs.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../prim/spin.h"
#include "shim_i.h"
#include "ready.h"

struct shim_state shim;
__thread int32_t shim_pid __attribute__((tls_model("initial-exec")));
__thread int32_t shim_self __attribute__((tls_model("initial-exec"))) = -1;
__thread uint8_t shim_light __attribute__((tls_model("initial-exec")));
__thread int32_t shim_thread_ef __attribute__((tls_model("initial-exec"))) = -1;

uint64_t shim_now_ns(void)
{
	return xos__now_ns();
}

/* The same clock, for the start and end of a process EF: one system call,
 * where the vDSO's first use in an image costs three page faults (its code
 * and two data pages), more than a short program's whole life would use
 * it.  A thread EF's stamps go through the vDSO: its process is past its
 * first moments, and two system calls were a tenth of a thread's create
 * and join on this VM. */
static uint64_t now_ns_once(void)
{
#if defined(__x86_64__)
	struct timespec ts;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"((long)SYS_clock_gettime), "D"((long)CLOCK_MONOTONIC), "S"(&ts)
			 : "rcx", "r11", "memory");
	if (ret == 0)
		return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
#endif
	return shim_now_ns();
}

/* When an EF of kind @icf starts or ends, on the area's clock. */
static uint64_t ef_stamp_ns(uint32_t icf)
{
	return (icf == SHIM_ICF_THREAD ? shim_now_ns() : now_ns_once()) - shim.t0_ns;
}

bool shim_own_process(void)
{
	return shim_getpid() == shim_pid;
}

int32_t shim_current_ef(void)
{
	return shim_thread_ef >= 0 ? shim_thread_ef : shim_self;
}

/*
 * What a new image reads of the area's file before mapping it, with pread:
 * the header's first fields, its pid's slot and the record the slot names.
 * A first touch of a page of the mapping is a page fault, and the first in
 * a 2 MiB range a page table too, made and freed with every image (~0.1 ms
 * here for the three pages a start needed): an image whose exec'ing image
 * prepared its record, and that records nothing itself, touches none.
 * False if the file is not an area.
 */
static bool read_start(int fd)
{
	unsigned char head[offsetof(struct shim_area, nchan) + sizeof(uint32_t)];
	uint64_t magic;
	int32_t slot = 0;
	struct shim_ef e;

	if (shim_pread(fd, head, sizeof(head), 0) != (ssize_t)sizeof(head))
		return false;
	memcpy(&magic, head + offsetof(struct shim_area, magic), sizeof(magic));
	if (magic != SHIM_AREA_MAGIC)
		return false;
	memcpy(&shim.t0_ns, head + offsetof(struct shim_area, t0_ns), sizeof(shim.t0_ns));
	memcpy(&shim.nchan_start, head + offsetof(struct shim_area, nchan), sizeof(shim.nchan_start));
	if (shim_pid <= 0 || (uint32_t)shim_pid >= SHIM_PID_SLOTS ||
	    shim_pread(fd, &slot, sizeof(slot), (off_t)(offsetof(struct shim_area, pid_ef) + 4 * (size_t)shim_pid)) !=
		    (ssize_t)sizeof(slot) ||
	    slot <= 0 || slot > SHIM_MAX_EF ||
	    shim_pread(fd, &e, sizeof(e), (off_t)(offsetof(struct shim_area, ef) + (size_t)(slot - 1) * sizeof(e))) !=
		    (ssize_t)sizeof(e))
		return true;
	if (atomic_load(&e.used) != 1 || e.icf != SHIM_ICF_PROCESS || e.pid != shim_pid ||
	    atomic_load(&e.end) != SHIM_END_RUNNING || e.execs == 0 || e.exec_ready != e.execs)
		return true;
	/* The parent whose wait will record this image's end: the one of
	 * its EF, if it still is its parent when the image ends. */
	shim.start_ppid = -1;
	if (e.parent >= 0 && e.parent < SHIM_MAX_EF &&
	    shim_pread(fd, &shim.start_ppid, sizeof(shim.start_ppid),
		       (off_t)(offsetof(struct shim_area, ef) + (size_t)e.parent * sizeof(e) +
			       offsetof(struct shim_ef, pid))) != (ssize_t)sizeof(shim.start_ppid))
		shim.start_ppid = -1;
	shim.start_ef = slot - 1;
	return true;
}

/*
 * Map the area named by XOS_SHIM_AREA.  Without it (the shim preloaded by
 * hand) the area is private to the image and the processes it forks, and
 * only a ring needs it: under XOS_POLICY=perf it is made by the image's
 * first pipe or socket (shim_area_need); without that policy nothing would
 * use or read it, and it is never made.  Making one took ~0.2 ms an image
 * here (a shared mapping's pages and their page table), which every
 * command of a preloaded shell script paid, most of them for nothing.
 */
void shim_area_attach(void)
{
	const char *path = secure_getenv("XOS_SHIM_AREA");
	struct shim_area *a = MAP_FAILED;
	uint64_t size = shim_area_bytes();

	shim.shared_file = false;
	shim.area_deferred = false;
	shim.start_ef = -1;
	if (path && *path) {
		/* Raw system calls: each libc function only this would call is a code page to fault in. */
		int fd = shim_open_rdwr(path);
		struct stat st;

		if (fd >= 0 && shim_fstat(fd, &st) == 0 && (uint64_t)st.st_size >= size && read_start(fd))
			a = shim_mmap_shared(size, fd);
		if (a != MAP_FAILED && strlen(path) < sizeof(shim.area_path))
			memcpy(shim.area_path, path, strlen(path) + 1);
		if (fd >= 0)
			shim_close_fd(fd);
		if (a != MAP_FAILED) {
			shim.shared_file = true;
			shim.area = a;
			return;
		}
		shim.start_ef = -1;
	}
	shim.area_deferred = shim.perf;
}

bool shim_area_need(void)
{
	struct shim_area *a, *none = NULL;
	uint64_t size = shim_area_bytes();
	int32_t ef;

	if (shim.area)
		return true;
	if (!shim.area_deferred)
		return false;
	a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (a == MAP_FAILED)
		return false; /* this channel stays native; the next one tries again */
	shim_area_init(a, now_ns_once());
	/* Two threads making their first channels at once: one area wins. */
	if (!__atomic_compare_exchange_n(&shim.area, &none, a, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		munmap(a, size);
		return true;
	}
	shim.t0_ns = a->t0_ns;
	shim.nchan_start = 0;
	shim.area_deferred = false;
	ef = shim_ef_new(SHIM_ICF_PROCESS, -1, shim_pid, shim_pid);
	shim_ef_set_name(ef);
	shim_self = ef;
	return true;
}

int32_t shim_ef_new(uint32_t icf, int32_t parent, int32_t pid, int32_t tid)
{
	struct shim_area *a = shim.area;
	uint32_t i;
	struct shim_ef *e;

	if (!a)
		return -1;
	i = atomic_fetch_add(&a->nef, 1);
	if (i >= SHIM_MAX_EF) {
		atomic_fetch_sub(&a->nef, 1);
		atomic_fetch_add(&a->ef_unrecorded, 1);
		return -1;
	}
	e = &a->ef[i];
	e->icf = icf;
	e->parent = parent;
	e->pid = pid;
	e->tid = tid;
	e->start_ns = ef_stamp_ns(icf);
	atomic_store(&e->threads, 0);
	/* Written only when set: the page is copy-on-write after each fork. */
	if (shim_light)
		shim_light = 0;
	if (icf == SHIM_ICF_THREAD && shim_self >= 0)
		atomic_fetch_add(&a->ef[shim_self].threads, 1);
	atomic_store(&e->end, SHIM_END_RUNNING);
	if (parent >= 0 && (uint32_t)parent < SHIM_MAX_EF)
		memcpy(e->name, a->ef[parent].name, SHIM_NAME_MAX);
	atomic_store_explicit(&e->used, 1, memory_order_release);
	if (icf == SHIM_ICF_PROCESS && pid > 0)
		shim_ef_index_pid((int32_t)i, pid);
	return (int32_t)i;
}

void shim_ef_index_pid(int32_t ef, int32_t pid)
{
	struct shim_area *a = shim.area;
	int32_t cur;

	if (!a || ef < 0 || ef >= SHIM_MAX_EF || pid <= 0 || (uint32_t)pid >= SHIM_PID_SLOTS)
		return;
	/* The newest record wins, as the table's search from its end would
	 * find it; an older one named by the slot is replaced. */
	cur = atomic_load(&a->pid_ef[pid]);
	while (cur - 1 < ef && !atomic_compare_exchange_weak(&a->pid_ef[pid], &cur, ef + 1))
		;
}

void shim_ef_end(int32_t ef, uint32_t how, int64_t value)
{
	struct shim_ef *e;
	uint32_t running = SHIM_END_RUNNING;

	if (!shim.area || ef < 0 || ef >= SHIM_MAX_EF)
		return;
	e = &shim.area->ef[ef];
	/* The first report wins, except that what the parent's wait learned
	 * (an exit code or a signal) overrides a guess. */
	e->value = value;
	if (!atomic_compare_exchange_strong(&e->end, &running, how)) {
		if (how == SHIM_END_SIGNAL || (how == SHIM_END_EXIT && running == SHIM_END_UNKNOWN))
			atomic_store(&e->end, how);
		else
			return;
	}
	atomic_store(&e->end_ns, ef_stamp_ns(e->icf));
}

static bool ef_is_process_of(const struct shim_area *a, int32_t i, int32_t pid)
{
	const struct shim_ef *e = &a->ef[i];

	return atomic_load_explicit(&e->used, memory_order_acquire) && e->icf == SHIM_ICF_PROCESS && e->pid == pid;
}

/* The newest process EF of @pid still running (or ended but unreaped). */
int32_t shim_ef_find_pid(int32_t pid)
{
	struct shim_area *a = shim.area;
	uint32_t n;
	int32_t hit;

	if (!a)
		return -1;
	/* The index: every record given a pid is in it (shim_ef_index_pid),
	 * so an empty slot means none, without reading the table (8,192
	 * records, 768 KiB, for every new image of a busy run).  A slot whose
	 * record does not match (the area is writable by every process of
	 * the run) falls back to the search. */
	if (pid > 0 && (uint32_t)pid < SHIM_PID_SLOTS) {
		hit = atomic_load(&a->pid_ef[pid]) - 1;
		if (hit == -1)
			return -1;
		if (hit >= 0 && hit < SHIM_MAX_EF && ef_is_process_of(a, hit, pid))
			return hit;
	}
	n = atomic_load(&a->nef);
	if (n > SHIM_MAX_EF)
		n = SHIM_MAX_EF;
	for (uint32_t i = n; i-- > 0;)
		if (ef_is_process_of(a, (int32_t)i, pid))
			return (int32_t)i;
	return -1;
}

void shim_ef_set_name(int32_t ef)
{
	char buf[SHIM_NAME_MAX] = "";

	_Static_assert(SHIM_NAME_MAX > 16, "PR_GET_NAME writes 16 bytes");
	if (!shim.area || ef < 0)
		return;
	/* The comm, as /proc/self/comm shows it: one system call, not three. */
	if (prctl(PR_GET_NAME, buf) != 0 || !buf[0])
		return;
	memcpy(shim.area->ef[ef].name, buf, SHIM_NAME_MAX);
}

/* The process is ending (exit, _exit, return from main): record how, and
 * end its threads that are still running. */
void shim_threads_end(int32_t pid)
{
	struct shim_area *a = shim.area;
	uint32_t n;

	if (!a)
		return;
	n = atomic_load(&a->nef);
	if (n > SHIM_MAX_EF)
		n = SHIM_MAX_EF;
	for (uint32_t i = 0; i < n; i++) {
		struct shim_ef *e = &a->ef[i];

		if (atomic_load(&e->used) && e->icf == SHIM_ICF_THREAD && e->pid == pid &&
		    atomic_load(&e->end) == SHIM_END_RUNNING)
			shim_ef_end((int32_t)i, SHIM_END_WITH_PROCESS, 0);
	}
}

void shim_process_ending(uint32_t how, int64_t value)
{
	/* The caller (process_ending) checked that this is our process. */
	if (!shim.area || shim_light)
		return;
	if (shim_self >= 0 && atomic_load(&shim.area->ef[shim_self].threads))
		shim_threads_end(shim_pid);
	if (shim_self >= 0)
		shim_ef_end(shim_self, how, value);
}

/* ---- channels --------------------------------------------------------------- */

/* The index from a kernel object's inode to its channel (area.h: ino_chan). */
static uint32_t ino_slot(uint64_t dev, uint64_t ino)
{
	uint64_t h = (ino ^ dev * 0x9e3779b97f4a7c15ull) * 0xff51afd7ed558ccdull;

	return (uint32_t)(h >> 32) & (SHIM_INO_SLOTS - 1);
}

static bool chan_is(const struct shim_chan *c, uint64_t dev, uint64_t ino)
{
	return c->dev == dev && (c->ino[0] == ino || c->ino[1] == ino);
}

/* Index channel @ch (recorded, used set) under (@dev, @ino). */
static void ino_index(struct shim_area *a, int32_t ch, uint64_t dev, uint64_t ino)
{
	uint32_t s = ino_slot(dev, ino);

	if (!ino)
		return;
	if (atomic_fetch_add(&a->ino_keys, 1) >= SHIM_INO_SLOTS / 4 * 3) {
		atomic_fetch_sub(&a->ino_keys, 1);
		atomic_fetch_add(&a->ino_full, 1);
		return;
	}
	for (uint32_t n = 0; n < SHIM_INO_SLOTS; n++, s = (s + 1) & (SHIM_INO_SLOTS - 1)) {
		int32_t cur = atomic_load(&a->ino_chan[s]);

		if (cur == 0 && atomic_compare_exchange_strong(&a->ino_chan[s], &cur, ch + 1))
			return;
		if (cur > 0 && cur <= SHIM_MAX_CHAN && chan_is(&a->chan[cur - 1], dev, ino)) {
			/* The kernel gave a freed object's inode number to a new
			 * one: the newer channel takes the key. */
			for (int k = 0; k < 16 && cur - 1 < ch; k++)
				if (atomic_compare_exchange_weak(&a->ino_chan[s], &cur, ch + 1))
					break;
			atomic_fetch_sub(&a->ino_keys, 1);
			return;
		}
	}
}

/* The linear search, for keys the index had no room for. */
static int32_t ino_scan(struct shim_area *a, uint64_t dev, uint64_t ino)
{
	uint32_t n = atomic_load(&a->nchan);

	if (n > SHIM_MAX_CHAN)
		n = SHIM_MAX_CHAN;
	for (uint32_t i = n; i-- > 0;)
		if (atomic_load_explicit(&a->chan[i].used, memory_order_acquire) && chan_is(&a->chan[i], dev, ino))
			return (int32_t)i;
	return -1;
}

static void fd_ino(int fd, uint64_t *dev, uint64_t *ino)
{
	struct stat st;

	if (fd >= 0 && fstat(fd, &st) == 0) {
		*dev = st.st_dev;
		*ino = st.st_ino;
	}
}

int32_t shim_chan_new(uint32_t kind, int fd0, int fd1)
{
	struct shim_area *a = shim.area;
	struct shim_chan *c;
	uint32_t i;

	if (!a)
		return -1;
	i = atomic_fetch_add(&a->nchan, 1);
	if (i >= SHIM_MAX_CHAN) {
		atomic_fetch_sub(&a->nchan, 1);
		atomic_fetch_add(&a->chan_unrecorded[kind < 8 ? kind : 0], 1);
		return -1;
	}
	c = &a->chan[i];
	c->kind = kind;
	c->creator = shim_current_ef();
	c->ring = -1;
	fd_ino(fd0, &c->dev, &c->ino[0]);
	if (kind == SHIM_CH_PIPE)
		c->ino[1] = c->ino[0];
	else
		fd_ino(fd1, &c->dev, &c->ino[1]);
	c->created_ns = shim_now_ns() - shim.t0_ns;
	shim_light = 0;
	atomic_store_explicit(&c->used, 1, memory_order_release);
	ino_index(a, (int32_t)i, c->dev, c->ino[0]);
	if (c->ino[1] != c->ino[0])
		ino_index(a, (int32_t)i, c->dev, c->ino[1]);
	return (int32_t)i;
}

/* Channel @ch stays on its kernel mechanism from birth, because @why. */
void shim_chan_native(int32_t ch, const char *why)
{
	struct shim_chan *c;

	if (!shim.area || ch < 0 || ch >= SHIM_MAX_CHAN)
		return;
	c = &shim.area->chan[ch];
	if (!atomic_load(&c->upgraded) && !c->why[0])
		snprintf(c->why, sizeof(c->why), "%s", why);
}

/* The newest channel whose kernel object is (@dev, @ino); *@ret_end: which end. */
int32_t shim_chan_find_ino(uint64_t dev, uint64_t ino, int *ret_end)
{
	struct shim_area *a = shim.area;
	uint32_t s = ino_slot(dev, ino);
	int32_t ch = -1;

	if (!a || !ino)
		return -1;
	for (uint32_t n = 0; n < SHIM_INO_SLOTS; n++, s = (s + 1) & (SHIM_INO_SLOTS - 1)) {
		int32_t v = atomic_load(&a->ino_chan[s]);

		if (v <= 0 || v > SHIM_MAX_CHAN)
			break;
		if (atomic_load_explicit(&a->chan[v - 1].used, memory_order_acquire) &&
		    chan_is(&a->chan[v - 1], dev, ino)) {
			ch = v - 1;
			break;
		}
	}
	if (atomic_load(&a->ino_full)) {
		int32_t newer = ino_scan(a, dev, ino);

		if (newer > ch)
			ch = newer;
	}
	if (ch >= 0)
		*ret_end = a->chan[ch].ino[0] == ino ? 0 : 1;
	return ch;
}

/* After exec: learn which inherited fds are recorded channels, so their
 * bytes are counted and a channel on a ring stays on it. */
void shim_fds_rebuild(void)
{
	char buf[4096];
	uint64_t held = 0;
	int dir;
	long n;

	if (!shim.area)
		return;
	/* No channel recorded before this image started (the run's first
	 * image, or none made so far): no inherited fd can be one, no ring
	 * hold was passed on, and the scan of /proc/self/fd (a dozen system
	 * calls) would find nothing. */
	if (!shim.nchan_start)
		return;
	/* Rings whose holds the exec'ing image passed on: already counted. */
	if (shim_self >= 0 && shim_self < SHIM_MAX_EF)
		held = atomic_exchange(&shim.area->ef[shim_self].held_fds, 0);
	dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return;
	while ((n = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			struct stat st;
			int fd = atoi(d->d_name), end = 0;
			int32_t ch;

			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9' || fd == dir || fd >= SHIM_FD_MAX)
				continue;
			if (fstat(fd, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
				continue;
			ch = shim_chan_find_ino(st.st_dev, st.st_ino, &end);
			if (ch < 0)
				continue;
			if (shim.area->chan[ch].kind == SHIM_CH_PIPE) {
				int fl = REAL(fcntl)(fd, F_GETFL);

				end = (fl & O_ACCMODE) == O_WRONLY ? 1 : 0;
			}
			shim.fd[fd].chan = ch + 1;
			shim.fd[fd].end = (uint8_t)end;
			if (fd >= shim.fd_hi)
				shim.fd_hi = fd + 1;
			shim.fd[fd].ring = 0;
			shim.fd[fd].pair = 0;
			/* The kernel's flag, which the last image may have set
			 * unseen.  A failed F_GETFL (-1) has O_PATH set too. */
			shim_ready_set_nonblock(&shim.fd[fd],
						(REAL(fcntl)(fd, F_GETFL) & (O_NONBLOCK | O_PATH)) == O_NONBLOCK);
			if (shim.area->chan[ch].ring >= 0 && shim.area->chan[ch].ring < SHIM_MAX_RING) {
				struct shim_ring *r = &shim.area->ring[shim.area->chan[ch].ring];

				if (atomic_load(&r->mode) != SHIM_RING_FREE && r->chan == ch) {
					shim.fd[fd].ring = 1;
					shim.fd[fd].gen = atomic_load(&r->gen);
					if (!(fd < SHIM_EXEC_KEEP_FDS && (held >> fd & 1)))
						shim_ring_hold(&shim.fd[fd], 1);
				}
			}
		}
	}
	REAL(close)(dir);
}
