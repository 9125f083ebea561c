/* SPDX-License-Identifier: MIT */
/*
 * A lazy restore never lets the EF read a chunk that fails its check.
 * A genuine image of an EF with a 2 MiB buffer gets one byte flipped in
 * the middle of that buffer (chunk table and header untouched: the
 * chunk's own checksum must catch it).  Restored eagerly, the image is
 * refused as corrupted.  Restored lazily, the restore succeeds (header,
 * tables and saved context are sound), the EF runs, and when it reaches
 * the bad chunk it is ended there, killed by SIGBUS, never reading the
 * flipped byte (it would return 99), with one line on stderr naming the
 * chunk; its join says so and returns the chunk's error, and the process
 * that restored it goes on (it starts and joins another EF, which exits
 * with 7).
 */
#include <sys/mman.h>

#include "image-forge.h"

#define BUF_SIZE ((size_t)2 << 20)
#define PATTERN 0x5a

struct shared {
	atomic_int filled;
	uint64_t buf;
};
static struct shared *sh;

static int reader(void *arg)
{
	unsigned char *b = xos_malloc(BUF_SIZE);

	(void)arg;
	if (!b)
		return 2;
	memset(b, PATTERN, BUF_SIZE);
	sh->buf = (uint64_t)(uintptr_t)b;
	atomic_store(&sh->filled, 1);
	/* Dumped while here; the restored EF goes on from here. */
	for (int i = 0; i < 100; i++) {
		usleep(2000);
		xos_ef_yield();
	}
	for (size_t i = 0; i < BUF_SIZE; i++)
		if (b[i] != PATTERN)
			return 99; /* a byte that was not verified */
	return 0;
}

static void make_image(const char *path)
{
	pid_t pid;
	int st;

	t_domains_require();
	pid = fork();
	if (pid < 0)
		t_fail("fork");
	if (pid == 0) {
		struct xos_ef_attr attr;
		struct xos_ef *ef;
		int rc;

		xos_ef_attr_init(&attr);
		attr.icf = "thread";
		attr.flags = XOS_EF_F_DOMAIN;
		attr.domain_size = 8 << 20;
		rc = xos_ef_create(&ef, &attr, reader, NULL, 0);
		if (rc < 0)
			_exit(3);
		while (!atomic_load(&sh->filled))
			usleep(1000);
		rc = xos_ef_dump(ef, path);
		xos_ef_join(ef, NULL);
		_exit(rc < 0 ? 3 : 0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		t_fail("could not make a genuine image");
}

static int put_int(int fd, int v)
{
	return write(fd, &v, sizeof(v)) == sizeof(v) ? 0 : -1;
}

static int get_int(int fd, int *v)
{
	return read(fd, v, sizeof(*v)) == sizeof(*v) ? 0 : -1;
}

static int seven(void *arg)
{
	(void)arg;
	return 7;
}

/*
 * Restore in a child with stderr into @log; its restore result in *@rc,
 * the join's in *@join, how the EF ended in *@how and *@status, what an
 * EF started after it returned in *@after; how the child ended returned.
 */
static int restore_child(const char *path, const char *log, bool eager, bool bus_after, int *rc, int *join,
			 int *how, int *status, int *after)
{
	int pfd[2], st;
	pid_t pid;

	if (pipe(pfd) < 0)
		t_fail("pipe");
	pid = fork();
	if (pid == 0) {
		struct xos_ef_exit ex = { 0 };
		struct xos_ef *ef;
		int r, fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(4);
		if (eager)
			setenv("XOS_RESTORE_EAGER", "1", 1);
		alarm(20);
		r = xos_ef_restore(path, &ef);
		if (write(pfd[1], &r, sizeof(r)) != sizeof(r))
			_exit(4);
		if (r == 0) {
			struct xos_ef_attr attr;
			struct xos_ef *next;
			struct xos_ef_exit nx = { 0 };
			int end_how, a = -1;

			r = xos_ef_join(ef, &ex);
			end_how = (int)ex.how;
			/* The process goes on: another EF runs and is joined. */
			xos_ef_attr_init(&attr);
			attr.icf = "thread";
			if (xos_ef_create(&next, &attr, seven, NULL, 0) == 0 && xos_ef_join(next, &nx) == 0 &&
			    nx.how == XOS_EF_EXITED)
				a = nx.status;
			if (put_int(pfd[1], r) < 0 || put_int(pfd[1], end_how) < 0 ||
			    put_int(pfd[1], ex.status) < 0 || put_int(pfd[1], a) < 0)
				_exit(4);
			if (bus_after) {
				/* A SIGBUS of its own (a mapped file cut short) still ends the process. */
				char tmp[] = "/tmp/xos-lazy-bus-XXXXXX";
				int tfd = mkstemp(tmp);
				volatile unsigned char *m;

				if (tfd < 0 || ftruncate(tfd, 4096) < 0)
					_exit(5);
				m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, tfd, 0);
				unlink(tmp);
				if (m == MAP_FAILED || ftruncate(tfd, 0) < 0)
					_exit(5);
				(void)m[0];
				_exit(6);
			}
		}
		_exit(0);
	}
	close(pfd[1]);
	*rc = 1;
	*join = *how = *status = *after = -1;
	if (read(pfd[0], rc, sizeof(*rc)) != sizeof(*rc))
		*rc = 1;
	if (get_int(pfd[0], join) < 0 || get_int(pfd[0], how) < 0 || get_int(pfd[0], status) < 0 ||
	    get_int(pfd[0], after) < 0)
		*join = *how = *status = *after = -1;
	close(pfd[0]);
	if (waitpid(pid, &st, 0) != pid)
		t_fail("waitpid");
	return st;
}

static bool log_has(const char *log, const char *what)
{
	char buf[4096];
	FILE *f = fopen(log, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return strstr(buf, what) != NULL;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/xos-lazy-XXXXXX", img[256], log[256];
	struct t_image im;
	uint64_t base, off, data = 0, at = 0;
	int rc, join, how, status, after, st;

	(void)argc;
	t_fixed_layout(argv);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || !mkdtemp(dir))
		t_fail("setup");
	snprintf(img, sizeof(img), "%s/img", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	make_image(img);
	t_load(&im, img);

	/* The buffer's middle: which extent holds it, and where its bytes are in the file. */
	base = t_u64(&im, im.dom_off);
	off = sh->buf + BUF_SIZE / 2 - base;
	for (uint32_t i = 0; i < im.nextents && !at; i++) {
		uint64_t eo = t_u64(&im, im.ext_off + i * EXT_REC), el = t_u64(&im, im.ext_off + i * EXT_REC + 8);

		if (off >= eo && off < eo + el)
			at = im.data_at + data + (off - eo);
		data += el;
	}
	if (!at || at >= im.len || im.b[at] != PATTERN)
		t_fail("the buffer's middle is not where the image says");
	im.b[at] ^= 0xff;
	t_save(&im, img);

	st = restore_child(img, log, true, false, &rc, &join, &how, &status, &after);
	if (!WIFEXITED(st) || rc != -EBADMSG)
		t_fail("eager restore of a corrupted chunk: %d (%s), want refused as corrupted", rc,
		       rc < 0 ? xos_image_error(rc) : "accepted");
	printf("eager: %s\n", xos_image_error(rc));

	st = restore_child(img, log, false, false, &rc, &join, &how, &status, &after);
	if (rc != 0)
		t_fail("lazy restore refused (%s): header and tables are sound", xos_image_error(rc));
	if (how == XOS_EF_EXITED && status == 99)
		t_fail("the EF read the corrupted byte");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		t_fail("the process that restored it did not go on: ended %s %d",
		       WIFSIGNALED(st) ? "by signal" : "with exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	if (how != XOS_EF_KILLED || status != SIGBUS)
		t_fail("the EF ended how=%d status=%d: want killed by SIGBUS at the bad chunk", how, status);
	if (join != -EBADMSG)
		t_fail("its join returned %d (%s): want the chunk's error", join,
		       join < 0 ? xos_image_error(join) : "0");
	if (after != 7)
		t_fail("an EF started after it did not run: %d", after);
	if (!log_has(log, "is corrupted; its pages raise SIGBUS"))
		t_fail("no line naming the bad chunk on stderr");
	printf("lazy: restored, the EF killed by SIGBUS at the bad chunk alone, reported; the process went on\n");

	/* Any other SIGBUS is the process's, as before: the runtime's handler takes only its EF's. */
	st = restore_child(img, log, false, true, &rc, &join, &how, &status, &after);
	if (rc != 0 || how != XOS_EF_KILLED || after != 7)
		t_fail("second lazy restore: rc %d, how %d, after %d", rc, how, after);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGBUS)
		t_fail("a SIGBUS of the program's own (a file mapping cut short) did not end it: %s %d",
		       WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	printf("a SIGBUS of the program's own still ends it\n");
	snprintf(img, sizeof(img), "rm -rf %s", dir);
	return system(img) == 0 ? T_EXIT_PASS : T_EXIT_FAIL;
}
