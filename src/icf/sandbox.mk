# SPDX-License-Identifier: MIT
# The sandbox ICF (src/icf/sandbox.c), its tests, benchmark and pages, and the
# EF options it reads through the VIC (src/runtime/options.c).
# Included from Makefile.am.
libxos_core_la_SOURCES += src/icf/sandbox.c src/runtime/options.c
