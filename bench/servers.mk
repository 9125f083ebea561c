# SPDX-License-Identifier: MIT
# bench-servers (included from Makefile.am): redis and nginx with their load
# generators, natively and with both sides under one xos-run --policy=perf.
EXTRA_DIST += bench/bench-servers.sh

bench-servers: libxos-shim.la xos-run
	XOS_RUN=$(abs_builddir)/xos-run XOS_SHIM=$(abs_builddir)/.libs/libxos-shim.so \
	LEGACY_SRC=$(abs_srcdir)/test/legacy sh $(srcdir)/bench/bench-servers.sh
bench: bench-servers
.PHONY: bench-servers
