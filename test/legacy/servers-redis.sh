#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: redis-server with redis-cli and redis-benchmark (1 and 50
# clients), server and clients started under one xos-run --policy=perf so
# that every connection is between managed EFs, give the same answers as
# natively (SET, GET, INCR, RPUSH/LRANGE, the counts the benchmark leaves);
# then says which connections stayed on rings and why the others moved
# back (asserted with XOS_SERVERS_RINGS=yes).
set -u
tmp=$(mktemp -d)
port=
trap '[ -n "$port" ] && redis-cli -p "$port" shutdown nosave >/dev/null 2>&1; rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../checks.sh"
. "$(dirname "$0")/servers-lib.sh"
servers_need redis-server redis-cli redis-benchmark ss timeout
port=$(servers_port)

cat >"$tmp/session.sh" <<SH
$servers_wait_port_fn
cli() { redis-cli -p $port "\$@"; }
bench() { redis-benchmark -p $port -q "\$@" | tr '\r' '\n' | sed -n 's/: .*requests per second.*//p'; }
redis-server --port $port --bind 127.0.0.1 --save '' --appendonly no --dir '$tmp' --logfile '$tmp/redis.log' &
server=\$!
wait_port $port || { echo "redis-server did not listen"; kill \$server; exit 1; }
cli set greeting hello
cli get greeting
cli incr visits
cli incr visits
cli incrby visits 40
cli rpush fruits apple banana cherry date
cli lrange fruits 0 -1
cli lrange fruits 1 2
cli get missing
bench -n 2000 -c 1 -t set,get
bench -n 5000 -c 50 -t set,get,incr,lpush
cli get key:__rand_int__
cli get counter:__rand_int__
cli llen mylist
cli dbsize
cli shutdown nosave
wait \$server
echo "redis-server exit \$?"
SH

run_session redis "$tmp/session.sh"
check "redis: the answers are the expected ones" \
	"grep -qx 42 '$tmp/redis.native' && grep -qx cherry '$tmp/redis.native' && grep -qx 5000 '$tmp/redis.native' && grep -qx 'redis-server exit 0' '$tmp/redis.native'"
rings_report redis
port=
checks_done
