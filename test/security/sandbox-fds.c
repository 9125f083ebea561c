/* SPDX-License-Identifier: MIT */
/*
 * Attack: the "leaked fd" class of container escapes.  The creator holds
 * descriptors the sandboxed EF was never given: a host file it opened, a
 * pipe of its own (as a runtime's), and what the runtime holds for a
 * sibling EF (a domain EF in a process: its control socket pair, its
 * channel end).  The sandboxed EF, given only one channel, lists
 * /proc/self/fd: besides standard input, output and error it must find
 * only descriptors the creator did not hold before that channel was made,
 * and its channel must still work.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "priv-helpers.h"

#define SNAP_MAX 128

/* What the creator held, by identity (numbers may be reused). */
struct snap {
	int n;
	struct {
		dev_t dev;
		ino_t ino;
		int fd;
	} f[SNAP_MAX];
};

static void snap_take(struct snap *s)
{
	struct stat st;

	s->n = 0;
	for (int fd = 3; fd < 1024 && s->n < SNAP_MAX; fd++) {
		if (fstat(fd, &st) < 0)
			continue;
		s->f[s->n].dev = st.st_dev;
		s->f[s->n].ino = st.st_ino;
		s->f[s->n].fd = fd;
		s->n++;
	}
}

struct arg {
	struct snap held;
	struct xos_chan *end; /* the one channel end the EF was given */
};

static int attacker(void *p)
{
	const struct arg *a = p;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int leaked = 0, own = 0;

	if (!d)
		return 64;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		struct stat st;
		char link[256] = "";

		if (e->d_name[0] == '.' || fd <= 2 || fd == dirfd(d) || fstat(fd, &st) < 0)
			continue;
		own++;
		for (int i = 0; i < a->held.n; i++) {
			if (a->held.f[i].dev != st.st_dev || a->held.f[i].ino != st.st_ino)
				continue;
			snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
			char target[256];
			ssize_t n = readlink(link, target, sizeof(target) - 1);

			target[n > 0 ? n : 0] = '\0';
			t_say("  EF holds fd %d (%s): the creator's fd %d\n", fd, target, a->held.f[i].fd);
			leaked = 1;
		}
	}
	closedir(d);
	/* Its own channel still works. */
	ssize_t sent = xos_chan_send(a->end, "ok", 2);

	if (sent != 2) {
		t_say("  EF's channel is broken: %s (%s)\n", strerror(sent < 0 ? (int)-sent : 0),
		      xos_chan_mechanism(a->end));
		return 2;
	}
	t_say("  EF holds %d descriptor(s) beyond stdio\n", own);
	return leaked;
}

static int sibling(void *p)
{
	char buf[8];

	(void)p;
	/* Waits until the creator says it is done. */
	return xos_chan_recv(*(struct xos_chan **)p, buf, sizeof(buf)) < 0;
}

int main(void)
{
	struct xos_chan *sib[2], *mine[2];
	struct xos_ef_attr attr;
	struct xos_ef_exit ex, sib_ex;
	struct xos_ef *sib_ef;
	struct xos_chan_attr cattr;
	struct arg a;
	char buf[8];
	int pipefd[2], file, rc, failed;

	t_sandbox_require();
	/* A host file and a pipe the creator holds for itself. */
	file = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (file < 0 || pipe(pipefd) < 0) {
		printf("not ok: setting up: %s\n", strerror(errno));
		return T_FAIL;
	}
	/* A sibling EF in a process, with a domain and a channel to the creator. */
	xos_chan_attr_init(&cattr);
	if ((rc = xos_chan_open(sib, &cattr)) < 0) {
		printf("not ok: xos_chan_open: %s\n", strerror(-rc));
		return T_FAIL;
	}
	xos_ef_attr_init(&attr);
	attr.icf = "process";
	attr.flags = XOS_EF_F_DOMAIN;
	attr.chans = &sib[1];
	attr.nchans = 1;
	rc = xos_ef_create(&sib_ef, &attr, sibling, &sib[1], sizeof(sib[1]));
	if (rc == -EOPNOTSUPP) { /* no domains in this libxos: the sibling's mappings are not the point */
		attr.flags &= ~XOS_EF_F_DOMAIN;
		rc = xos_ef_create(&sib_ef, &attr, sibling, &sib[1], sizeof(sib[1]));
	}
	if (rc < 0) {
		printf("not ok: sibling xos_ef_create: %s\n", strerror(-rc));
		return T_FAIL;
	}
	/* Everything held now is not the sandboxed EF's. */
	snap_take(&a.held);
	cattr.flags = XOS_CHAN_F_BIDIR; /* the EF answers on it */
	if ((rc = xos_chan_open(mine, &cattr)) < 0) {
		printf("not ok: xos_chan_open: %s\n", strerror(-rc));
		return T_FAIL;
	}
	a.end = mine[1];
	ex = t_sandbox_run_chans(NULL, &mine[1], 1, attacker, &a, sizeof(a));
	failed = t_expect_stopped("descriptors leaking into a sandbox", ex);
	if (xos_chan_recv(mine[0], buf, sizeof(buf)) != 2) {
		printf("not ok: nothing came over the EF's channel\n");
		failed = 1;
	}
	xos_chan_send(sib[0], "end", 3);
	if (xos_ef_join(sib_ef, &sib_ex) < 0 || sib_ex.how != XOS_EF_EXITED || sib_ex.status != 0) {
		printf("not ok: the sibling EF did not end well\n");
		failed = 1;
	}
	close(file);
	close(pipefd[0]);
	close(pipefd[1]);
	return failed ? T_FAIL : T_PASS;
}
