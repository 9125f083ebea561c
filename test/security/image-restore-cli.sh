#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: `xos-run --restore` is an action of its own: combined with
# another action (--list-icfs, --stats, --fixed-layout), without the
# program to restore into, or followed by program arguments, it fails
# with one line on stderr and exit status 2 (it used to ignore them and
# run the binary the image names).  A bad --key-file is refused the same way.
set -u
: "${XOS_RUN:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
printf 'not an image' >"$tmp/img"
chmod 600 "$tmp/img"
printf 'k' >"$tmp/key"
chmod 644 "$tmp/key"

usage_error() {
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null; st=$?
	if [ "$st" -ne 2 ] || [ "$(wc -l <"$tmp/err")" -ne 1 ] || [ -s "$tmp/out" ]; then
		echo "FAIL: $*: status $st, stderr: $(cat "$tmp/err"), stdout: $(head -c 200 "$tmp/out")"
		fail=1
	else
		echo "ok: $*: $(cat "$tmp/err")"
	fi
}

usage_error "$XOS_RUN" --restore="$tmp/img" --list-icfs
usage_error "$XOS_RUN" --list-icfs --restore="$tmp/img"
usage_error "$XOS_RUN" --restore="$tmp/img" --stats /bin/true
usage_error "$XOS_RUN" --restore="$tmp/img" --fixed-layout /bin/true
usage_error "$XOS_RUN" --restore="$tmp/img"
usage_error "$XOS_RUN" --restore="$tmp/img" /bin/true extra-argument
usage_error "$XOS_RUN" --restore="$tmp/img" -- /bin/true -c 'echo ran'
usage_error "$XOS_RUN" --restore=
usage_error "$XOS_RUN" --key-file="$tmp/key" --restore="$tmp/img" /bin/true
usage_error "$XOS_RUN" --key-file="$tmp/missing" -- /bin/true
chmod 600 "$tmp/key"
ln -s "$tmp/key" "$tmp/key-link"
usage_error "$XOS_RUN" --key-file="$tmp/key-link" -- /bin/true
exit $fail
