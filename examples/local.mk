# SPDX-License-Identifier: MIT
# Examples, each written against the public headers only, built by make check.
check_PROGRAMS += %reldir%/ef-demo %reldir%/chan-demo
# The smallest ICF, against <xos/vic.h> only: registered, an EF created, joined, mutated out and back.
XOS_TESTS += %reldir%/icf-null
# A mechanism from outside libxos, on <xos/vic.h> only.
XOS_TESTS += %reldir%/mech-loop
