/* SPDX-License-Identifier: MIT */
/*
 * posix_spawn: the rings a spawned program inherits below fd 64 stay on
 * their rings, as a fork child's and a vfork child's do.
 *
 * glibc's posix_spawn runs the child's file actions and its exec inside
 * libc, with internal calls no interposer sees.  So the shim learns the
 * actions as the program adds them (the posix_spawn_file_actions_add*
 * calls are interposed and kept in a shadow beside each actions object),
 * works out which parent fd each of the child's first 64 fds will be, and
 * before the spawn holds each ring the child keeps, on the child's behalf:
 * the parent may close its end the moment posix_spawn returns, before the
 * new image has counted its own holds.  Those holds are the spawn's until
 * the parent reaps the child (its wait), exits or execs; the new image
 * takes its own as any image that inherits a ring does.  A ring the child
 * would reach at fd 64 or above goes back to the kernel first.
 *
 * What the shim cannot follow keeps the old way (every ring the child
 * could reach moves back): an actions object it did not see made, more
 * actions than a shadow holds, more spawns in flight than the table of
 * holds, a program the shim will not reach.  GNU make starts every recipe
 * with posix_spawn and adddup2; so do Rust's std::process::Command and
 * Python's subprocess in some cases.
 */
#include "config.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <string.h>

#include "shim_i.h"

/* The add* functions, found when first used (never by a fork child or a
 * signal handler: only programs building a spawn call them). */
#define SPAWN_REAL(name) \
	static __typeof__(name) *real_##name; \
	if (!real_##name) \
		real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

enum fa_op { FA_CLOSE, FA_DUP2, FA_OPEN, FA_CLOSEFROM };

#define FA_SHADOWS 16
#define FA_ACTIONS 32

struct fa_shadow {
	const posix_spawn_file_actions_t *fa; /* NULL: free */
	uint32_t n;
	bool lost; /* an action not kept: the layout is unknown */
	struct {
		uint8_t op;
		int fd, newfd;
	} act[FA_ACTIONS];
};

static struct fa_shadow shadows[FA_SHADOWS];
static pthread_mutex_t shadow_lock = PTHREAD_MUTEX_INITIALIZER;

static struct fa_shadow *shadow_of(const posix_spawn_file_actions_t *fa)
{
	for (int i = 0; i < FA_SHADOWS; i++)
		if (shadows[i].fa == fa)
			return &shadows[i];
	return NULL;
}

static void shadow_add(const posix_spawn_file_actions_t *fa, enum fa_op op, int fd, int newfd)
{
	struct fa_shadow *s;

	pthread_mutex_lock(&shadow_lock);
	s = shadow_of(fa);
	if (s && s->n < FA_ACTIONS) {
		s->act[s->n].op = (uint8_t)op;
		s->act[s->n].fd = fd;
		s->act[s->n].newfd = newfd;
		s->n++;
	} else if (s) {
		s->lost = true;
	}
	pthread_mutex_unlock(&shadow_lock);
}

SHIM_EXPORT int posix_spawn_file_actions_init(posix_spawn_file_actions_t *fa)
{
	SPAWN_REAL(posix_spawn_file_actions_init);
	int rc = real_posix_spawn_file_actions_init(fa);

	if (rc == 0 && !shim_vforked) {
		pthread_mutex_lock(&shadow_lock);
		struct fa_shadow *s = shadow_of(fa);

		if (!s)
			s = shadow_of(NULL);
		if (s) {
			s->fa = fa;
			s->n = 0;
			s->lost = false;
		}
		pthread_mutex_unlock(&shadow_lock);
	}
	return rc;
}

SHIM_EXPORT int posix_spawn_file_actions_destroy(posix_spawn_file_actions_t *fa)
{
	SPAWN_REAL(posix_spawn_file_actions_destroy);

	if (!shim_vforked) {
		pthread_mutex_lock(&shadow_lock);
		struct fa_shadow *s = shadow_of(fa);

		if (s)
			s->fa = NULL;
		pthread_mutex_unlock(&shadow_lock);
	}
	return real_posix_spawn_file_actions_destroy(fa);
}

SHIM_EXPORT int posix_spawn_file_actions_addclose(posix_spawn_file_actions_t *fa, int fd)
{
	SPAWN_REAL(posix_spawn_file_actions_addclose);
	int rc = real_posix_spawn_file_actions_addclose(fa, fd);

	if (rc == 0 && !shim_vforked)
		shadow_add(fa, FA_CLOSE, fd, -1);
	return rc;
}

SHIM_EXPORT int posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *fa, int fd, int newfd)
{
	SPAWN_REAL(posix_spawn_file_actions_adddup2);
	int rc = real_posix_spawn_file_actions_adddup2(fa, fd, newfd);

	if (rc == 0 && !shim_vforked)
		shadow_add(fa, FA_DUP2, fd, newfd);
	return rc;
}

SHIM_EXPORT int posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *fa, int fd, const char *path,
						 int oflag, mode_t mode)
{
	SPAWN_REAL(posix_spawn_file_actions_addopen);
	int rc = real_posix_spawn_file_actions_addopen(fa, fd, path, oflag, mode);

	if (rc == 0 && !shim_vforked)
		shadow_add(fa, FA_OPEN, fd, -1);
	return rc;
}

SHIM_EXPORT int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *fa, int from)
{
	SPAWN_REAL(posix_spawn_file_actions_addclosefrom_np);
	int rc;

	if (!real_posix_spawn_file_actions_addclosefrom_np)
		return ENOSYS;
	rc = real_posix_spawn_file_actions_addclosefrom_np(fa, from);
	if (rc == 0 && !shim_vforked)
		shadow_add(fa, FA_CLOSEFROM, from, -1);
	return rc;
}

/* ---- the child's fds ------------------------------------------------------------------ */

/* What one child fd will be: a copy of parent fd src (-1: none of the
 * parent's, or not open), and whether it closes at the exec. */
struct child_fd {
	int src;
	bool cloexec;
};

struct layout {
	struct child_fd lo[SHIM_EXEC_KEEP_FDS];
	/* Numbers 64 and above the actions made or closed (the others are the
	 * parent's own fds below closed_from, as they were). */
	struct {
		int fd;
		struct child_fd is;
	} hi[FA_ACTIONS];
	int nhi;
	int closed_from;
};

static struct child_fd *hi_slot(struct layout *L, int fd, bool make)
{
	for (int i = 0; i < L->nhi; i++)
		if (L->hi[i].fd == fd)
			return &L->hi[i].is;
	if (!make || L->nhi >= FA_ACTIONS)
		return NULL;
	L->hi[L->nhi].fd = fd;
	return &L->hi[L->nhi++].is;
}

/* Child fd @fd as the actions so far left it. */
static struct child_fd child_fd(struct layout *L, int fd)
{
	struct child_fd none = { -1, false }, *h;

	if (fd < 0)
		return none;
	if (fd < SHIM_EXEC_KEEP_FDS)
		return L->lo[fd];
	if ((h = hi_slot(L, fd, false)))
		return *h;
	if (fd >= L->closed_from)
		return none;
	int fl = REAL(fcntl)(fd, F_GETFD);

	return fl < 0 ? none : (struct child_fd){ fd, (fl & FD_CLOEXEC) != 0 };
}

static void set_child_fd(struct layout *L, int fd, struct child_fd is)
{
	struct child_fd *h;

	if (fd < 0)
		return;
	if (fd < SHIM_EXEC_KEEP_FDS)
		L->lo[fd] = is;
	else if ((h = hi_slot(L, fd, true)))
		*h = is;
}

/* The child's fds after the actions of @fa (NULL: none); false if the
 * shim cannot tell. */
static bool child_layout(const posix_spawn_file_actions_t *fa, struct layout *L)
{
	struct fa_shadow s = { 0 };

	if (fa) {
		pthread_mutex_lock(&shadow_lock);
		struct fa_shadow *p = shadow_of(fa);

		if (p)
			s = *p;
		pthread_mutex_unlock(&shadow_lock);
		if (!p || s.lost)
			return false;
	}
	L->nhi = 0;
	L->closed_from = SHIM_FD_MAX + 1;
	/* Only a ring's close-on-exec flag matters (the others are never
	 * held): one fcntl per ring fd, not one per number. */
	for (int fd = 0; fd < SHIM_EXEC_KEEP_FDS; fd++) {
		struct shim_fd *f = shim_fd_get(fd);
		int fl = f && f->ring ? REAL(fcntl)(fd, F_GETFD) : 0;

		L->lo[fd] = fl < 0 ? (struct child_fd){ -1, false } : (struct child_fd){ fd, (fl & FD_CLOEXEC) != 0 };
	}
	for (uint32_t i = 0; i < s.n; i++) {
		int fd = s.act[i].fd;
		struct child_fd none = { -1, false };

		switch (s.act[i].op) {
		case FA_CLOSE:
		case FA_OPEN:
			set_child_fd(L, fd, none);
			break;
		case FA_DUP2: {
			/* glibc: a dup2 onto itself clears close-on-exec. */
			struct child_fd from = child_fd(L, fd);

			from.cloexec = false;
			set_child_fd(L, s.act[i].newfd, from);
			break;
		}
		case FA_CLOSEFROM:
			for (int k = fd < 0 ? 0 : fd; k < SHIM_EXEC_KEEP_FDS; k++)
				L->lo[k] = none;
			for (int k = 0; k < L->nhi; k++)
				if (L->hi[k].fd >= fd)
					L->hi[k].is = none;
			if (fd < L->closed_from)
				L->closed_from = fd < SHIM_EXEC_KEEP_FDS ? SHIM_EXEC_KEEP_FDS : fd;
			break;
		}
		if (L->nhi >= FA_ACTIONS)
			return false;
	}
	return true;
}

/* ---- the holds a spawn keeps until its child is reaped ---------------------------------- */

#define SPAWNS 32

struct spawn_holds {
	pid_t owner; /* the process that took them (a fork child's copy is not its own) */
	pid_t child; /* 0: being spawned */
	uint32_t n;
	struct shim_fd held[SHIM_EXEC_KEEP_FDS];
};

static struct spawn_holds spawns[SPAWNS];
static pthread_mutex_t spawns_lock = PTHREAD_MUTEX_INITIALIZER;

static void let_go(struct spawn_holds *h)
{
	for (uint32_t i = 0; i < h->n; i++)
		shim_ring_hold(&h->held[i], -1);
	h->n = 0;
	h->owner = 0;
	atomic_fetch_sub(&shim.spawns_held, 1);
}

struct spawn_holds *shim_spawn_prepare(const posix_spawn_file_actions_t *fa)
{
	struct spawn_holds *h = NULL;
	struct layout L;

	if (!child_layout(fa, &L))
		return NULL;
	pthread_mutex_lock(&spawns_lock);
	for (int i = 0; i < SPAWNS && !h; i++)
		if (spawns[i].owner != shim_pid) {
			h = &spawns[i];
			h->owner = shim_pid;
			h->child = 0;
			h->n = 0;
			atomic_fetch_add(&shim.spawns_held, 1);
		}
	pthread_mutex_unlock(&spawns_lock);
	if (!h)
		return NULL;
	/* Held for the child: the rings it keeps below 64. */
	for (int fd = 0; fd < SHIM_EXEC_KEEP_FDS; fd++) {
		struct shim_fd *f = L.lo[fd].cloexec ? NULL : shim_fd_get(L.lo[fd].src);

		if (shim_fd_on_live_ring(f)) {
			h->held[h->n] = *f;
			shim_ring_hold(&h->held[h->n++], 1);
		}
	}
	/* Back to the kernel: the rings it would reach at 64 or above. */
	for (int i = 0; i < L.nhi; i++) {
		struct shim_fd *f = L.hi[i].is.cloexec ? NULL : shim_fd_get(L.hi[i].is.src);

		if (shim_fd_on_live_ring(f))
			shim_ring_downgrade(L.hi[i].is.src, f, "spawn with the fd beyond the first 64", true);
	}
	for (int fd = SHIM_EXEC_KEEP_FDS; fd < shim.fd_hi && fd < L.closed_from; fd++) {
		struct shim_fd *f = shim_fd_get(fd);
		struct child_fd is;

		if (!shim_fd_on_live_ring(f) || hi_slot(&L, fd, false))
			continue;
		is = child_fd(&L, fd);
		if (is.src == fd && !is.cloexec)
			shim_ring_downgrade(fd, f, "spawn with the fd beyond the first 64", true);
	}
	return h;
}

void shim_spawn_done(struct spawn_holds *h, int rc, pid_t child)
{
	if (!h)
		return;
	pthread_mutex_lock(&spawns_lock);
	if (rc == 0 && child > 0)
		h->child = child;
	else
		let_go(h);
	pthread_mutex_unlock(&spawns_lock);
}

void shim_spawn_reaped(pid_t child)
{
	if (!atomic_load(&shim.spawns_held))
		return;
	pthread_mutex_lock(&spawns_lock);
	for (int i = 0; i < SPAWNS; i++)
		if (spawns[i].owner == shim_pid && spawns[i].child == child)
			let_go(&spawns[i]);
	pthread_mutex_unlock(&spawns_lock);
}

void shim_spawn_release_all(void)
{
	if (!atomic_load(&shim.spawns_held))
		return;
	pthread_mutex_lock(&spawns_lock);
	for (int i = 0; i < SPAWNS; i++)
		if (spawns[i].owner == shim_pid && spawns[i].child > 0)
			let_go(&spawns[i]);
	pthread_mutex_unlock(&spawns_lock);
}
