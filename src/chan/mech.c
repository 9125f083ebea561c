/* SPDX-License-Identifier: MIT */
/*
 * The registry of mechanisms: what xos_mech_register() adds and the
 * channel layer looks up by name when it binds, switches or takes in a
 * path.  The runtime registers the built-in ones from its table at
 * start-up, next to the built-in ICFs; a program may add its own.
 *
 * Nodes are never freed (a name read from a channel's control block may
 * be looked up at any time), so a registered mechanism's node outlives
 * its registration; an unregistered one is only unlisted, and refused
 * while a path still uses it.
 */
#include "config.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chan_i.h"

static pthread_mutex_t mech_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xos__mech *mech_head; /* every node ever made, registration order */

bool xos__name_ok(const char *name, size_t max)
{
	size_t len = 0;

	if (!name)
		return false;
	for (; name[len]; len++) {
		char c = name[len];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
		if (len >= max)
			return false;
	}
	return len > 0;
}

/* Caller holds mech_lock.  Registered now (an unregistered node has no descriptor). */
static struct xos__mech *find_locked(const char *name)
{
	for (struct xos__mech *m = mech_head; m; m = m->next)
		if (m->desc && strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

const struct xos__mech *xos__mech_find(const char *name)
{
	const struct xos__mech *m;

	if (!name)
		return NULL;
	pthread_mutex_lock(&mech_lock);
	m = find_locked(name);
	pthread_mutex_unlock(&mech_lock);
	return m;
}

void xos__mech_get(const struct xos__mech *m)
{
	atomic_fetch_add_explicit(&((struct xos__mech *)m)->paths, 1, memory_order_relaxed);
}

void xos__mech_put(const struct xos__mech *m)
{
	atomic_fetch_sub_explicit(&((struct xos__mech *)m)->paths, 1, memory_order_release);
}

int xos__mech_register(const struct xos_mech *mech)
{
	const struct xos_mech_ops *ops;
	struct xos__mech *m, **tail;

	if (!mech || !xos__name_ok(mech->name, XOS_CHAN_MECH_MAX - 1) || !mech->ops ||
	    mech->ops_size < offsetof(struct xos_mech_ops, rx_fd) + sizeof(mech->ops->rx_fd) ||
	    mech->ops_size > sizeof(struct xos_mech_ops) || (mech->flags & ~(unsigned int)(XOS_MECH_F_KERNEL | XOS_MECH_F_HOSTS)))
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	memcpy(&m->ops, mech->ops, mech->ops_size);
	ops = &m->ops;
	/* The members every path uses, and one whole way of moving frames. */
	if (!ops->make || !ops->attach || !ops->detach || !ops->rx_fd ||
	    !((ops->tx_reserve && ops->tx_commit && ops->rx_peek && ops->rx_advance && ops->rx_release) ||
	      (ops->writev && ops->read && ops->wait_writable)) ||
	    (ops->readv && !ops->read)) {
		free(m);
		return -EINVAL;
	}
	m->desc = mech;
	m->name = mech->name;
	m->kernel = mech->flags & XOS_MECH_F_KERNEL;
	pthread_mutex_lock(&mech_lock);
	for (tail = &mech_head; *tail; tail = &(*tail)->next) {
		if ((*tail)->desc == mech || ((*tail)->desc && strcmp((*tail)->name, mech->name) == 0)) {
			pthread_mutex_unlock(&mech_lock);
			free(m);
			return -EBUSY;
		}
	}
	*tail = m;
	pthread_mutex_unlock(&mech_lock);
	return 0;
}

int xos_mech_register(const struct xos_mech *mech)
{
	int rc = xos__chan_host->init ? xos__chan_host->init() : 0;

	if (rc < 0)
		return rc;
	rc = xos__mech_register(mech);
	if (rc == 0 && xos__chan_host->mech_registered)
		xos__chan_host->mech_registered(mech);
	return rc;
}

int xos_mech_unregister(const struct xos_mech *mech)
{
	int rc = -EINVAL;

	if (!mech)
		return -EINVAL;
	pthread_mutex_lock(&mech_lock);
	for (struct xos__mech *m = mech_head; m; m = m->next) {
		if (m->desc != mech)
			continue;
		if (atomic_load_explicit(&m->paths, memory_order_acquire)) {
			rc = -EBUSY;
		} else {
			m->desc = NULL; /* unlisted; the node stays for names already handed out */
			rc = 0;
		}
		break;
	}
	pthread_mutex_unlock(&mech_lock);
	return rc;
}

int xos_mech_list(const struct xos_mech **mechs, size_t n)
{
	int rc;

	if (!mechs && n)
		return -EINVAL;
	rc = xos__chan_host->init ? xos__chan_host->init() : 0;
	if (rc < 0)
		return rc;
	return xos__mech_list(mechs, n);
}

int xos__mech_list(const struct xos_mech **mechs, size_t n)
{
	size_t count = 0;

	pthread_mutex_lock(&mech_lock);
	for (struct xos__mech *m = mech_head; m; m = m->next) {
		if (!m->desc)
			continue;
		if (count < n)
			mechs[count] = m->desc;
		count++;
	}
	pthread_mutex_unlock(&mech_lock);
	return (int)count;
}

/* ---- helpers for mechanisms ------------------------------------------------------ */

void xos__close_fds(int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

bool xos__chan_peer_gone(const struct xos_mech_link *link)
{
	struct pollfd pfd = { .fd = link->ctl_sock, .events = POLLRDHUP };

	if (atomic_load_explicit(&link->ctl->closed[!link->idx], memory_order_acquire))
		return true;
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLRDHUP | POLLERR)))
		return true;
	return false;
}

/* With @cut, the word is looked at every CUT_CHECK_MS (and when the sleep is interrupted): -ERESTART once set. */
int xos__chan_wait_fd_cut(const struct xos_mech_link *link, int fd, short events, const _Atomic uint32_t *cut)
{
	struct pollfd pfd[2] = {
		{ .fd = fd, .events = events },
		{ .fd = link->ctl_sock, .events = POLLRDHUP },
	};

	int rc = 0;

	xos__chan_wait_sleeping(cut, true);
	for (;;) {
		if (xos__chan_cut(cut)) {
			rc = -ERESTART;
			break;
		}
		rc = poll(pfd, 2, cut ? CUT_CHECK_MS : -1);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (rc == 0)
			continue;
		if (pfd[0].revents) {
			rc = 0;
			break;
		}
		if (pfd[1].revents & (POLLHUP | POLLRDHUP | POLLERR)) {
			rc = -EPIPE;
			break;
		}
	}
	xos__chan_wait_sleeping(cut, false);
	return rc;
}

int xos__chan_wait_fd(const struct xos_mech_link *link, int fd, short events)
{
	return xos__chan_wait_fd_cut(link, fd, events, NULL);
}

bool xos_mech_peer_gone(const struct xos_mech_link *link)
{
	return !link || !link->ctl || xos__chan_peer_gone(link);
}

int xos_mech_wait_fd(const struct xos_mech_link *link, int fd, short events)
{
	if (!link || !link->ctl || fd < 0 || !events)
		return -EINVAL;
	return xos__chan_wait_fd(link, fd, events);
}
