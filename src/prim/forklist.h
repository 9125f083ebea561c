/* SPDX-License-Identifier: MIT */
/*
 * Shared primitives (see futex.h): the lists of what is alive in this
 * process (EFs, channel ends), each under a lock that fork() must not
 * find held by another thread.
 *
 * A list is intrusive and doubly linked: @head points at the first
 * object, each object has a @prev and a @next member of its own type
 * (named by the caller, so one object can be on several lists).  The
 * caller holds the list's lock around PUSH and UNLINK.
 *
 * The lock is taken before fork() and released after it in both
 * processes by handlers registered once, on first use, with
 * xos__fork_hook(): what differs between lists is only which locks they
 * take and what the child keeps.
 */
#ifndef XOS_PRIM_FORKLIST_H
#define XOS_PRIM_FORKLIST_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

/* Put @obj first on the list at @head. */
#define XOS__DLIST_PUSH(head, obj, prev, next)         \
	do {                                            \
		(obj)->prev = NULL;                     \
		(obj)->next = (head);                   \
		if (head)                               \
			(head)->prev = (obj);           \
		(head) = (obj);                         \
	} while (0)

/* Take @obj off the list at @head (nothing if it is on none). */
#define XOS__DLIST_UNLINK(head, obj, prev, next)              \
	do {                                                   \
		if ((obj)->prev)                               \
			(obj)->prev->next = (obj)->next;       \
		else if ((head) == (obj))                      \
			(head) = (obj)->next;                  \
		if ((obj)->next)                               \
			(obj)->next->prev = (obj)->prev;       \
		(obj)->prev = (obj)->next = NULL;              \
	} while (0)

/* Registered once: XOS__FORK_HOOK_INIT, then xos__fork_hook() before each use. */
struct xos__fork_hook {
	_Atomic int state; /* 0: not yet, 1: being registered, 2: registered */
};
#define XOS__FORK_HOOK_INIT { 0 }

/*
 * Register @prepare (take the list's locks), @parent and @child (release
 * them; the child may first drop what it does not own) with
 * pthread_atfork() the first time; later calls return at once.  A caller
 * racing the first one waits until the handlers are in place, so no fork
 * can find the list's lock held without them.
 */
static inline void xos__fork_hook(struct xos__fork_hook *h, void (*prepare)(void), void (*parent)(void),
				  void (*child)(void))
{
	int s = 0;

	if (atomic_load_explicit(&h->state, memory_order_acquire) == 2)
		return;
	if (atomic_compare_exchange_strong(&h->state, &s, 1)) {
		pthread_atfork(prepare, parent, child);
		atomic_store_explicit(&h->state, 2, memory_order_release);
		return;
	}
	while (atomic_load_explicit(&h->state, memory_order_acquire) != 2)
		sched_yield();
}

#endif /* XOS_PRIM_FORKLIST_H */
