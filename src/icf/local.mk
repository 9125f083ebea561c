# SPDX-License-Identifier: MIT
# The built-in ICFs of libxos-core: threads and processes (the sandbox has
# a folder and a fragment of its own).
libxos_core_la_SOURCES += %reldir%/thread.c %reldir%/process.c
