#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: `make bench-servers`: redis and nginx with their load
# generators, natively and with server and clients under one
# `xos-run --policy=perf` (every connection between managed EFs), rounds
# alternated (native first in odd rounds, xos first in even ones); each
# figure is the median of the per-round ratios, with their spread:
#   redis_c1_rps_ratio      redis-benchmark GET and SET, 1 client (xos / native)
#   redis_c50_rps_ratio     the same with 50 clients
#   nginx_c1_p50_latency_ratio, nginx_c1_p99_latency_ratio
#                           wrk, 1 connection, a 1 KiB file (native / xos)
#   nginx_c50_rps_ratio     wrk, 50 connections (xos / native)
#   nginx_cached_c1_p50_latency_ratio
#                           wrk, 1 connection, nginx with open_file_cache
#                           (both sides): what the transport reaches once
#                           nginx's own open, fstat and close per request go
# and an idle redis-server's CPU use over 5 s (utime + stime from /proc),
# one client connected, natively and under xos-run.
# BENCH_ROUNDS (default 5) and BENCH_SECONDS (wrk's duration, default 2).
set -u
ROUNDS=${BENCH_ROUNDS:-5}
SECS=${BENCH_SECONDS:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { :; }
bad() { echo "bench-servers: $1" >&2; }
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../test/legacy/servers-lib.sh"
servers_need redis-server redis-benchmark redis-cli nginx wrk ss timeout
rport=$(servers_port 2)
nport=$(servers_port 3)
nginx_prefix "$tmp/ng" "$nport" 1
nginx_prefix "$tmp/ngc" "$nport" 1 'open_file_cache max=64 inactive=60s; open_file_cache_valid 60s;'
hz=$(getconf CLK_TCK)

# Each session prints "NAME VALUE" lines.
cat >"$tmp/redis.sh" <<SH
$servers_wait_port_fn
rps() { redis-benchmark -p $rport --csv "\$@" | awk -F'"' '\$2 == "SET" || \$2 == "GET" { print \$4 }' | tr '\n' ' '; }
redis-server --port $rport --bind 127.0.0.1 --save '' --appendonly no --dir '$tmp' --logfile '$tmp/redis.log' &
server=\$!
wait_port $rport || { kill \$server; exit 1; }
set -- \$(rps -n 10000 -c 1 -t set,get); echo "redis_c1_set \$1"; echo "redis_c1_get \$2"
set -- \$(rps -n 30000 -c 50 -t set,get); echo "redis_c50_set \$1"; echo "redis_c50_get \$2"
redis-cli -p $rport shutdown nosave >/dev/null
wait \$server
SH
cat >"$tmp/nginx.sh" <<SH
$servers_wait_port_fn
# wrk's figures in µs and requests/s.
load() {
	p=\$1
	shift
	wrk --latency "\$@" http://127.0.0.1:$nport/small.txt | awk -v p="\$p" '
		function us(v) { if (v ~ /us\$/) return v + 0; if (v ~ /ms\$/) return v * 1000; if (v ~ /s\$/) return v * 1000000; return v }
		\$1 == "50%" { print p "_p50_us", us(\$2) }
		\$1 == "99%" { print p "_p99_us", us(\$2) }
		\$1 == "Requests/sec:" { print p "_rps", \$2 }
		/Non-2xx|Socket errors/ { print "errors", 1 }'
}
nginx -p '$tmp/ng/' -c nginx.conf -e '$tmp/ng/logs/error.log' &
server=\$!
wait_port $nport || { kill \$server; exit 1; }
load nginx_c1 -t1 -c1 -d${SECS}s
load nginx_c50 -t2 -c50 -d${SECS}s
nginx -p '$tmp/ng/' -c nginx.conf -e '$tmp/ng/logs/error.log' -s quit
wait \$server
nginx -p '$tmp/ngc/' -c nginx.conf -e '$tmp/ngc/logs/error.log' &
server=\$!
wait_port $nport || { kill \$server; exit 1; }
load nginx_cached_c1 -t1 -c1 -d${SECS}s
nginx -p '$tmp/ngc/' -c nginx.conf -e '$tmp/ngc/logs/error.log' -s quit
wait \$server
SH
# An idle server: one client connected and silent, 5 s of nothing.
cat >"$tmp/idle.sh" <<SH
$servers_wait_port_fn
ticks() { awk '{ print \$14 + \$15 }' /proc/\$1/stat; }
# CPU time of every thread in ns (schedstat): finer than the clock ticks.
ns() { cat /proc/\$1/task/*/schedstat | awk '{ t += \$1 } END { printf "%d", t }'; }
redis-server --port $rport --bind 127.0.0.1 --save '' --appendonly no --dir '$tmp' --logfile '$tmp/redis.log' &
server=\$!
wait_port $rport || { kill \$server; exit 1; }
(echo ping; sleep 6) | redis-cli -p $rport >/dev/null &
sleep 0.5
t0=\$(ticks \$server) n0=\$(ns \$server)
sleep 5
t1=\$(ticks \$server) n1=\$(ns \$server)
echo "idle_cpu_percent \$(awk -v a=\$t0 -v b=\$t1 -v hz=$hz 'BEGIN { printf "%.2f", (b - a) * 100 / hz / 5 }')"
echo "idle_cpu_ns \$((n1 - n0))"
wait \$!
redis-cli -p $rport shutdown nosave >/dev/null
wait \$server
SH

# session MODE NAME ROUND: run session NAME natively or under xos-run.
session() {
	if [ "$1" = native ]; then
		timeout -k 5 120 sh "$tmp/$2.sh" >"$tmp/out" 2>>"$tmp/err"
	else
		timeout -k 5 120 "$XOS_RUN" --policy=perf --stats="$tmp/$2.stats.json" -- sh "$tmp/$2.sh" >"$tmp/out" 2>>"$tmp/err"
	fi || { echo "bench-servers: $2 session failed ($1, round $3)" >&2; cat "$tmp/err" >&2; exit 1; }
	if grep -q '^errors' "$tmp/out"; then
		echo "bench-servers: wrk saw errors or bad answers ($1, round $3)" >&2
		exit 1
	fi
	sed "s/^/$3 $1 /" "$tmp/out" >>"$tmp/results"
}

echo "bench-servers: $ROUNDS rounds, native and xos-run --policy=perf alternated; redis on $rport, nginx on $nport"
r=1
while [ $r -le "$ROUNDS" ]; do
	if [ $((r % 2)) -eq 1 ]; then order="native xos"; else order="xos native"; fi
	for m in $order; do session "$m" redis $r; done
	for m in $order; do session "$m" nginx $r; done
	echo "round $r done"
	r=$((r + 1))
done
session native idle 0
session xos idle 0

"$PY" - "$tmp/results" <<'PY'
import sys
from collections import defaultdict
from statistics import median

v = defaultdict(dict)   # (round, name) -> {mode: value}
for line in open(sys.argv[1]):
    rnd, mode, name, val = line.split()
    v[(int(rnd), name)][mode] = float(val)
rounds = sorted({r for r, _ in v if r > 0})

def val(r, name, mode):
    return v[(r, name)][mode]

def figure(fig, per_round, unit_note, goal):
    ratios = [per_round(r) for r in rounds]
    print("figure: %s = %.3f x (median of %d rounds, spread %.3f-%.3f; %s; goal %s)"
          % (fig, median(ratios), len(ratios), min(ratios), max(ratios), unit_note, goal))

def both(prefix):
    return lambda r, m: (val(r, prefix + "_get", m) + val(r, prefix + "_set", m)) / 2

for name in ["redis_c1_get", "redis_c1_set", "redis_c50_get", "redis_c50_set", "nginx_c1_rps",
             "nginx_c1_p50_us", "nginx_c1_p99_us", "nginx_c50_rps", "nginx_cached_c1_p50_us"]:
    for mode in ("native", "xos"):
        print("figure: %s_%s = %.1f (median of %d rounds)" % (name, mode, median(val(r, name, mode) for r in rounds), len(rounds)))
c1 = both("redis_c1")
c50 = both("redis_c50")
figure("redis_c1_rps_ratio", lambda r: c1(r, "xos") / c1(r, "native"), "GET and SET requests/s, xos / native", ">= 5")
figure("redis_c50_rps_ratio", lambda r: c50(r, "xos") / c50(r, "native"), "GET and SET requests/s, xos / native", ">= 1.5")
figure("nginx_c1_p50_latency_ratio", lambda r: val(r, "nginx_c1_p50_us", "native") / val(r, "nginx_c1_p50_us", "xos"), "native / xos", ">= 5")
figure("nginx_c1_p99_latency_ratio", lambda r: val(r, "nginx_c1_p99_us", "native") / val(r, "nginx_c1_p99_us", "xos"), "native / xos", ">= 0.97")
figure("nginx_c50_rps_ratio", lambda r: val(r, "nginx_c50_rps", "xos") / val(r, "nginx_c50_rps", "native"), "requests/s, xos / native", ">= 1.5")
figure("nginx_cached_c1_p50_latency_ratio", lambda r: val(r, "nginx_cached_c1_p50_us", "native") / val(r, "nginx_cached_c1_p50_us", "xos"),
       "native / xos, open_file_cache on both sides", "none: shows the limit of nginx_c1_p50")
for mode in ("native", "xos"):
    print("figure: redis_idle_cpu_%s = %.2f %% of a CPU (utime+stime over 5 s idle, one client connected; %.2f ms on CPU by schedstat%s)"
          % (mode, v[(0, "idle_cpu_percent")][mode], v[(0, "idle_cpu_ns")][mode] / 1e6, "; goal 0" if mode == "xos" else ""))
PY
for s in redis nginx idle; do
	echo "xos-run's $s session (last round):"
	"$PY" "$SERVERS_STATS" "$tmp/$s.stats.json" | sed 's/^/  /'
done
