/* SPDX-License-Identifier: MIT */
/*
 * Waking an EF asleep on a descriptor when it is asked to a safe point.
 *
 * A channel wait is a safe point (xos__ef_wait_word): a ring's wait
 * sleeps on a futex that the request word wakes, but a pipe, unix or tcp
 * end sleeps in the kernel (poll, or a receive with SO_RCVTIMEO), which
 * a futex wake does not reach.  Such a wait looked at the word every
 * CUT_CHECK_MS (20 ms), so a mutate, dump or migration of an EF waiting
 * for its peer waited up to that long before it started.
 *
 * Now the EF says when it sleeps there (ctl->sleeping) and the creator,
 * after it set the request word, sends that thread SIGURG: the sleep ends
 * with EINTR and the wait sees the word.  SIGURG, as Go's runtime uses it
 * for preemption: its default action is to ignore it, so a signal that
 * arrives late (the EF left the wait meanwhile) or in a process that
 * changed its disposition does no harm.  The handler does nothing and has
 * SA_RESTART: read and write in the EF's own code are restarted; poll,
 * nanosleep and the like may return EINTR, as POSIX allows any signal to
 * make them.  It is installed only where the program left SIGURG at its
 * default, and only in processes that host domain EFs; a host whose
 * process has another disposition when it starts is not sent the signal
 * (a program that sets its own SIGURG handler while its EFs run may see
 * it called once for such a request).
 *
 * Whom to signal is decided from the creator's own memory, never from the
 * word the host wrote (ctl->wake_id): the control page is shared with the
 * EF, and a sandboxed EF that wrote another process's ids there would have
 * the creator signal that process.  The thread and process ICFs' hosts
 * share the creator's trust (what they could name, they could signal
 * themselves): the creator signals the thread their host named.  An ICF
 * whose contexts do not (the sandbox: its own pid namespace, seccomp) wakes
 * its EF itself, through its wake operation, from what the creator's side
 * of it knows; an ICF with neither is not signalled (its EFs' waits see
 * the request at their next look, 20 ms).
 */
#include "config.h"

#include <signal.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "xos_i.h"

static void wake_nop(int sig)
{
	(void)sig;
}

/*
 * Is SIGURG this library's no-op here (installed now if the program left
 * it at its default)?  Asked at each host's start: a program that set its
 * own disposition meanwhile keeps it, and is not sent the signal.
 */
static bool handler_ours(void)
{
	struct sigaction old, sa = { .sa_handler = wake_nop, .sa_flags = SA_RESTART };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGURG, NULL, &old) < 0 || (old.sa_flags & SA_SIGINFO))
		return false;
	if (old.sa_handler == wake_nop)
		return true;
	/* Two hosts starting at once may both install it: the same handler. */
	return old.sa_handler == SIG_DFL && sigaction(SIGURG, &sa, NULL) == 0;
}

/* Does @icf wake its own contexts (the ops member, in the table it was built with)? */
static bool icf_wakes(const struct xos_icf *icf)
{
	return icf->ops_size >= offsetof(struct xos_icf_ops, wake) + sizeof(icf->ops->wake) && icf->ops->wake;
}

/* Does the creator signal @icf's hosts by the ids they name? */
static bool icf_trusted(const struct xos_icf *icf)
{
	return icf->features & (XOS_ICF_F_SHARED_MEMORY | XOS_ICF_F_PIVOT);
}

uint64_t xos__wake_id(const struct xos_icf *icf)
{
	if (!(icf_trusted(icf) || icf_wakes(icf)) || !handler_ours())
		return 0;
	/* Where the ICF wakes it, any non-zero word: it only says "tell me you sleep". */
	return (uint64_t)(uint32_t)getpid() << 32 | (uint32_t)syscall(SYS_gettid);
}

void xos__ef_wait_sleeping(bool sleeping)
{
	struct xos_ef *ef = xos_ef_self();
	struct xos__ef_ctl *ctl = ef ? ef->ctl : NULL;

	/* Before the sleep's last look at the word (seq_cst, as the request's store and load). */
	if (ctl && atomic_load_explicit(&ctl->wake_id, memory_order_relaxed))
		atomic_store(&ctl->sleeping, sleeping);
}

void xos__wake_sleeper(struct xos_ef *ef)
{
	uint64_t id;

	/* After the request word's store: either the EF sees the word, or this sees it asleep. */
	if (!atomic_load(&ef->ctl->sleeping) || !ef->ic)
		return;
	/* The core's copy of the table: NULL past the one the ICF was built with. */
	if (ef->icf->ops.wake) {
		(void)ef->icf->ops.wake(ef->ic);
		return;
	}
	if (!icf_trusted(ef->icf->icf))
		return;
	id = atomic_load(&ef->ctl->wake_id);
	/* tgkill names the process too: a thread id reused elsewhere is not hit. */
	if (id)
		(void)syscall(SYS_tgkill, (pid_t)(id >> 32), (pid_t)(uint32_t)id, SIGURG);
}
