/* SPDX-License-Identifier: MIT */
/*
 * Not an attack but the other side of the socket rules: every channel
 * operation must work inside every ICF.  A sandboxed EF switches its
 * channel end to the unix mechanism (a new socketpair, sent over the
 * channel's control socket) and back to the ring, answering messages
 * throughout.  Before socketpair(AF_UNIX) was allowed, the switch killed
 * the EF with SIGSYS.
 */
#include <unistd.h>

#include "limits-attack.h"

#include <xos/chan.h>

#define ROUNDS 3

static int echo_switching(void *arg)
{
	struct xos_chan *end = *(struct xos_chan *const *)arg;
	static const char *const mechs[] = { "unix", "ring", "pipe" };
	char buf[64];

	for (int i = 0; i < ROUNDS; i++) {
		ssize_t n;
		int rc = xos_chan_switch(end, mechs[i]);

		if (rc < 0)
			return 20 + i;
		n = xos_chan_recv(end, buf, sizeof(buf));
		if (n <= 0 || xos_chan_send(end, buf, (size_t)n) != n)
			return 30 + i;
	}
	return strcmp(xos_chan_mechanism(end), "pipe") == 0 ? 0 : 40;
}

int main(void)
{
	struct xos_chan_attr cattr;
	struct xos_chan *ends[2];
	struct xos_ef_attr attr;
	struct xos_ef_exit ex = { 0 };
	struct xos_ef *ef;
	char buf[64];
	int rc;

	la_require_sandbox();
	xos_chan_attr_init(&cattr);
	cattr.flags = XOS_CHAN_F_BIDIR;
	cattr.mechanism = "ring";
	if ((rc = xos_chan_open(ends, &cattr)) < 0)
		return printf("FAIL: xos_chan_open = %s\n", strerror(-rc)), 1;
	xos_ef_attr_init(&attr);
	attr.icf = "sandbox";
	attr.chans = &ends[1];
	attr.nchans = 1;
	rc = xos_ef_create(&ef, &attr, echo_switching, &ends[1], sizeof(ends[1]));
	if (rc < 0)
		return printf("FAIL: xos_ef_create = %s\n", strerror(-rc)), 1;
	for (int i = 0; i < ROUNDS; i++) {
		snprintf(buf, sizeof(buf), "round %d", i);
		if (xos_chan_send(ends[0], buf, strlen(buf) + 1) < 0 ||
		    xos_chan_recv(ends[0], buf, sizeof(buf)) <= 0)
			break;
	}
	xos_chan_close(ends[0]);
	xos_ef_join(ef, &ex);
	if (ex.how != XOS_EF_EXITED || ex.status != 0) {
		printf("FAIL: switching inside the sandbox: EF %s\n", la_how(ex));
		return 1;
	}
	printf("ok: a sandboxed EF switched unix -> ring -> pipe and kept answering\n");
	return 0;
}
