#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: dump an EF in one process, restore it in another with
# xos-run --restore IMAGE PROGRAM, same result (also under --key-file); corrupted, truncated, foreign-binary,
# non-image and unrecreatable-layout images are refused with one line on
# stderr and a non-zero exit status.
set -u
: "${XOS_RUN:?}" "${RESTORE_PROG:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
say() { echo "ef-restore: $*"; }
bad() { say "FAIL: $*"; fail=1; }

expected=$("$RESTORE_PROG" run); want_status=$?
[ "$want_status" -eq 77 ] && { echo "$expected"; exit 77; }
say "unmutated run: $expected (status $want_status)"

out=$("$XOS_RUN" --fixed-layout -- "$RESTORE_PROG" dump "$tmp/img")
[ "$out" = "$expected" ] || bad "dumping run printed '$out', want '$expected'"
[ -s "$tmp/img" ] || { bad "no image written"; exit 1; }
ls "$tmp" | grep -q tmp && bad "temporary file left behind"

got=$("$XOS_RUN" --restore "$tmp/img" "$RESTORE_PROG" 2>"$tmp/err"); status=$?
[ "$got" = "$expected" ] || bad "restored EF printed '$got', want '$expected' ($(cat "$tmp/err"))"
[ "$status" -eq "$want_status" ] || bad "restored status $status, want $want_status"
say "restored: $got (status $status)"

# refuse IMAGE WORDS [PROGRAM]: xos-run --restore IMAGE PROGRAM fails with one line matching WORDS
refuse() {
	"$XOS_RUN" --restore "$1" "${3:-$RESTORE_PROG}" >"$tmp/out" 2>"$tmp/err"; st=$?
	lines=$(wc -l <"$tmp/err")
	if [ "$st" -eq 0 ] || [ "$lines" -ne 1 ] || ! grep -q "$2" "$tmp/err" || [ -s "$tmp/out" ]; then
		bad "$1: status $st, stderr: $(cat "$tmp/err"), want one line with '$2'"
	else
		say "refused $(basename "$1"): $(cat "$tmp/err")"
	fi
}

size=$(stat -c %s "$tmp/img")
cp "$tmp/img" "$tmp/corrupt"
printf '\377\000\377' | dd of="$tmp/corrupt" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
refuse "$tmp/corrupt" "corrupted"
cp "$tmp/img" "$tmp/corrupt-hdr"
printf 'Q' | dd of="$tmp/corrupt-hdr" bs=1 seek=200 conv=notrunc 2>/dev/null
refuse "$tmp/corrupt-hdr" "corrupted"
head -c $((size - 4096)) "$tmp/img" >"$tmp/truncated"
refuse "$tmp/truncated" "truncated"
head -c 100 "$tmp/img" >"$tmp/stub"
refuse "$tmp/stub" "truncated"
head -c 5000 /dev/urandom >"$tmp/noise"
refuse "$tmp/noise" "not an xos image"

# Keyed: dumped and restored under --key-file; refused without the key or under another.
(umask 077; printf 'restore-test-key' >"$tmp/key"; printf 'another-key' >"$tmp/key2")
out=$("$XOS_RUN" --fixed-layout --key-file="$tmp/key" -- "$RESTORE_PROG" dump "$tmp/imgk")
[ -s "$tmp/imgk" ] || bad "no keyed image written"
got=$("$XOS_RUN" --key-file="$tmp/key" --restore "$tmp/imgk" "$RESTORE_PROG" 2>"$tmp/err")
[ "$got" = "$expected" ] || bad "keyed restore printed '$got', want '$expected' ($(cat "$tmp/err"))"
refuse "$tmp/imgk" "keyed"
"$XOS_RUN" --key-file="$tmp/key2" --restore "$tmp/imgk" "$RESTORE_PROG" >/dev/null 2>"$tmp/err" &&
	bad "keyed image restored under another key"
grep -q "not authenticated" "$tmp/err" || bad "another key: $(cat "$tmp/err")"
XOS_IMAGE_KEY_FILE="$tmp/key" refuse "$tmp/img" "not authenticated"

# An image of a binary that has since been replaced by another one.
cp "$RESTORE_PROG" "$tmp/prog"
"$XOS_RUN" --fixed-layout -- "$tmp/prog" dump "$tmp/img2" >/dev/null
[ -s "$tmp/img2" ] || bad "dump with a copy"
cp "$XOS_DEMO_BIN" "$tmp/prog"
refuse "$tmp/img2" "different binary" "$tmp/prog"

# An image made with address randomisation on cannot be laid out again.
if [ "$(cat /proc/sys/kernel/randomize_va_space 2>/dev/null || echo 0)" != 0 ]; then
	"$RESTORE_PROG" dump "$tmp/img3" >/dev/null
	[ -s "$tmp/img3" ] || bad "dump with randomisation"
	refuse "$tmp/img3" "layout"
fi
exit $fail
