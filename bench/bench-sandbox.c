/* SPDX-License-Identifier: MIT */
/*
 * bench-sandbox: what the sandbox ICF costs over the process ICF.
 *
 * In one run, interleaved round by round (machine noise hits both sides
 * alike): create+join of an empty EF under the process ICF and under the
 * sandbox ICF (plus raw fork+_exit+waitpid, the native baseline), and an
 * 8-byte round trip between the creator and an EF over a pair of pipes
 * the EF inherited and over xos channels (ring, unix), the EF being a
 * process or a sandbox.  Reports the
 * median round of each and the sandbox/process ratios as
 * `figure: NAME = VALUE UNIT` lines.
 *
 * Usage: bench-sandbox [ROUNDS]   (default 7)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xos.h>

#include "bench.h"

#define CREATE_ITERS 100
#define RTT_ITERS 2000

static int empty_ef(void *arg)
{
	(void)arg;
	return 0;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench-sandbox: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
	exit(1);
}

/* @options: "sandbox.fds=..." names the descriptors a sandboxed EF is given. */
static struct xos_ef *start(const char *icf, const char *options, xos_ef_fn fn, const void *arg,
			    size_t size)
{
	struct xos_ef_attr attr;
	struct xos_ef *ef;
	int rc;

	xos_ef_attr_init(&attr);
	attr.icf = icf;
	attr.options = options;
	rc = xos_ef_create(&ef, &attr, fn, arg, size);
	if (rc < 0)
		die(icf, rc);
	return ef;
}

static void join(struct xos_ef *ef, int want)
{
	struct xos_ef_exit ex;
	int rc = xos_ef_join(ef, &ex);

	if (rc < 0)
		die("join", rc);
	if (ex.how != XOS_EF_EXITED || ex.status != want)
		die("EF ended badly", EIO);
}

static double round_create(const char *icf)
{
	double t0 = bench_now_us();

	for (int i = 0; i < CREATE_ITERS; i++)
		join(start(icf, NULL, empty_ef, NULL, 0), 0);
	return (bench_now_us() - t0) / CREATE_ITERS;
}

static double round_fork(void)
{
	double t0 = bench_now_us();

	for (int i = 0; i < CREATE_ITERS; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork", errno);
		if (pid == 0)
			_exit(0);
		if (waitpid(pid, NULL, 0) != pid)
			die("waitpid", errno);
	}
	return (bench_now_us() - t0) / CREATE_ITERS;
}

struct pipes {
	int in, out, peer_in, peer_out;
};

/* Send every 8-byte message back until EOF. */
static int echo(void *arg)
{
	const struct pipes *p = arg;
	uint64_t v;

	close(p->peer_in);
	close(p->peer_out);
	while (read(p->in, &v, sizeof(v)) == sizeof(v))
		if (write(p->out, &v, sizeof(v)) != sizeof(v))
			return 1;
	return 0;
}

static double round_rtt(const char *icf)
{
	int to[2], from[2];
	char options[64];
	struct pipes p;
	struct xos_ef *ef;
	double t0;

	if (pipe(to) < 0 || pipe(from) < 0)
		die("pipe", errno);
	p = (struct pipes){ .in = to[0], .out = from[1], .peer_in = to[1], .peer_out = from[0] };
	snprintf(options, sizeof(options), "sandbox.fds=%d:%d", p.in, p.out);
	ef = start(icf, options, echo, &p, sizeof(p));
	close(to[0]);
	close(from[1]);
	t0 = bench_now_us();
	for (uint64_t i = 0; i < RTT_ITERS; i++) {
		uint64_t v;

		if (write(to[1], &i, sizeof(i)) != sizeof(i) || read(from[0], &v, sizeof(v)) != sizeof(v) ||
		    v != i)
			die("round trip", EIO);
	}
	t0 = (bench_now_us() - t0) / RTT_ITERS;
	close(to[1]);
	join(ef, 0);
	close(from[0]);
	return t0;
}

/* Channel echo: answer every message until EOF. */
static int chan_echo(void *arg)
{
	struct xos_chan *end = *(struct xos_chan *const *)arg;
	uint64_t v;
	ssize_t n;

	while ((n = xos_chan_recv(end, &v, sizeof(v))) == sizeof(v))
		if (xos_chan_send(end, &v, sizeof(v)) != sizeof(v))
			return 1;
	return n == 0 ? 0 : 2;
}

static double round_chan(const char *icf, const char *mech)
{
	struct xos_chan_attr cattr;
	struct xos_chan *ends[2];
	struct xos_ef_attr attr;
	struct xos_ef *ef;
	double t0;
	int rc;

	xos_chan_attr_init(&cattr);
	cattr.flags = XOS_CHAN_F_BIDIR;
	cattr.mechanism = mech;
	rc = xos_chan_open(ends, &cattr);
	if (rc < 0)
		die("xos_chan_open", rc);
	xos_ef_attr_init(&attr);
	attr.icf = icf;
	attr.chans = &ends[1];
	attr.nchans = 1;
	rc = xos_ef_create(&ef, &attr, chan_echo, &ends[1], sizeof(ends[1]));
	if (rc < 0)
		die(icf, rc);
	t0 = bench_now_us();
	for (uint64_t i = 0; i < RTT_ITERS; i++) {
		uint64_t v;

		if (xos_chan_send(ends[0], &i, sizeof(i)) != sizeof(i) ||
		    xos_chan_recv(ends[0], &v, sizeof(v)) != sizeof(v) || v != i)
			die("channel round trip", EIO);
	}
	t0 = (bench_now_us() - t0) / RTT_ITERS;
	xos_chan_close(ends[0]);
	join(ef, 0);
	return t0;
}

static int sandbox_available(void)
{
	struct xos_icf_info infos[16];
	int n = xos_icf_list(infos, 16);

	for (int i = 0; i < n && i < 16; i++) {
		if (strcmp(infos[i].name, "sandbox") == 0) {
			if (!infos[i].available)
				fprintf(stderr, "bench-sandbox: sandbox unavailable: %s\n", infos[i].reason);
			return infos[i].available;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const chan_mechs[] = { "ring", "unix" };
	enum { FORK, P_CREATE, S_CREATE, P_PIPE, S_PIPE, P_RING, S_RING, P_UNIX, S_UNIX, N };
	int rounds = argc > 1 ? atoi(argv[1]) : 7;
	double *t[N], m[N];

	if (rounds < 1 || rounds > 1000) {
		fprintf(stderr, "bench-sandbox: ROUNDS must be 1..1000\n");
		return 2;
	}
	if (!sandbox_available())
		return 77;
	for (int k = 0; k < N; k++) {
		t[k] = calloc((size_t)rounds, sizeof(double));
		if (!t[k])
			die("calloc", ENOMEM);
	}
	for (int r = 0; r < rounds; r++) {
		t[FORK][r] = round_fork();
		t[P_CREATE][r] = round_create("process");
		t[S_CREATE][r] = round_create("sandbox");
		t[P_PIPE][r] = round_rtt("process");
		t[S_PIPE][r] = round_rtt("sandbox");
		for (int c = 0; c < 2; c++) {
			t[P_RING + 2 * c][r] = round_chan("process", chan_mechs[c]);
			t[S_RING + 2 * c][r] = round_chan("sandbox", chan_mechs[c]);
		}
	}
	for (int k = 0; k < N; k++)
		m[k] = bench_median(t[k], rounds);

	printf("figure: fork_exit_wait = %.1f us\n", m[FORK]);
	printf("figure: process_ef_create_join = %.1f us\n", m[P_CREATE]);
	printf("figure: sandbox_ef_create_join = %.1f us\n", m[S_CREATE]);
	printf("figure: sandbox_vs_process_create_join = %.2f x\n", m[S_CREATE] / m[P_CREATE]);
	printf("figure: sandbox_vs_fork_create_join = %.2f x\n", m[S_CREATE] / m[FORK]);
	printf("figure: process_ef_pipe_round_trip = %.2f us\n", m[P_PIPE]);
	printf("figure: sandbox_ef_pipe_round_trip = %.2f us\n", m[S_PIPE]);
	printf("figure: sandbox_vs_process_pipe_round_trip = %.2f x\n", m[S_PIPE] / m[P_PIPE]);
	for (int c = 0; c < 2; c++) {
		printf("figure: process_ef_chan_%s_round_trip = %.2f us\n", chan_mechs[c], m[P_RING + 2 * c]);
		printf("figure: sandbox_ef_chan_%s_round_trip = %.2f us\n", chan_mechs[c], m[S_RING + 2 * c]);
		printf("figure: sandbox_vs_process_chan_%s_round_trip = %.2f x\n", chan_mechs[c],
		       m[S_RING + 2 * c] / m[P_RING + 2 * c]);
	}
	for (int k = 0; k < N; k++)
		free(t[k]);
	return 0;
}
