#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: each legacy program of test/legacy gives the same output and
# exit status natively, under LD_PRELOAD=libxos-shim.so, under xos-run and
# under xos-run --policy=perf (where its pipes and socketpairs go on rings
# and come back to the kernel); xos-run --stats records the EF tree and the
# channels as they happened.  A statically linked program is not managed
# but runs the same.
set -u
XOS_RUN=${XOS_RUN:-./xos-run}
XOS_SHIM=${XOS_SHIM:-./.libs/libxos-shim.so}
LEGACY_DIR=${LEGACY_DIR:-./test/legacy}
LEGACY_SRC=${LEGACY_SRC:-$(dirname "$0")}
CC=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../checks.sh"
unset XOS_POLICY XOS_ICF XOS_EXPLAIN

if [ ! -r "$XOS_SHIM" ]; then
	echo "SKIP: no libxos-shim.so at $XOS_SHIM"
	exit 77
fi
export XOS_SHIM

# same NAME PROG...: native run, then three managed runs, compared.
same() {
	name=$1; shift
	timeout 60 "$@" >"$tmp/native" 2>&1; want=$?
	for how in preload run perf; do
		case $how in
		preload) timeout 60 env LD_PRELOAD="$XOS_SHIM" "$@" >"$tmp/$how" 2>&1; got=$? ;;
		run) timeout 60 "$XOS_RUN" -- "$@" >"$tmp/$how" 2>&1; got=$? ;;
		perf) timeout 60 "$XOS_RUN" --policy=perf -- "$@" >"$tmp/$how" 2>&1; got=$? ;;
		esac
		if [ "$got" -eq "$want" ] && cmp -s "$tmp/native" "$tmp/$how"; then
			ok "$name ($how): same output, exit $want"
		else
			bad "$name ($how): exit $got (native $want)"
			diff "$tmp/native" "$tmp/$how" | head -n 20
		fi
	done
}

for p in fork-tree threads vfork-exec fork-threaded raw-clone cloexec eintr pipe-eof partial errno-kept downgrade many-pipes sock-eof stdio-pipe wide-pipe; do
	same "$p" "$LEGACY_DIR/$p"
done
same "pingpong pipe" "$LEGACY_DIR/pingpong" pipe 2000 64
same "pingpong unix" "$LEGACY_DIR/pingpong" unix 2000 64
same "pingpong tcp" "$LEGACY_DIR/pingpong" tcp 2000 64

if "$CC" -static -o "$tmp/static-hello" "$LEGACY_SRC/static-hello.c" 2>"$tmp/cc.err"; then
	same "static program" "$tmp/static-hello"
else
	echo "# cannot link statically here ($(head -n 1 "$tmp/cc.err")): static case skipped"
fi

# What --stats records.
json() { python3 -c "import json,sys; d=json.load(open('$tmp/s.json')); $1"; }
"$XOS_RUN" --stats="$tmp/s.json" -- "$LEGACY_DIR/fork-tree" >/dev/null 2>&1
check "fork-tree: 15 process EFs in a tree of depth 3" \
	'json "e=d[\"efs\"]; assert len(e)==15 and all(x[\"icf\"]==\"process\" for x in e); assert sum(1 for x in e if x[\"parent\"]==-1)==1"'
check "fork-tree: the leaf killed by SIGKILL is recorded so, the others exit" \
	'json "e=d[\"efs\"]; assert sum(1 for x in e if x[\"end\"]==\"signal\" and x[\"value\"]==9)==1; assert sum(1 for x in e if x[\"end\"]==\"exit\")==14"'
"$XOS_RUN" --stats="$tmp/s.json" -- "$LEGACY_DIR/threads" --tids >"$tmp/threads.out" 2>&1
check "threads: 16 thread EFs, 8 under the process and 8 under them" \
	'json "e=d[\"efs\"]; t=[x for x in e if x[\"icf\"]==\"thread\"]; assert len(t)==16; assert sum(1 for x in t if x[\"parent\"]==0)==8"'
check "threads: pthread_exit and return values recorded" \
	'json "t=[x for x in d[\"efs\"] if x[\"icf\"]==\"thread\"]; assert sum(1 for x in t if x[\"end\"]==\"pthread_exit\")==4; assert sum(1 for x in t if x[\"end\"]==\"return\")==12; assert any(x[\"value\"]==1003 for x in t)"'
check "threads: each thread EF has the id the kernel gave its thread" \
	'json "t=sorted(x[\"tid\"] for x in d[\"efs\"] if x[\"icf\"]==\"thread\"); k=sorted(int(v) for v in open(\"$tmp/threads.out\").read().split(\"tids\")[1].split()); assert t==k and len(set(k))==16, (t, k)"'
"$XOS_RUN" --stats="$tmp/s.json" -- "$LEGACY_DIR/vfork-exec" >/dev/null 2>&1
check "vfork-exec: the exec'd echo and the spawned sh are EFs with their names" \
	'json "n=[x[\"name\"] for x in d[\"efs\"]]; assert \"echo\" in n and \"sh\" in n"'
# A vfork child runs in its parent's memory: what it does to its own fds
# is not the parent's.  The pipe it only closed and replaced stays on its
# ring; those it copied onto stdout (echo) and stdin (cat) stay on theirs
# through its exec, held for the new image (test/legacy/vfork-rings):
# every byte through the rings.
"$XOS_RUN" --policy=perf --stats="$tmp/s.json" -- "$LEGACY_DIR/vfork-exec" >/dev/null 2>&1
check "vfork-exec: the pipes a vfork child copied (22 and 31 bytes) or closed and replaced (12) stay on their rings" \
	'json "c=d[\"channels\"]; assert [(x[\"mechanism\"], x[\"ring_bytes\"], x[\"kernel_bytes_written\"] + x[\"kernel_bytes_read\"], x[\"reason\"]) for x in c]==[(\"ring\", 22, 0, \"\"), (\"ring\", 12, 0, \"\"), (\"ring\", 31, 0, \"\")], c"'
# An exec'd program's end is recorded by its parent's wait; one whose
# parent went away first (an orphan nobody waits for) records its own.
"$XOS_RUN" --stats="$tmp/s.json" -- sh -c '(/usr/bin/python3 -c "import sys, time; time.sleep(0.2); sys.exit(7)" &); sleep 1; exec /bin/true' >/dev/null 2>&1
check "exec'd programs: each EF named after its program, ends as the kernel reported them (an orphan's too)" \
	'json "e=[(x[\"name\"], x[\"end\"], x[\"value\"]) for x in d[\"efs\"]]; assert e==[(\"true\", \"exit\", 0), (\"sh\", \"exit\", 0), (\"python3\", \"exit\", 7), (\"sleep\", \"exit\", 0)], e"'
"$XOS_RUN" --stats="$tmp/s.json" -- "$LEGACY_DIR/pingpong" pipe 100 1 >/dev/null 2>&1
check "policy off: channels stay native, count kernel bytes and say why" \
	'json "c=d[\"channels\"]; assert len(c)==2 and all(x[\"mechanism\"]==\"pipe\" and x[\"upgraded\"]==0 and x[\"reason\"]==\"the policy is not perf\" for x in c), c; assert sum(x[\"kernel_bytes_written\"] for x in c)==1600+(1<<20)"'
"$XOS_RUN" --policy=perf --stats="$tmp/s.json" -- "$LEGACY_DIR/pingpong" pipe 100 1 >/dev/null 2>&1
check "policy perf: both pipes on rings, every byte through them" \
	'json "c=d[\"channels\"]; assert len(c)==2 and all(x[\"mechanism\"]==\"ring\" for x in c); assert sum(x[\"ring_bytes\"] for x in c)==1600+(1<<20)"'
"$XOS_RUN" --policy=perf --stats="$tmp/s.json" -- "$LEGACY_DIR/pingpong" tcp 100 1 >/dev/null 2>&1
check "policy perf: the loopback TCP connection between parent and child pairs onto one ring" \
	'json "c=[x for x in d[\"channels\"] if x[\"upgraded\"]]; assert len(c)==2 and all(x[\"kind\"]==\"tcp\" and x[\"mechanism\"]==\"ring\" for x in c); assert sum(x[\"ring_bytes\"] + x[\"kernel_bytes_before_ring\"] for x in c)==1600+(1<<20); assert not sum(x[\"kernel_bytes_written\"] for x in c)"'
"$XOS_RUN" --policy=perf --stats="$tmp/s.json" -- "$LEGACY_DIR/downgrade" >/dev/null 2>&1
check "downgrade: fdopen moves its channel back, with the reason; the polled ones and dup onto stdin + exec keep their rings" \
	'json "c=d[\"channels\"]; r=sorted(x[\"downgrade_reason\"] for x in c if x[\"downgraded\"]); assert all(x[\"upgraded\"]==1 for x in c), c; assert r==[\"fdopen (stdio)\"], r; k=[x for x in c if not x[\"downgraded\"]]; assert len(k)==3 and all(x[\"mechanism\"]==\"ring\" and x[\"ring_bytes\"]>0 and x[\"kernel_bytes_written\"]==0 for x in k), k"'
"$XOS_RUN" --policy=perf --stats="$tmp/s.json" -- "$LEGACY_DIR/stdio-pipe" >/dev/null 2>&1
check "stdio-pipe: printf, fgets and fread on a pipe dup'ed onto 0/1 and exec'd stay on its ring" \
	'json "c=d[\"channels\"]; assert len(c)==1 and c[0][\"mechanism\"]==\"ring\" and c[0][\"downgraded\"]==0, c; assert c[0][\"ring_bytes\"]==3000*18+12*17+27+23+1288895 and c[0][\"kernel_bytes_written\"]==0, c"'
"$XOS_RUN" --policy=perf --stats="$tmp/s.json" -- "$LEGACY_DIR/many-pipes" >/dev/null 2>&1
check "200 pipes one after the other: each on a ring (rings nobody holds are reused)" \
	'json "c=d[\"channels\"]; assert len(c)==200 and all(x[\"upgraded\"]==1 and x[\"ring_bytes\"]==1000 for x in c), [x for x in c if not x[\"upgraded\"]][:2]"'
"$XOS_RUN" --policy=perf --stats="$tmp/s.json" -- python3 -c 'import os
for i in range(33000):
    r, w = os.pipe(); os.close(r); os.close(w)
os.pipe2(os.O_NONBLOCK)' >/dev/null 2>&1
check "past the channel table: a full table, then counted by kind and said so" \
	'json "c=d[\"channels\"]; u=d[\"unrecorded\"][\"channels\"]; assert len(c)==32768 and u.get(\"pipe\",0)>0 and u[\"pipe\"]+len(c)>=33001, (len(c), u); assert all(x[\"reason\"] or x[\"mechanism\"]==\"ring\" for x in c)"'
"$XOS_RUN" --policy=perf --stats="$tmp/s.json" -- "$LEGACY_DIR/wide-pipe" >/dev/null 2>&1
check "wide-pipe: a wide-stdio program's stdout pipe goes back to the kernel at the dup, and says so" \
	'json "c=d[\"channels\"]; assert len(c)==1 and c[0][\"reason\"]==\"dup onto stdin, stdout or stderr\" and c[0][\"ring_bytes\"]==0, c"'
"$XOS_RUN" --stats -- "$LEGACY_DIR/pipe-eof" >/dev/null 2>"$tmp/text"
check "--stats prints the tree and channels on stderr" \
	'grep -q "^xos-run: execution flows (6)" "$tmp/text" && grep -q "killed by signal 13" "$tmp/text" && grep -q "killed by signal 9" "$tmp/text" && grep -q "^xos-run: channels (5)" "$tmp/text"'
sh -c '"$0" -- sh -c "kill -TERM \$\$"' "$XOS_RUN" 2>/dev/null; st=$?
check "xos-run re-raises the program's fatal signal" '[ $st -eq 143 ]'

checks_done
