# SPDX-License-Identifier: MIT
# test/security: attacks on shim-cli, each a small program asserting the attack
# is stopped.  Included from Makefile.am.
