/* SPDX-License-Identifier: MIT */
/*
 * Which signal handlers ran in this thread, so that a wait the shim does
 * in user space ends as the kernel's would.
 *
 * A blocking read or write on a ring sleeps on a futex or in read() on
 * the kernel object, after spinning and copying in user space.  The
 * kernel ends a blocking pipe call on a signal (EINTR, a short count, or
 * a restart under SA_RESTART), but only if the signal arrives while the
 * thread is inside the system call: a handler that runs while the shim
 * spins or copies leaves no trace, and the call went on waiting (a
 * program that cuts a full pipe's write short with alarm() hung).  So
 * the shim installs its own entry in front of every handler the program
 * installs with sigaction() or signal(): it counts the signal in the
 * thread (async-signal-safe: one TLS increment), remembers whether the
 * handler asked for SA_RESTART, and calls the program's handler with the
 * arguments the kernel gave.  The program sees its own handler whenever
 * it asks (sigaction's old action, signal's return).
 *
 * Handlers installed behind the shim's back (a raw rt_sigaction, glibc's
 * internal calls) are not counted; the waits then fall back on asking
 * every installed handler's SA_RESTART (ring.c).
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include "shim_i.h"

/* The program's actions, by signal number.  Written before the shim's
 * entry is installed for that signal, read by the entry. */
static struct sigaction program[NSIG];

__thread uint32_t shim_signals_handled __attribute__((tls_model("initial-exec")));
static __thread uint8_t last_restarts __attribute__((tls_model("initial-exec")));

static void entry(int sig, siginfo_t *info, void *uc)
{
	const struct sigaction *a = &program[sig];

	shim_signals_handled++;
	last_restarts = (a->sa_flags & SA_RESTART) != 0;
	if (a->sa_flags & SA_SIGINFO) {
		if (a->sa_sigaction)
			a->sa_sigaction(sig, info, uc);
	} else if (a->sa_handler != SIG_DFL && a->sa_handler != SIG_IGN && a->sa_handler) {
		a->sa_handler(sig);
	}
}

bool shim_signal_restarts(void)
{
	return last_restarts;
}

static bool is_entry(const struct sigaction *a)
{
	return (a->sa_flags & SA_SIGINFO) && a->sa_sigaction == entry;
}

SHIM_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction mine, before;
	int rc;

	/* Bad numbers, SIGKILL, SIGSTOP, bad pointers: the kernel's answer.  A
	 * vfork child's handlers are its own (until it execs), but `program`
	 * is the parent's: the child's go to the kernel as they are. */
	if (sig <= 0 || sig >= NSIG || !act || act->sa_handler == SIG_DFL || act->sa_handler == SIG_IGN ||
	    shim_vforked) {
		rc = REAL(sigaction)(sig, act, old);
		if (rc == 0 && old && sig > 0 && sig < NSIG && is_entry(old))
			*old = program[sig];
		return rc;
	}
	before = program[sig];
	program[sig] = *act;
	mine = *act;
	mine.sa_flags |= SA_SIGINFO;
	mine.sa_sigaction = entry;
	rc = REAL(sigaction)(sig, &mine, old);
	if (rc != 0) {
		program[sig] = before;
		return rc;
	}
	if (old && is_entry(old))
		*old = before;
	return 0;
}

/* glibc's signal(): BSD semantics, the handler stays and calls restart. */
SHIM_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	struct sigaction act, old;

	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	act.sa_flags = SA_RESTART;
	if (sig > 0 && sig < NSIG)
		sigaddset(&act.sa_mask, sig);
	if (sigaction(sig, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

/* Declared by <signal.h> only for old X/Open levels. */
sighandler_t bsd_signal(int sig, sighandler_t handler);

SHIM_EXPORT sighandler_t bsd_signal(int sig, sighandler_t handler)
{
	return signal(sig, handler);
}
