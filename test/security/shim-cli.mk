# SPDX-License-Identifier: MIT
# test/security: attacks on shim-cli, each a small program asserting the attack
# is stopped.  Included from Makefile.am.

# Every bad xos-run invocation: exit 2, one line, nothing run.
TESTS += test/security/cli-usage.sh
EXTRA_DIST += test/security/cli-usage.sh
