#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: nginx (master and two workers, a private prefix and config on
# a 127.0.0.1 port, sendfile on) with curl and wrk (1 and 50 connections),
# server and clients started under one xos-run --policy=perf so that every
# connection is between managed EFs, give the same answers as natively:
# bodies, status codes, a 1 MiB file's checksum, two requests on one kept
# alive connection, no error under wrk; then says which connections stayed
# on rings and why the others moved back (asserted with
# XOS_SERVERS_RINGS=yes).
set -u
tmp=$(mktemp -d)
trap '[ -r "$tmp/ng/nginx.pid" ] && kill "$(cat "$tmp/ng/nginx.pid")" 2>/dev/null; rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../checks.sh"
. "$(dirname "$0")/servers-lib.sh"
servers_need nginx curl wrk ss timeout cksum
port=$(servers_port 1)
nginx_prefix "$tmp/ng" "$port" 2

cat >"$tmp/session.sh" <<SH
$servers_wait_port_fn
url=http://127.0.0.1:$port
# wrk's figures differ from run to run; what must not: that it got answers,
# and only good ones.
load() {
	wrk "\$@" "\$url/small.txt" >'$tmp/wrk.out' 2>&1
	if grep -q 'requests in' '$tmp/wrk.out' && ! grep -q -e Non-2xx -e 'Socket errors' '$tmp/wrk.out'; then
		echo "wrk \$*: good answers only"
	else
		cat '$tmp/wrk.out'
	fi
}
nginx -p '$tmp/ng/' -c nginx.conf -e '$tmp/ng/logs/error.log' &
server=\$!
wait_port $port || { echo "nginx did not listen"; kill \$server; exit 1; }
curl -sS -w ' %{http_code}\n' \$url/index.html
curl -sS -o /dev/null -w '%{http_code} %{size_download}\n' \$url/missing
curl -sS -I \$url/small.txt | sed -n '1p;/^Content-Length/p' | tr -d '\r'
curl -sS \$url/big.bin | cksum
curl -sS \$url/index.html \$url/small.txt | cksum
load -t1 -c1 -d1s
load -t2 -c50 -d1s
nginx -p '$tmp/ng/' -c nginx.conf -e '$tmp/ng/logs/error.log' -s quit
wait \$server
echo "nginx exit \$?"
SH

run_session nginx "$tmp/session.sh"
check "nginx: the answers are the expected ones" \
	"grep -qx 'hello from nginx' '$tmp/nginx.native' && grep -qx ' 200' '$tmp/nginx.native' && grep -q '^404 ' '$tmp/nginx.native' && grep -qx 'nginx exit 0' '$tmp/nginx.native' && [ \$(grep -c 'good answers only' '$tmp/nginx.native') -eq 2 ]"
rings_report nginx
checks_done
