#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: readiness on rings.  Legacy programs that use non-blocking
# pipes and socketpairs, poll/ppoll/select/pselect and epoll (with
# timerfd, eventfd and a listening socket in the same waits, timeouts and
# signals) give the same output natively and under xos-run --policy=perf,
# and --stats shows that every pipe and socketpair stayed on its ring to
# the end (upgraded, never moved back, no byte through the kernel), also
# with every process on one CPU.  An idle waiter in poll or epoll_wait on
# a ring uses no CPU and wakes.
set -u
XOS_RUN=${XOS_RUN:-./xos-run}
XOS_SHIM=${XOS_SHIM:-./.libs/libxos-shim.so}
LEGACY_DIR=${LEGACY_DIR:-./test/legacy}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../checks.sh"
unset XOS_POLICY XOS_ICF XOS_EXPLAIN

if [ ! -r "$XOS_SHIM" ]; then
	echo "SKIP: no libxos-shim.so at $XOS_SHIM"
	exit 77
fi
export XOS_SHIM

# same NAME PROG...: native, then under --policy=perf with --stats; the
# outputs and exit statuses must match.
same() {
	name=$1; shift
	timeout 60 "$@" >"$tmp/native" 2>&1; want=$?
	timeout 60 "$XOS_RUN" --policy=perf --stats="$tmp/s.json" -- "$@" >"$tmp/perf" 2>&1; got=$?
	if [ "$got" -eq "$want" ] && cmp -s "$tmp/native" "$tmp/perf"; then
		ok "$name: same output, exit $want"
	else
		bad "$name: exit $got (native $want)"
		diff "$tmp/native" "$tmp/perf" | head -n 20
	fi
}

# on_rings NAME MIN_BYTES [KINDS]: every pipe and unix socketpair (or
# channel of KINDS, python names quoted) of the last run went on a ring and
# stayed there, and MIN_BYTES or more went through rings.  A TCP channel
# that never moved a byte either way (a listening socket) is left out.
on_rings() {
	check "$1: every ${3:-pipe and socketpair} stayed on its ring, >= $2 bytes through rings" \
		"python3 -c \"
import json, sys
c = [x for x in json.load(open('$tmp/s.json'))['channels'] if x['kind'] in (${3:-'pipe', 'unix'}) and
     not (x['kind'] == 'tcp' and not x['upgraded'] and x['ring_bytes'] + x['kernel_bytes_written'] + x['kernel_bytes_read'] == 0)]
bad = [x for x in c if x['mechanism'] != 'ring' or x['upgraded'] != 1 or x['downgraded'] != 0 or x['kernel_bytes_written'] != 0]
total = sum(x['ring_bytes'] for x in c)
if not c or bad or total < $2:
    print('#', len(c), 'channels,', total, 'ring bytes; off the ring:', bad[:3])
    sys.exit(1)
\""
}

same "non-blocking pipes and socketpairs" "$LEGACY_DIR/nonblock"
on_rings "nonblock" 1000000
same "poll, ppoll, select, pselect" "$LEGACY_DIR/pollers"
on_rings "pollers" 65536
same "epoll" "$LEGACY_DIR/epolls"
on_rings "epolls" 65536
same "a thread pool on one epoll set (EPOLLONESHOT, re-armed), the self-pipe trick" "$LEGACY_DIR/ready-threads"
on_rings "ready-threads" 32000
same "stream sockets: half closes, 4 KiB unread, a server speaking first" "$LEGACY_DIR/ready-sock"
on_rings "ready-sock" 16000 "'unix', 'tcp'"
# Request and response between two event loops over loopback TCP, output
# turned on and off around every request (redis-benchmark against
# redis-server): every answer wakes its waiter at once, none waits for the
# programs' own timeouts or a delayed ACK.
same "ping-pong over loopback TCP, EPOLLOUT toggled per request" "$LEGACY_DIR/ping-pong"
check "ping-pong: all rounds, no slow waits" \
	'grep -qx "rounds: 2000 (all)" "$tmp/perf" && grep -qx "client waits slower than 20 ms: fewer than 10" "$tmp/perf"'
on_rings "ping-pong" 50000 "'tcp'"
# Both ends on one CPU (taskset): a waiter whose peer is runnable beside
# it yields to it, one asleep with nothing of ours to answer is not waited
# for (ready.c); every answer still arrives and the output is the same.
if command -v taskset >/dev/null 2>&1; then
	same "ping-pong over loopback TCP, both ends on one CPU" taskset -c 0 "$LEGACY_DIR/ping-pong"
	check "ping-pong on one CPU: all rounds" 'grep -qx "rounds: 2000 (all)" "$tmp/perf"'
	on_rings "ping-pong on one CPU" 50000 "'tcp'"
	same "epoll, every process on one CPU" taskset -c 0 "$LEGACY_DIR/epolls"
	on_rings "epolls on one CPU" 65536
fi
# asyncio: a non-blocking connect waited for with epoll (output only) in
# the event loop that also accepts it: the connection stays on its ring.
cat >"$tmp/aio.py" <<'EOF'
import asyncio
async def echo(r, w):
    while (d := await r.read(65536)):
        w.write(d)
        await w.drain()
    w.close()
async def main():
    srv = await asyncio.start_server(echo, '127.0.0.1', 0)
    r, w = await asyncio.open_connection('127.0.0.1', srv.sockets[0].getsockname()[1])
    total = 0
    for i in range(200):
        w.write(b'x' * 1000)
        await w.drain()
        total += len(await r.readexactly(1000))
    w.close()
    await w.wait_closed()
    srv.close()
    print('echoed', total)
asyncio.run(main())
EOF
if command -v python3 >/dev/null 2>&1; then
	same "asyncio open_connection to start_server in one loop" python3 "$tmp/aio.py"
	check "asyncio: echoed all" 'grep -qx "echoed 200000" "$tmp/perf"'
	on_rings "asyncio" 400000 "'tcp'"
fi
same "idle waiters" "$LEGACY_DIR/idle-wait"
check "idle waiters: asleep at 0% CPU and woken, natively and on rings" \
	'[ "$(grep -c "yes; woke and read: yes; within 5 s: yes" "$tmp/perf")" -eq 2 ]'
on_rings "idle-wait" 8

checks_done
