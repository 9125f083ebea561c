# SPDX-License-Identifier: MIT
# The sandbox ICF: the ICF and its processes, the seccomp filters, the view
# and its masks and Landlock, the limits by cgroups.
libxos_core_la_SOURCES += %reldir%/sandbox.c %reldir%/sandbox_i.h \
	%reldir%/seccomp.c %reldir%/view.c \
	%reldir%/cgroup.c %reldir%/cgroup.h \
	%reldir%/wake_ef.c %reldir%/wake_ef.h
