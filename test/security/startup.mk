# SPDX-License-Identifier: MIT
# test/security: start-up cost of xos-run.  Included from Makefile.am.

# xos-run creates no namespace unless a decision needs the sandbox; --list-icfs still tells the truth.
TESTS += test/security/startup-lazy-probe.sh
EXTRA_DIST += test/security/startup-lazy-probe.sh
