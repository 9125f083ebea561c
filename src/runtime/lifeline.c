/* SPDX-License-Identifier: MIT */
/*
 * Lifelines: a process the runtime forks for an EF (a process EF, a
 * sandbox's outer process, the process a thread EF mutates into) dies with
 * the process that forked it, so a SIGKILLed program leaves no EF running
 * reparented to PID 1.
 *
 * The kernel's parent-death signal (PR_SET_PDEATHSIG) does it, with one
 * catch: it fires when the forking *thread* ends, not its process.  A
 * child forked by the main thread gets SIGKILL outright (the main thread
 * ends with the process, unless main() calls pthread_exit()).  A child
 * forked by another thread (a thread EF creating an EF, a thread host
 * mutating to a process) gets LIFELINE_SIG instead, whose handler looks
 * whether the parent process is still there (the child was only handed to
 * another of its threads) and kills its own process only when it is not.
 * Each check after arming closes the race with a parent that died during
 * the fork.
 */
#include "config.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "xos_i.h"

#define LIFELINE_SIG (SIGRTMIN + 6)

static pid_t lifeline_parent;

static void lifeline_handler(int sig)
{
	(void)sig;
	if (getppid() != lifeline_parent)
		syscall(SYS_kill, getpid(), SIGKILL);
}

bool xos__lifeline_forker_main(void)
{
	return syscall(SYS_gettid) == getpid();
}

void xos__lifeline_arm(pid_t parent, bool forker_main)
{
	if (forker_main) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	} else {
		struct sigaction sa = { .sa_handler = lifeline_handler, .sa_flags = SA_RESTART };
		sigset_t set;

		lifeline_parent = parent;
		sigemptyset(&sa.sa_mask);
		sigaction(LIFELINE_SIG, &sa, NULL);
		sigemptyset(&set);
		sigaddset(&set, LIFELINE_SIG);
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
		prctl(PR_SET_PDEATHSIG, LIFELINE_SIG);
	}
	/* The parent died before the line was armed: nobody will signal. */
	if (getppid() != parent)
		syscall(SYS_kill, getpid(), SIGKILL);
}
