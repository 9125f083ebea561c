#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: real Debian programs, not written here, run under
# xos-run --policy=perf with the same output and exit status as natively:
# make -j2 on a generated project (whose recipes pipe), sort --parallel=2
# of ~100 MB, an xz -T2 round trip, xz and gzip in a pipeline, a python3
# multiprocessing pool, python3 capturing xz's output through stdout=PIPE,
# a 5-stage shell pipeline on ~100 MB and a sorting one, and a forking
# server (socat ...,fork) answering clients on loopback.
# Where pipes are dup'ed onto stdin/stdout and exec'ed (shells, make), the
# bytes must go through rings: --stats' ring byte counts are asserted.
# REAL_MB sets the size of the generated data (default 100).
set -u
XOS_RUN=${XOS_RUN:-./xos-run}
XOS_SHIM=${XOS_SHIM:-./.libs/libxos-shim.so}
MB=${REAL_MB:-100}
tmp=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../checks.sh"
unset XOS_POLICY XOS_ICF XOS_EXPLAIN
export XOS_SHIM
PY=/usr/bin/python3

if [ ! -r "$XOS_SHIM" ]; then
	echo "SKIP: no libxos-shim.so at $XOS_SHIM"
	exit 77
fi
for tool in make cc sort xz socat "$PY"; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool is not installed (quickstart.sh installs it)"
		exit 77
	fi
done

# same NAME CMD: run the shell command CMD natively and under
# xos-run --policy=perf; stdout, stderr and exit status must match.
same() {
	name=$1 cmd=$2
	t0=$(date +%s)
	sh -c "$cmd" >"$tmp/n.out" 2>"$tmp/n.err"; want=$?
	t1=$(date +%s)
	"$XOS_RUN" --policy=perf --stats="$tmp/stats.json" -- sh -c "$cmd" >"$tmp/p.out" 2>"$tmp/p.err"; got=$?
	t2=$(date +%s)
	if [ "$got" -eq "$want" ] && cmp -s "$tmp/n.out" "$tmp/p.out" && cmp -s "$tmp/n.err" "$tmp/p.err"; then
		ok "$name: same output, exit $want ($((t1 - t0)) s native, $((t2 - t1)) s under xos-run, $($PY -c "import json; d=json.load(open('$tmp/stats.json')); print(len(d['efs']), 'EFs,', len(d['channels']), 'channels,', sum(1 for c in d['channels'] if c['upgraded']), 'upgraded')"))"
	else
		bad "$name: exit $got (native $want)"
		diff "$tmp/n.out" "$tmp/p.out" | head -n 10
		diff "$tmp/n.err" "$tmp/p.err" | head -n 10
	fi
}

# rings NAME FRACTION: in the last run's --stats, pipes carried bytes and
# at least FRACTION of what went through pipes went through rings.
rings() {
	if r=$($PY -c "
import json, sys
d = json.load(open('$tmp/stats.json'))
p = [c for c in d['channels'] if c['kind'] == 'pipe']
ring = sum(c['ring_bytes'] for c in p)
kern = sum(c['kernel_bytes_written'] for c in p)
print(ring, 'B through rings,', kern, 'B through the kernel,', sum(1 for c in p if c['mechanism'] == 'ring'), 'of', len(p), 'pipes on rings')
sys.exit(0 if ring > 0 and ring >= $2 * (ring + kern) else 1)"); then
		ok "$1: $r"
	else
		bad "$1: $r"
	fi
}

# Deterministic data: $MB MB of numbers from a linear congruential generator.
awk -v n=$((MB * 1024 * 1024 / 11)) 'BEGIN { x = 12345; for (i = 0; i < n; i++) { x = (x * 1103515245 + 12345) % 2147483648; print x } }' >"$tmp/data"
head -c 2000000 "$tmp/data" >"$tmp/small"

# 1. make -j2 on a small generated project.
mkdir -p "$tmp/proj"
i=0
while [ $i -lt 16 ]; do
	printf 'int f%d(int x) { int s = 0; for (int i = 0; i < x; i++) s += i * %d; return s %% 1000; }\n' $i $i >"$tmp/proj/f$i.c"
	i=$((i + 1))
done
{
	echo '#include <stdio.h>'
	i=0; while [ $i -lt 16 ]; do echo "int f$i(int);"; i=$((i + 1)); done
	echo 'int main(void) { int t = 0;'
	i=0; while [ $i -lt 16 ]; do echo "t += f$i(100 + $i);"; i=$((i + 1)); done
	echo 'printf("total %d\\n", t); return t % 7; }'
} >"$tmp/proj/main.c"
cat >"$tmp/proj/Makefile" <<'MK'
SRCS := $(wildcard *.c)
OBJS := $(SRCS:.c=.o)
prog: $(OBJS) sums.txt
	$(CC) -o $@ $(OBJS)
	@echo linked $@
sums.txt: $(SRCS)
	cat $(SRCS) | tr a-z A-Z | sort | cksum > $@
%.o: %.c
	$(CC) -O1 -c -o $@ $<
clean:
	rm -f prog *.o sums.txt
.PHONY: clean
MK
same "make -j2" "cd '$tmp/proj' && make -s clean && make -s -j2 && ./prog; cat sums.txt"
rings "make -j2: the recipe's pipeline went through rings" 0.9
# 1b. make's own output into a pipe: make starts each recipe with
# posix_spawn, and every recipe inherits the pipe; it stays on its ring
# (it moved back at make's first recipe before).
same "make -j2 | sort" "cd '$tmp/proj' && make -s clean && make -j2 2>&1 | sort"
if r=$($PY -c "
import json, sys
d = json.load(open('$tmp/stats.json'))
p = [c for c in d['channels'] if c['kind'] == 'pipe']
moved = [c['downgrade_reason'] for c in p if c['downgraded']]
big = max(c['ring_bytes'] for c in p)
print(big, 'B through the ring of the pipe into sort; moved back:', moved)
sys.exit(0 if big > 500 and not moved else 1)"); then
	ok "make -j2 | sort: make's output and its recipes' stayed on the ring ($r)"
else
	bad "make -j2 | sort: $r"
fi

# 2. sort --parallel=2 with little memory, so it merges temporary files.
same "sort --parallel=2 of $MB MB" "sort --parallel=2 -S 32M -T '$tmp' -n '$tmp/data' | cksum"

# 3. xz -T2 round trip.
same "xz -T2 round trip" "xz -T2 -1 -c '$tmp/data' > '$tmp/data.xz' && cksum < '$tmp/data.xz' && xz -T2 -d -c '$tmp/data.xz' | cmp - '$tmp/data' && echo round-trip-ok"

# 3b. xz and gzip in one pipeline.
head -c 20000000 "$tmp/data" >"$tmp/d20"
same "xz | xz -d | gzip | gzip -d pipeline" "xz -T2 -1 -c '$tmp/d20' | xz -d | gzip -1 | gzip -d | cksum"
# xz sets O_NONBLOCK on its stdin and stdout (it polls them), which moves
# those pipes back to the kernel: only gzip's are sure to stay on rings.
rings "xz/gzip pipeline: gzip's pipes went through rings" 0.3

# 4. python3 multiprocessing pool.
cat >"$tmp/pool.py" <<'PY'
from multiprocessing import Pool
def work(n):
    s = 0
    for i in range(n * 1000):
        s = (s * 31 + i) % 1000003
    return s
if __name__ == "__main__":
    with Pool(2) as p:
        print(p.map(work, range(40)))
    with Pool(3) as p:
        print(sum(p.imap_unordered(work, range(30), chunksize=2)))
PY
same "python3 multiprocessing pool" "$PY '$tmp/pool.py'"

# 4b. python3 subprocess (a vfork child per command, which closes every
# fd but its stdio) from a process whose own pipe stays on its ring.
cat >"$tmp/subproc.py" <<'PY'
import hashlib, os, subprocess, threading
r, w = os.pipe()
for i in range(20):
    out = subprocess.run(["/bin/echo", str(i)], capture_output=True, check=True).stdout
    assert out == f"{i}\n".encode(), out
data = bytes(range(256)) * 4096
def writer():
    v = memoryview(data)
    while v:
        v = v[os.write(w, v[:65536]):]
    os.close(w)
t = threading.Thread(target=writer)
t.start()
got = bytearray()
while True:
    b = os.read(r, 65536)
    if not b:
        break
    got += b
t.join()
print(len(got), hashlib.sha256(got).hexdigest())
PY
same "python3 subprocess.run x20, then 1 MiB through the parent's own pipe" "$PY '$tmp/subproc.py'"
rings "python3 subprocess: the parent's pipe stayed on its ring" 0.99

# 4c. python3 reading a program's output through stdout=PIPE (its vfork
# child dup2s the pipe onto 1 and execs xz): the bytes come back through
# the ring (before, the child's copy moved it back to the kernel).
cat >"$tmp/capture.py" <<'PY'
import hashlib, subprocess, sys
out = subprocess.run(["xz", "-dc", sys.argv[1]], stdout=subprocess.PIPE, check=True).stdout
print(len(out), hashlib.sha256(out).hexdigest())
PY
same "python3 capturing xz -dc's $MB MB through stdout=PIPE" "$PY '$tmp/capture.py' '$tmp/data.xz'"
rings "python3 capture: xz's output came back through the ring" 0.99

# 5. shell pipelines: 5 stages on the $MB MB, and one that sorts.
same "5-stage pipeline on $MB MB" "cat '$tmp/data' | tr 0-9 a-j | cut -c1-3 | grep -v '^a' | cksum"
rings "5-stage pipeline: its pipes went through rings" 0.9
same "shell pipeline" "cat '$tmp/small' | tr 0-9 a-j | sed 's/a/A/g' | sort | uniq -c | sort -k1,1nr -k2 | head -n 5; cut -c1-3 '$tmp/small' | sort -u | wc -l | tr -d ' '"
rings "sorting pipeline: its pipes went through rings" 0.9

# 6. a forking server (socat forks a child per connection, which runs tr)
# answering clients on loopback; the server is stopped with SIGTERM.
port=$((20000 + $$ % 20000))
serve() {
	"$@" socat TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr SYSTEM:"tr a-z A-Z" 2>"$tmp/server.err" &
	server=$!
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		socat -u OPEN:/dev/null TCP:127.0.0.1:$port 2>/dev/null && break
		sleep 0.1
	done
	{
		for i in 1 2 3; do echo "request $i hello server" | socat - TCP:127.0.0.1:$port; done
		echo "a" | socat - TCP:127.0.0.1:$port & echo "b" | socat - TCP:127.0.0.1:$port & wait
		socat - TCP:127.0.0.1:$port <"$tmp/small" | cksum
	} | sort
	kill -TERM "$server"
	wait "$server" 2>/dev/null
	echo "server exit $?"
	server=
}
serve env >"$tmp/srv.native"
serve "$XOS_RUN" --policy=perf --stats="$tmp/stats.json" -- >"$tmp/srv.perf"
if cmp -s "$tmp/srv.native" "$tmp/srv.perf" && grep -q "^REQUEST 3 HELLO SERVER" "$tmp/srv.perf"; then
	ok "forking server: same answers and exit status ($($PY -c "import json; d=json.load(open('$tmp/stats.json')); print(len(d['efs']), 'EFs')"))"
else
	bad "forking server"
	diff "$tmp/srv.native" "$tmp/srv.perf"
fi

checks_done
