# SPDX-License-Identifier: MIT
# Sourced by servers-redis.sh, servers-nginx.sh and bench/bench-servers.sh:
# what they share to run a real server and its clients natively and under
# one `xos-run --policy=perf`, so that every connection is between two
# managed EFs.  The caller sets NEED (the programs it runs) before sourcing.
XOS_RUN=${XOS_RUN:-./xos-run}
XOS_SHIM=${XOS_SHIM:-./.libs/libxos-shim.so}
PY=/usr/bin/python3
SERVERS_DIR=$(cd "$(dirname "$0")" && pwd)
# servers-stats.py lives beside this file (test/legacy), wherever the
# caller is.
SERVERS_STATS=${LEGACY_SRC:-$SERVERS_DIR}/servers-stats.py
[ -r "$SERVERS_STATS" ] || SERVERS_STATS=$SERVERS_DIR/../test/legacy/servers-stats.py
unset XOS_POLICY XOS_ICF XOS_EXPLAIN
export XOS_SHIM

# Every connection stays on its ring to the end (the shim keeps it there
# through O_NONBLOCK, poll/epoll and non-blocking connect/accept4); the
# report says what moved back and why otherwise.  XOS_SERVERS_RINGS=no
# reports without asserting.
RINGS_EXPECTED=${XOS_SERVERS_RINGS:-yes}

servers_need() {
	if [ ! -r "$XOS_SHIM" ]; then
		echo "SKIP: no libxos-shim.so at $XOS_SHIM"
		exit 77
	fi
	for tool in "$PY" "$@"; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			echo "SKIP: $tool is not installed (quickstart.sh installs it)"
			exit 77
		fi
	done
}

# A port for this run: below the kernel's ephemeral range (32768 and up),
# where the clients of other runs take their local ports, and used by no
# socket in any state now.
servers_port() {
	p=$((20000 + ($$ + ${1:-0} * 7919) % 12000))
	while ss -Hatn "sport = :$p" 2>/dev/null | grep -q .; do
		p=$((p + 1))
	done
	echo $p
}

# wait_port PORT: up to 5 s for something to listen on 127.0.0.1:PORT.
# Runs inside the session scripts; /dev/tcp is bash-only, so ss is asked.
servers_wait_port_fn='wait_port() { for _ in $(seq 100); do ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0; sleep 0.05; done; return 1; }'

# run_session NAME SCRIPT: run the shell script SCRIPT natively, then under
# xos-run --policy=perf --stats; both outputs must be the same.  Leaves
# $tmp/NAME.stats.json.  Each side may take at most 60 s.
run_session() {
	name=$1 script=$2
	t0=$(date +%s)
	timeout -k 5 60 sh "$script" >"$tmp/$name.native" 2>"$tmp/$name.native.err"
	want=$?
	t1=$(date +%s)
	timeout -k 5 60 "$XOS_RUN" --policy=perf --stats="$tmp/$name.stats.json" -- sh "$script" \
		>"$tmp/$name.xos" 2>"$tmp/$name.xos.err"
	got=$?
	t2=$(date +%s)
	if [ "$want" -eq 0 ] && [ "$got" -eq 0 ] && cmp -s "$tmp/$name.native" "$tmp/$name.xos"; then
		ok "$name: same answers natively and with both sides under one xos-run --policy=perf ($((t1 - t0)) s, $((t2 - t1)) s)"
	else
		bad "$name: exit $got under xos-run (native $want), or different answers"
		diff "$tmp/$name.native" "$tmp/$name.xos" | head -n 20
		head -n 20 "$tmp/$name.native.err" "$tmp/$name.xos.err"
	fi
}

# rings_report NAME: what became of the connections of run NAME; asserts
# that every one stayed on its ring when RINGS_EXPECTED=yes.
rings_report() {
	name=$1
	if [ ! -r "$tmp/$name.stats.json" ]; then
		bad "$name: xos-run wrote no --stats report"
		return
	fi
	"$PY" "$SERVERS_STATS" "$tmp/$name.stats.json" | sed 's/^/# /'
	if [ "$RINGS_EXPECTED" = yes ]; then
		check "$name: every connection stayed on its ring to the end" \
			"'$PY' '$SERVERS_STATS' '$tmp/$name.stats.json' --require-rings >/dev/null"
	else
		echo "# $name: rings to the end not asserted (XOS_SERVERS_RINGS=$RINGS_EXPECTED)"
	fi
}

# nginx_prefix DIR PORT WORKERS [DIRECTIVE]: a private nginx prefix (config,
# logs, temp directories, pages) serving 127.0.0.1:PORT with WORKERS worker
# processes: index.html (17 bytes), small.txt (1 KiB, for wrk) and big.bin
# (1 MiB, sent with sendfile); DIRECTIVE goes into its http block.
nginx_prefix() {
	mkdir -p "$1/logs" "$1/tmp" "$1/html"
	printf 'hello from nginx\n' >"$1/html/index.html"
	awk 'BEGIN { for (i = 0; i < 16; i++) printf "%063d\n", i }' >"$1/html/small.txt"
	awk 'BEGIN { x = 7; for (i = 0; i < 16384; i++) { x = (x * 1103515245 + 12345) % 2147483648; printf "%063d\n", x } }' >"$1/html/big.bin"
	cat >"$1/nginx.conf" <<CONF
daemon off;
user root;
master_process on;
worker_processes $3;
pid nginx.pid;
error_log logs/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path tmp/body;
	proxy_temp_path tmp/proxy;
	fastcgi_temp_path tmp/fastcgi;
	uwsgi_temp_path tmp/uwsgi;
	scgi_temp_path tmp/scgi;
	sendfile on;
	keepalive_requests 10000000;
	${4:-}
	server {
		listen 127.0.0.1:$2;
		root html;
		location / { }
	}
}
CONF
}
