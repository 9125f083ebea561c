# SPDX-License-Identifier: MIT
# Legacy programs (test/legacy): plain C programs that know nothing of xos,
# run natively, under LD_PRELOAD=libxos-shim.so and under xos-run with and
# without --policy=perf by run-legacy.sh, which wants the same output and
# exit status every time.  Built without sanitizers: the shim is preloaded
# into them, and ASan insists on being first.
legacy_programs = \
	test/legacy/fork-tree \
	test/legacy/threads \
	test/legacy/vfork-exec \
	test/legacy/fork-threaded \
	test/legacy/raw-clone \
	test/legacy/cloexec \
	test/legacy/eintr \
	test/legacy/pipe-eof \
	test/legacy/partial \
	test/legacy/errno-kept \
	test/legacy/downgrade \
	test/legacy/many-pipes \
	test/legacy/sock-eof \
	test/legacy/pingpong \
	test/legacy/sock-shutdown \
	test/legacy/sock-peek \
	test/legacy/sockopts \
	test/legacy/nb-connect \
	test/legacy/conn-10k \
	test/legacy/stdio-pipe \
	test/legacy/wide-pipe \
	test/legacy/nonblock \
	test/legacy/pollers \
	test/legacy/epolls \
	test/legacy/idle-wait \
	test/legacy/workpool \
	test/legacy/ready-threads \
	test/legacy/ready-sock \
	test/legacy/ping-pong
check_PROGRAMS += $(legacy_programs)
legacy_cflags = $(XOS_CFLAGS) -pthread -Wno-unused-result
test_legacy_fork_tree_CFLAGS = $(legacy_cflags)
test_legacy_fork_tree_LDFLAGS = -pthread
test_legacy_threads_CFLAGS = $(legacy_cflags)
test_legacy_threads_LDFLAGS = -pthread
test_legacy_vfork_exec_CFLAGS = $(legacy_cflags)
test_legacy_vfork_exec_LDFLAGS = -pthread
test_legacy_fork_threaded_CFLAGS = $(legacy_cflags)
test_legacy_fork_threaded_LDFLAGS = -pthread
test_legacy_raw_clone_CFLAGS = $(legacy_cflags)
test_legacy_raw_clone_LDFLAGS = -pthread
test_legacy_cloexec_CFLAGS = $(legacy_cflags)
test_legacy_cloexec_LDFLAGS = -pthread
test_legacy_eintr_CFLAGS = $(legacy_cflags)
test_legacy_eintr_LDFLAGS = -pthread
test_legacy_pipe_eof_CFLAGS = $(legacy_cflags)
test_legacy_pipe_eof_LDFLAGS = -pthread
test_legacy_partial_CFLAGS = $(legacy_cflags)
test_legacy_partial_LDFLAGS = -pthread
test_legacy_errno_kept_CFLAGS = $(legacy_cflags)
test_legacy_errno_kept_LDFLAGS = -pthread
test_legacy_downgrade_CFLAGS = $(legacy_cflags)
test_legacy_downgrade_LDFLAGS = -pthread
test_legacy_many_pipes_CFLAGS = $(legacy_cflags)
test_legacy_many_pipes_LDFLAGS = -pthread
test_legacy_sock_eof_CFLAGS = $(legacy_cflags)
test_legacy_sock_eof_LDFLAGS = -pthread
test_legacy_pingpong_CFLAGS = $(legacy_cflags)
test_legacy_pingpong_LDFLAGS = -pthread
test_legacy_nonblock_CFLAGS = $(legacy_cflags)
test_legacy_nonblock_LDFLAGS = -pthread
test_legacy_pollers_CFLAGS = $(legacy_cflags)
test_legacy_pollers_LDFLAGS = -pthread
test_legacy_epolls_CFLAGS = $(legacy_cflags)
test_legacy_epolls_LDFLAGS = -pthread
test_legacy_idle_wait_CFLAGS = $(legacy_cflags)
test_legacy_idle_wait_LDFLAGS = -pthread
test_legacy_workpool_CFLAGS = $(legacy_cflags)
test_legacy_workpool_LDFLAGS = -pthread
test_legacy_ready_threads_CFLAGS = $(legacy_cflags)
test_legacy_ready_threads_LDFLAGS = -pthread
test_legacy_ready_sock_SOURCES = test/legacy/ready-sock.c test/legacy/sock-pairs.h
test_legacy_ready_sock_CFLAGS = $(legacy_cflags)
test_legacy_ready_sock_LDFLAGS = -pthread
test_legacy_ping_pong_SOURCES = test/legacy/ping-pong.c test/legacy/sock-pairs.h
test_legacy_ping_pong_CFLAGS = $(legacy_cflags)
test_legacy_ping_pong_LDFLAGS = -pthread
# Readiness on rings: non-blocking fds, poll/select/epoll, worker pools.
TESTS += test/legacy/readiness.sh test/legacy/readiness-pools.sh
EXTRA_DIST += test/legacy/readiness.sh test/legacy/readiness-pools.sh

# Socket operations on connections the shim keeps on rings, and many of them.
test_legacy_sock_shutdown_SOURCES = test/legacy/sock-shutdown.c test/legacy/sock-pairs.h
test_legacy_sock_shutdown_CFLAGS = $(legacy_cflags)
test_legacy_sock_shutdown_LDFLAGS = -pthread
test_legacy_sock_peek_SOURCES = test/legacy/sock-peek.c test/legacy/sock-pairs.h
test_legacy_sock_peek_CFLAGS = $(legacy_cflags)
test_legacy_sock_peek_LDFLAGS = -pthread
test_legacy_sockopts_SOURCES = test/legacy/sockopts.c test/legacy/sock-pairs.h
test_legacy_sockopts_CFLAGS = $(legacy_cflags)
test_legacy_sockopts_LDFLAGS = -pthread
test_legacy_nb_connect_SOURCES = test/legacy/nb-connect.c test/legacy/sock-pairs.h
test_legacy_nb_connect_CFLAGS = $(legacy_cflags)
test_legacy_nb_connect_LDFLAGS = -pthread
test_legacy_conn_10k_SOURCES = test/legacy/conn-10k.c test/legacy/sock-pairs.h
test_legacy_conn_10k_CFLAGS = $(legacy_cflags)
test_legacy_conn_10k_LDFLAGS = -pthread
test_legacy_stdio_pipe_CFLAGS = $(legacy_cflags)
# Its own LDFLAGS: AM_LDFLAGS would link the sanitizers, which refuse a preloaded shim.
test_legacy_stdio_pipe_LDFLAGS = -pthread
test_legacy_wide_pipe_CFLAGS = $(legacy_cflags)
test_legacy_wide_pipe_LDFLAGS = -pthread

TESTS += test/legacy/run-legacy.sh test/legacy/real-programs.sh test/legacy/sock-ring.sh
EXTRA_DIST += test/legacy/run-legacy.sh test/legacy/real-programs.sh test/legacy/sock-ring.sh test/legacy/static-hello.c
TESTS_ENVIRONMENT += LEGACY_DIR=$(abs_builddir)/test/legacy LEGACY_SRC=$(abs_srcdir)/test/legacy CC="$(CC)"; export LEGACY_DIR LEGACY_SRC CC;

# A bell owed to a reader asleep in read() stays its own: poll and epoll
# in another thread never take it (python3's Pool hung that way).
check_PROGRAMS += test/legacy/bell-owed
TESTS += test/legacy/bell-owed
test_legacy_bell_owed_CFLAGS = $(XOS_CFLAGS) -pthread -I$(top_srcdir)/src/shim
test_legacy_bell_owed_LDFLAGS = -pthread
