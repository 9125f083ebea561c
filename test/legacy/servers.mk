# SPDX-License-Identifier: MIT
# Real servers (redis, nginx) and their clients run natively and with both
# sides under one xos-run --policy=perf: same answers, and what became of
# their connections (included from Makefile.am).
TESTS += test/legacy/servers-redis.sh test/legacy/servers-nginx.sh test/legacy/servers-shim.sh
EXTRA_DIST += test/legacy/servers-redis.sh test/legacy/servers-nginx.sh test/legacy/servers-shim.sh \
	test/legacy/servers-lib.sh test/legacy/servers-stats.py

# Legacy programs for the shim paths servers take (built as the others in
# test/legacy/local.mk are, without sanitizers).
check_PROGRAMS += test/legacy/sendfile-ring
test_legacy_sendfile_ring_CFLAGS = $(legacy_cflags)
test_legacy_sendfile_ring_LDFLAGS = -pthread
# Fortified as Debian builds programs: its reads are __*_chk calls.
check_PROGRAMS += test/legacy/fortify-ring
test_legacy_fortify_ring_CFLAGS = $(legacy_cflags) -O2 -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
test_legacy_fortify_ring_LDFLAGS = -pthread
