# SPDX-License-Identifier: MIT
# ABI and packaging: exports == debian/libxosN.symbols, each with a page.
XOS_SCRIPT_TESTS += %reldir%/abi-check.sh
