# SPDX-License-Identifier: MIT
# Real servers (redis, nginx) and their clients run natively and with both
# sides under one xos-run --policy=perf: same answers, and what became of
# their connections (included from Makefile.am).
TESTS += test/legacy/servers-redis.sh test/legacy/servers-nginx.sh
EXTRA_DIST += test/legacy/servers-redis.sh test/legacy/servers-nginx.sh \
	test/legacy/servers-lib.sh test/legacy/servers-stats.py
