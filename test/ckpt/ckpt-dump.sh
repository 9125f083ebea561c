#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: dumps that do not stop the EF (xos_ef_dump_start): the image
# is the 100 MiB domain exactly as at the snapshot while the EF writes on;
# a write that fails (file size limit, full filesystem) is reported and
# leaves the previous image; a dumper killed by SIGKILL mid-write leaves
# the previous image, which restores in a new process, and a partial
# temporary file that restore refuses.
set -u
: "${XOS_RUN:?}" "${CKPT_PROG:?}"
tmp=$(mktemp -d)
trap 'umount "$tmp/small" 2>/dev/null; rm -rf "$tmp"' EXIT
fail=0
say() { echo "ckpt-dump: $*"; }
bad() { say "FAIL: $*"; fail=1; }
run() { "$XOS_RUN" --fixed-layout -- "$CKPT_PROG" "$@"; }

"$CKPT_PROG" api || { st=$?; [ $st -eq 77 ] && exit 77; bad "api (status $st)"; }
run snapshot "$tmp/img" || bad "snapshot"
run failwrite "$tmp/img2" || bad "failed write (RLIMIT_FSIZE)"

# A full filesystem: a tmpfs with room for one image only, where we may mount one.
mkdir "$tmp/small"
if mount -t tmpfs -o size=150m xos-ckpt-test "$tmp/small" 2>/dev/null; then
	run failwrite "$tmp/small/img" full || bad "failed write (full filesystem)"
	umount "$tmp/small"
else
	say "cannot mount a tmpfs here: full-filesystem case not run"
fi

# SIGKILL mid-write: the previous image stays, whole and valid.
tries=0; killed=0
while [ $tries -lt 5 ] && [ $killed -eq 0 ]; do
	tries=$((tries + 1))
	rm -f "$tmp"/imgk*
	run killmid "$tmp/imgk" >"$tmp/out" 2>&1; st=$?
	cat "$tmp/out"
	case $st in
	137) killed=1 ;;
	77) ;;
	*) bad "killmid: status $st"; break ;;
	esac
done
if [ $killed -eq 1 ]; then
	want=$(sed -n 's/.*good image at step \([0-9]*\).*/\1/p' "$tmp/out")
	got=$(run verify "$tmp/imgk") || bad "previous image after the kill: $got"
	echo "$got"
	echo "$got" | grep -q "restores to step $want," || bad "previous image is not the step $want one: $got"
	part=$(ls "$tmp"/imgk.tmp.* 2>/dev/null | head -n 1)
	if [ -n "$part" ]; then
		"$XOS_RUN" --restore "$part" "$CKPT_PROG" >/dev/null 2>"$tmp/err" &&
			bad "the partial temporary file restored"
		grep -q "truncated\|corrupted" "$tmp/err" || bad "partial file: $(cat "$tmp/err")"
		say "partial file refused: $(cat "$tmp/err")"
	fi
elif [ $fail -eq 0 ]; then
	say "the dump always ended before the kill: kill case not run"
fi
exit $fail
