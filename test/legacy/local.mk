# SPDX-License-Identifier: MIT
# Legacy programs: plain C programs that know nothing of xos, run natively,
# under LD_PRELOAD=libxos-shim.so and under xos-run with and without
# --policy=perf by the scripts here, which want the same output and exit
# status every time.  Plain programs: no libxos, no sanitizers (the shim is
# preloaded into them, and ASan insists on being first), hence three lines
# each.
noinst_HEADERS += %reldir%/sock-pairs.h %reldir%/self-under-shim.h %reldir%/ring-checks.h
legacy_cflags = $(XOS_CFLAGS_PLAIN) -Wno-unused-result
check_PROGRAMS += %reldir%/fork-tree
%canon_reldir%_fork_tree_CFLAGS = $(legacy_cflags)
%canon_reldir%_fork_tree_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_fork_tree_LDADD =
check_PROGRAMS += %reldir%/threads
%canon_reldir%_threads_CFLAGS = $(legacy_cflags)
%canon_reldir%_threads_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_threads_LDADD =
check_PROGRAMS += %reldir%/vfork-exec
%canon_reldir%_vfork_exec_CFLAGS = $(legacy_cflags)
%canon_reldir%_vfork_exec_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_vfork_exec_LDADD =
check_PROGRAMS += %reldir%/fork-threaded
%canon_reldir%_fork_threaded_CFLAGS = $(legacy_cflags)
%canon_reldir%_fork_threaded_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_fork_threaded_LDADD =
check_PROGRAMS += %reldir%/raw-clone
%canon_reldir%_raw_clone_CFLAGS = $(legacy_cflags)
%canon_reldir%_raw_clone_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_raw_clone_LDADD =
check_PROGRAMS += %reldir%/cloexec
%canon_reldir%_cloexec_CFLAGS = $(legacy_cflags)
%canon_reldir%_cloexec_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_cloexec_LDADD =
check_PROGRAMS += %reldir%/eintr
%canon_reldir%_eintr_CFLAGS = $(legacy_cflags)
%canon_reldir%_eintr_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_eintr_LDADD =
check_PROGRAMS += %reldir%/pipe-eof
%canon_reldir%_pipe_eof_CFLAGS = $(legacy_cflags)
%canon_reldir%_pipe_eof_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_pipe_eof_LDADD =
check_PROGRAMS += %reldir%/partial
%canon_reldir%_partial_CFLAGS = $(legacy_cflags)
%canon_reldir%_partial_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_partial_LDADD =
check_PROGRAMS += %reldir%/errno-kept
%canon_reldir%_errno_kept_CFLAGS = $(legacy_cflags)
%canon_reldir%_errno_kept_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_errno_kept_LDADD =
check_PROGRAMS += %reldir%/downgrade
%canon_reldir%_downgrade_CFLAGS = $(legacy_cflags)
%canon_reldir%_downgrade_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_downgrade_LDADD =
check_PROGRAMS += %reldir%/many-pipes
%canon_reldir%_many_pipes_CFLAGS = $(legacy_cflags)
%canon_reldir%_many_pipes_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_many_pipes_LDADD =
check_PROGRAMS += %reldir%/sock-eof
%canon_reldir%_sock_eof_CFLAGS = $(legacy_cflags)
%canon_reldir%_sock_eof_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_sock_eof_LDADD =
check_PROGRAMS += %reldir%/pingpong
%canon_reldir%_pingpong_CFLAGS = $(legacy_cflags)
%canon_reldir%_pingpong_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_pingpong_LDADD =
check_PROGRAMS += %reldir%/sock-shutdown
%canon_reldir%_sock_shutdown_CFLAGS = $(legacy_cflags)
%canon_reldir%_sock_shutdown_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_sock_shutdown_LDADD =
check_PROGRAMS += %reldir%/sock-peek
%canon_reldir%_sock_peek_CFLAGS = $(legacy_cflags)
%canon_reldir%_sock_peek_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_sock_peek_LDADD =
check_PROGRAMS += %reldir%/sockopts
%canon_reldir%_sockopts_CFLAGS = $(legacy_cflags)
%canon_reldir%_sockopts_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_sockopts_LDADD =
check_PROGRAMS += %reldir%/nb-connect
%canon_reldir%_nb_connect_CFLAGS = $(legacy_cflags)
%canon_reldir%_nb_connect_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_nb_connect_LDADD =
check_PROGRAMS += %reldir%/late-accept
%canon_reldir%_late_accept_CFLAGS = $(legacy_cflags)
%canon_reldir%_late_accept_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_late_accept_LDADD = -lpthread
check_PROGRAMS += %reldir%/conn-10k
%canon_reldir%_conn_10k_CFLAGS = $(legacy_cflags)
%canon_reldir%_conn_10k_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_conn_10k_LDADD =
check_PROGRAMS += %reldir%/stdio-pipe
%canon_reldir%_stdio_pipe_CFLAGS = $(legacy_cflags)
%canon_reldir%_stdio_pipe_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_stdio_pipe_LDADD =
check_PROGRAMS += %reldir%/wide-pipe
%canon_reldir%_wide_pipe_CFLAGS = $(legacy_cflags)
%canon_reldir%_wide_pipe_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_wide_pipe_LDADD =
check_PROGRAMS += %reldir%/nonblock
%canon_reldir%_nonblock_CFLAGS = $(legacy_cflags)
%canon_reldir%_nonblock_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_nonblock_LDADD =
check_PROGRAMS += %reldir%/pollers
%canon_reldir%_pollers_CFLAGS = $(legacy_cflags)
%canon_reldir%_pollers_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_pollers_LDADD =
check_PROGRAMS += %reldir%/epolls
%canon_reldir%_epolls_CFLAGS = $(legacy_cflags)
%canon_reldir%_epolls_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_epolls_LDADD =
check_PROGRAMS += %reldir%/idle-wait
%canon_reldir%_idle_wait_CFLAGS = $(legacy_cflags)
%canon_reldir%_idle_wait_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_idle_wait_LDADD =
check_PROGRAMS += %reldir%/workpool
%canon_reldir%_workpool_CFLAGS = $(legacy_cflags)
%canon_reldir%_workpool_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_workpool_LDADD =
check_PROGRAMS += %reldir%/ready-threads
%canon_reldir%_ready_threads_CFLAGS = $(legacy_cflags)
%canon_reldir%_ready_threads_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_ready_threads_LDADD =
check_PROGRAMS += %reldir%/ready-sock
%canon_reldir%_ready_sock_CFLAGS = $(legacy_cflags)
%canon_reldir%_ready_sock_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_ready_sock_LDADD =
check_PROGRAMS += %reldir%/ping-pong
%canon_reldir%_ping_pong_CFLAGS = $(legacy_cflags)
%canon_reldir%_ping_pong_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_ping_pong_LDADD =
# What servers call beside read and write: sendfile, fortified reads.
check_PROGRAMS += %reldir%/sendfile-ring
%canon_reldir%_sendfile_ring_CFLAGS = $(legacy_cflags)
%canon_reldir%_sendfile_ring_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_sendfile_ring_LDADD =
# Fortified as Debian builds programs: its reads are __*_chk calls.
check_PROGRAMS += %reldir%/fortify-ring
%canon_reldir%_fortify_ring_CFLAGS = $(legacy_cflags) -O2 -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
%canon_reldir%_fortify_ring_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_fortify_ring_LDADD =
# A server answering a client that has gone (the end of a load run).
check_PROGRAMS += %reldir%/peer-gone
%canon_reldir%_peer_gone_CFLAGS = $(legacy_cflags)
%canon_reldir%_peer_gone_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_peer_gone_LDADD =

XOS_SCRIPT_TESTS += %reldir%/run-legacy.sh %reldir%/real-programs.sh %reldir%/sock-ring.sh
EXTRA_DIST += %reldir%/static-hello.c
TESTS_ENVIRONMENT += LEGACY_DIR=$(abs_builddir)/%reldir% LEGACY_SRC=$(abs_srcdir)/%reldir% CC="$(CC)"; export LEGACY_DIR LEGACY_SRC CC;
# Readiness on rings: non-blocking fds, poll/select/epoll, worker pools.
XOS_SCRIPT_TESTS += %reldir%/readiness.sh %reldir%/readiness-pools.sh

# A bell owed to a reader asleep in read() stays its own: poll and epoll
# in another thread never take it (python3's Pool hung that way).
XOS_TESTS += %reldir%/bell-owed
%canon_reldir%_bell_owed_CFLAGS = $(XOS_CFLAGS_PLAIN) -I$(top_srcdir)/src/shim
%canon_reldir%_bell_owed_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_bell_owed_LDADD =

# An exec'd image finds the channels it inherited through the area's inode
# index (not a search of every channel the run made), and all of them.
XOS_TESTS += %reldir%/inherit-lookup
%canon_reldir%_inherit_lookup_CFLAGS = $(XOS_CFLAGS_PLAIN) -I$(top_srcdir)/src/shim
%canon_reldir%_inherit_lookup_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_inherit_lookup_LDADD =

# A pipe a vfork child copies onto stdin or stdout stays on its ring through
# the child's exec (Python's subprocess, dash), its holds all accounted for.
XOS_TESTS += %reldir%/vfork-rings
%canon_reldir%_vfork_rings_CFLAGS = $(XOS_CFLAGS_PLAIN) -I$(top_srcdir)/src/shim
%canon_reldir%_vfork_rings_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_vfork_rings_LDADD =

# posix_spawn (make's recipes): the rings the child inherits below 64 stay
# on their rings, held for it until it is reaped.
XOS_TESTS += %reldir%/spawn-rings
%canon_reldir%_spawn_rings_CFLAGS = $(XOS_CFLAGS_PLAIN) -I$(top_srcdir)/src/shim
%canon_reldir%_spawn_rings_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_spawn_rings_LDADD =

# The shim preloaded by hand makes its private area only when a ring needs
# it (the first pipe or socket under XOS_POLICY=perf), and it works then.
XOS_TESTS += %reldir%/preload-area
%canon_reldir%_preload_area_CFLAGS = $(XOS_CFLAGS_PLAIN) -I$(top_srcdir)/src/shim
%canon_reldir%_preload_area_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_preload_area_LDADD =

# A waiter in epoll_wait or poll spins again once answers are fast again
# (a phase of slow ones had brought its spin budget to nothing).
XOS_TESTS += %reldir%/spin-recovers
%canon_reldir%_spin_recovers_CFLAGS = $(XOS_CFLAGS_PLAIN)
%canon_reldir%_spin_recovers_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_spin_recovers_LDADD =

# Real servers (redis, nginx) and their clients run natively and with both
# sides under one xos-run --policy=perf: same answers, and what became of
# their connections.
XOS_SCRIPT_TESTS += %reldir%/servers-redis.sh %reldir%/servers-nginx.sh %reldir%/servers-shim.sh
EXTRA_DIST += %reldir%/servers-lib.sh %reldir%/servers-stats.py
