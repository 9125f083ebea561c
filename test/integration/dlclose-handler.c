/* SPDX-License-Identifier: MIT */
/*
 * Description: a program that loads libxos with dlopen, hosts a domain EF
 * (which gives the process libxos's SIGURG handler, src/runtime/wake.c)
 * and then dlcloses the library must not crash on a later SIGURG (out-of-
 * band TCP data, another program's kill): the handler's code stays mapped.
 * Not linked with libxos: it names the library to load in $LIBXOS.
 */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <xos.h>

static int nothing(void *arg)
{
	(void)arg;
	return 0;
}

int main(int argc, char **argv)
{
	const char *lib = getenv("LIBXOS");
	void (*attr_init)(struct xos_ef_attr *);
	int (*create)(struct xos_ef **, const struct xos_ef_attr *, xos_ef_fn, const void *, size_t);
	int (*join)(struct xos_ef *, struct xos_ef_exit *);
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct sigaction now;
	struct xos_ef *ef;
	void *h;
	int rc;

	(void)argc;
	/* libxos and jemalloc use initial-exec TLS: room for it in a program that did not link them. */
	if (!getenv("GLIBC_TUNABLES")) {
		setenv("GLIBC_TUNABLES", "glibc.rtld.optional_static_tls=65536", 1);
		execv("/proc/self/exe", argv);
	}
	if (!lib || !(h = dlopen(lib, RTLD_NOW | RTLD_LOCAL))) {
		printf("# SKIP cannot load libxos (LIBXOS=%s): %s\n", lib ? lib : "", dlerror());
		return 77;
	}
	*(void **)&attr_init = dlsym(h, "xos_ef_attr_init");
	*(void **)&create = dlsym(h, "xos_ef_create");
	*(void **)&join = dlsym(h, "xos_ef_join");
	if (!attr_init || !create || !join) {
		fprintf(stderr, "dlsym: %s\n", dlerror());
		return 1;
	}
	attr_init(&attr);
	attr.icf = "thread";
	attr.flags = XOS_EF_F_DOMAIN;
	rc = create(&ef, &attr, nothing, NULL, 0);
	if (rc == -EOPNOTSUPP) {
		printf("# SKIP libxos has no memory domains on this machine\n");
		return 77;
	}
	if (rc < 0 || join(ef, &ex) < 0 || ex.status != 0) {
		fprintf(stderr, "the EF: %d\n", rc);
		return 1;
	}
	if (sigaction(SIGURG, NULL, &now) < 0 || now.sa_handler == SIG_DFL) {
		fprintf(stderr, "no SIGURG handler after a domain EF was hosted\n");
		return 1;
	}
	if (dlclose(h) != 0) {
		fprintf(stderr, "dlclose: %s\n", dlerror());
		return 1;
	}
	raise(SIGURG); /* into libxos's handler: still mapped, or a crash */
	printf("ok - SIGURG after dlclose of libxos\n");
	return 0;
}
