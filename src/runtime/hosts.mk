# SPDX-License-Identifier: MIT
# The hosts of a launch: EFs on other machines through a PMIx launcher
# (src/runtime/hosts.c, launch.c).  Included from Makefile.am.
libxos_core_la_SOURCES += \
	src/runtime/hosts_i.h \
	src/runtime/hosts.c \
	src/runtime/launch.c
libxos_core_la_CFLAGS += $(PMIX_CFLAGS)
libxos_core_la_LIBADD += $(PMIX_LIBS)
