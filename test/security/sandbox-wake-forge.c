/* SPDX-License-Identifier: MIT */
/*
 * Attack: have the creator signal a process of the attacker's choosing.
 * A request to an EF (mutate, dump, migrate) interrupts the EF's sleep on
 * a channel's descriptor with SIGURG; a sandboxed EF with a memory domain
 * shares its control page with the creator, where a host says which
 * thread sleeps.  The EF writes there the pid of a process outside the
 * sandbox (a victim with a SIGURG handler that counts) and says it sleeps,
 * over and over, while the creator dumps it five times.  The EF found its
 * control page the way an attacker with xos's source would (its own
 * struct xos_ef, through the runtime's internal header).
 * Stopped: the victim counts no SIGURG.  (Before the fix the creator sent
 * one per dump.)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "priv-helpers.h"
#include "xos_i.h"

#define DUMPS 5

struct target {
	pid_t victim;
	char stop[96]; /* a file the creator makes when it is done */
};

/* In the sandbox: name the victim as the thread to wake, and say it sleeps, until told to stop. */
static int forge(void *arg)
{
	const struct target *t = arg;
	struct xos_ef *me = xos_ef_self();
	uint64_t id = (uint64_t)(uint32_t)t->victim << 32 | (uint32_t)t->victim;

	if (!me || !me->ctl)
		return 3;
	for (int i = 0; i < 40000 && access(t->stop, F_OK) != 0; i++) {
		atomic_store(&me->ctl->wake_id, id);
		atomic_store(&me->ctl->sleeping, 1);
		usleep(200);
		xos_ef_yield(); /* answers a dump, then forges again */
	}
	return 0;
}

static volatile sig_atomic_t urgs;

static void count(int sig)
{
	(void)sig;
	urgs++;
}

/* A process outside the sandbox that counts SIGURG until its pipe closes, then writes the count. */
static pid_t victim_start(int *ret_report)
{
	int ctl[2], rep[2];
	pid_t pid;

	if (pipe(ctl) < 0 || pipe(rep) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = count, .sa_flags = SA_RESTART };
		char c;
		int n;

		sigemptyset(&sa.sa_mask);
		sigaction(SIGURG, &sa, NULL);
		close(ctl[1]);
		close(rep[0]);
		while (read(ctl[0], &c, 1) != 0)
			;
		n = urgs;
		_exit(write(rep[1], &n, sizeof(n)) == sizeof(n) ? 0 : 1);
	}
	close(ctl[0]);
	close(rep[1]);
	*ret_report = rep[0];
	/* ctl[1] stays open in this process until exit: the victim's cue to report is its closing. */
	return pid < 0 ? -1 : (ctl[1] >= 0 ? pid : -1);
}

int main(void)
{
	struct target t = { 0 };
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	char path[128];
	int report = -1, got = -1, dumped = 0, rc, ws;
	pid_t victim;

	t_sandbox_require();
	victim = victim_start(&report);
	if (victim < 0) {
		printf("not ok: no victim process\n");
		return T_FAIL;
	}
	t.victim = victim;
	snprintf(t.stop, sizeof(t.stop), "/tmp/xos-wake-forge-stop.%d", (int)getpid());
	unlink(t.stop);
	xos_ef_attr_init(&attr);
	attr.icf = "sandbox";
	attr.flags = XOS_EF_F_DOMAIN;
	attr.domain_size = 1u << 20;
	rc = xos_ef_create(&ef, &attr, forge, &t, sizeof(t));
	if (rc < 0) {
		printf("not ok: xos_ef_create(sandbox, domain): %s\n", strerror(-rc));
		return T_FAIL;
	}
	for (int i = 0; i < DUMPS; i++) {
		usleep(20000); /* it forges meanwhile */
		snprintf(path, sizeof(path), "/tmp/xos-wake-forge.%d.img", (int)getpid());
		dumped += xos_ef_dump(ef, path) == 0;
		unlink(path);
	}
	close(open(t.stop, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	rc = xos_ef_join(ef, &ex);
	unlink(t.stop);
	/* Every descriptor of ours to the victim's pipe closes with this process's others: close them now. */
	for (int fd = 3; fd < 64; fd++)
		if (fd != report)
			close(fd);
	if (read(report, &got, sizeof(got)) != sizeof(got))
		got = -1;
	waitpid(victim, &ws, 0);
	printf("# %d of %d dumps made; the EF %s %d\n", dumped, DUMPS, ex.how == XOS_EF_EXITED ? "exited" : "was killed",
	       ex.status);
	if (rc < 0 || dumped != DUMPS || ex.how != XOS_EF_EXITED || ex.status != 0) {
		printf("not ok: the scenario did not run (join %s)\n", strerror(-rc));
		return T_FAIL;
	}
	if (got != 0) {
		printf("not ok: the creator sent the victim (pid %d, outside the sandbox) SIGURG %d times\n",
		       (int)victim, got);
		return T_FAIL;
	}
	printf("ok: a forged wake target in the control page: the victim outside the sandbox got no signal\n");
	return T_PASS;
}
