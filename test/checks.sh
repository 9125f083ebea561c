# SPDX-License-Identifier: MIT
# Sourced by the shell tests: TAP-like "ok N - what" / "not ok - what"
# lines, counted; checks_done prints the tally and fails if any failed.
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok $pass - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }
# check WHAT EXPR: ok if the shell expression EXPR (eval'ed) is true.
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
checks_done() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; }
