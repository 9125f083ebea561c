#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: the shim's shared area (a 66 MiB file in /dev/shm) never
# outlives xos-run, and neither does the program.  SIGTERM, SIGHUP, SIGINT
# sent to xos-run reach the program, after which xos-run removes the area
# and exits as the program did; after SIGKILL of xos-run the program is
# killed too and the next xos-run removes the dead run's area.  Normal ends
# and errors leave nothing either.  (Before: SIGTERM killed xos-run alone,
# leaving the program running and its area behind; so did SIGKILL.)
set -u
XOS_RUN=${XOS_RUN:-./xos-run}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../checks.sh"
unset XOS_POLICY XOS_ICF XOS_EXPLAIN XOS_CHAN

if [ -z "${XOS_SHIM:-}" ] || [ ! -r "$XOS_SHIM" ]; then
	echo "SKIP: no libxos-shim.so (XOS_SHIM)"
	exit 77
fi
export XOS_SHIM

# The program xos-run started, once it runs sleep; its area's path.
child_of() {
	i=0
	while [ $i -lt 100 ]; do
		c=$(cat /proc/"$1"/task/"$1"/children 2>/dev/null | awk '{print $1}')
		if [ -n "$c" ] && [ "$(cat /proc/"$c"/comm 2>/dev/null)" = sleep ]; then
			echo "$c"
			return 0
		fi
		sleep 0.05; i=$((i + 1))
	done
	return 1
}
area_of() { tr '\0' '\n' <"/proc/$1/environ" | sed -n 's/^XOS_SHIM_AREA=//p'; }
gone() { # PID: gone within 2 s (a zombie counts as gone)
	i=0
	while [ $i -lt 40 ]; do
		st=$(awk '{print $3}' /proc/"$1"/stat 2>/dev/null)
		[ -z "$st" ] || [ "$st" = Z ] && return 0
		sleep 0.05; i=$((i + 1))
	done
	return 1
}

# A background job of a script starts with SIGINT ignored: undo that.
dflt=
env --default-signal=INT true 2>/dev/null && dflt="env --default-signal=INT"
for sig in TERM HUP INT; do
	[ $sig = INT ] && [ -z "$dflt" ] && continue
	$dflt "$XOS_RUN" --policy=perf -- sleep 60 & run=$!
	child=$(child_of $run) || { bad "SIG$sig: the program did not start"; kill -9 $run; continue; }
	area=$(area_of "$child")
	check "SIG$sig: the area exists while the run lives ($area)" '[ -n "$area" ] && [ -f "$area" ]'
	kill -s $sig $run
	wait $run; st=$?
	case $sig in TERM) want=143 ;; HUP) want=129 ;; INT) want=130 ;; esac
	check "SIG$sig to xos-run: forwarded, the program ended, xos-run exits $want" \
		'[ $st -eq $want ] && gone $child'
	check "SIG$sig to xos-run: its area is removed" '[ -n "$area" ] && [ ! -e "$area" ]'
	kill -9 "$child" 2>/dev/null
done

"$XOS_RUN" --policy=perf -- sleep 60 & run=$!
child=$(child_of $run)
area=$(area_of "$child")
kill -9 $run
wait $run 2>/dev/null
check "SIGKILL to xos-run: the program is killed with it" 'gone $child'
"$XOS_RUN" -- true
check "SIGKILL to xos-run: the next xos-run removes the dead run's area" '[ -n "$area" ] && [ ! -e "$area" ]'
kill -9 "$child" 2>/dev/null

# A live run's area is not taken by another run starting meanwhile.
"$XOS_RUN" -- sleep 60 & run=$!
child=$(child_of $run)
area=$(area_of "$child")
"$XOS_RUN" -- true
check "a live run's area survives another run's start" '[ -n "$area" ] && [ -f "$area" ]'
kill -TERM $run; wait $run 2>/dev/null

# Normal ends and errors: no area named after these xos-run processes is
# left (other runs may come and go meanwhile).
left=
for prog in true "sh -c 'exit 5'" ./no-such-program-here "sh -c 'kill -SEGV \$\$'"; do
	eval "\"\$XOS_RUN\" --policy=perf -- $prog" 2>/dev/null & p=$!
	wait $p
	ls /dev/shm/xos-shim-$p-* /tmp/xos-shim-$p-* >/dev/null 2>&1 && left="$left $prog"
done
check "exit, failure, program not found, crash: no area left" '[ -z "$left" ]'

checks_done
