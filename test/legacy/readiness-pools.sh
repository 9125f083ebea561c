#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: worker pools on rings.  A legacy C pool (fork workers, the
# parent multiplexes their result pipes with poll, then with epoll) and a
# python3 multiprocessing Pool each move 64 MB of results; the answers
# are the same natively and under xos-run --policy=perf, and --stats shows
# the results went through rings (the pipes were never moved back).
set -u
XOS_RUN=${XOS_RUN:-./xos-run}
XOS_SHIM=${XOS_SHIM:-./.libs/libxos-shim.so}
LEGACY_DIR=${LEGACY_DIR:-./test/legacy}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../checks.sh"
unset XOS_POLICY XOS_ICF XOS_EXPLAIN
PY=/usr/bin/python3

if [ ! -r "$XOS_SHIM" ]; then
	echo "SKIP: no libxos-shim.so at $XOS_SHIM"
	exit 77
fi
export XOS_SHIM

same() {
	name=$1; shift
	timeout 120 "$@" >"$tmp/native" 2>&1; want=$?
	timeout 120 "$XOS_RUN" --policy=perf --stats="$tmp/s.json" -- "$@" >"$tmp/perf" 2>&1; got=$?
	if [ "$got" -eq "$want" ] && cmp -s "$tmp/native" "$tmp/perf"; then
		ok "$name: same output, exit $want"
	else
		bad "$name: exit $got (native $want)"
		diff "$tmp/native" "$tmp/perf" | head -n 20
	fi
}

# ring_bytes NAME MIN: MIN bytes or more went through pipes on rings that
# were never moved back.
ring_bytes() {
	check "$1: >= $2 bytes through pipes that stayed on rings" \
		"$PY -c \"
import json, sys
c = [x for x in json.load(open('$tmp/s.json'))['channels'] if x['kind'] == 'pipe' and x['mechanism'] == 'ring' and x['downgraded'] == 0]
total = sum(x['ring_bytes'] for x in c)
if total < $2:
    print('#', total, 'ring bytes')
    sys.exit(1)
\""
}

same "worker pool, poll" "$LEGACY_DIR/workpool" poll 4 64 1024
ring_bytes "worker pool, poll" 67108864
same "worker pool, epoll" "$LEGACY_DIR/workpool" epoll 4 64 1024
ring_bytes "worker pool, epoll" 67108864

if [ -x "$PY" ]; then
	cat >"$tmp/pool.py" <<'PYEOF'
import hashlib
from multiprocessing import Pool
def work(i):
    return bytes([i % 251]) * (640 * 1024)
if __name__ == "__main__":
    h = hashlib.sha256()
    n = 0
    with Pool(2) as p:
        for r in p.imap(work, range(100)):
            h.update(r)
            n += len(r)
    print(n, h.hexdigest())
PYEOF
	same "python3 multiprocessing Pool, 64 MB of results" "$PY" "$tmp/pool.py"
	ring_bytes "python3 Pool" 65536000
else
	echo "# no $PY: the Pool case is skipped"
fi

checks_done
