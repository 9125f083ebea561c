# SPDX-License-Identifier: MIT
# The runtime: EFs, the VIC and its registries, policy, the host kit ICFs
# are written against, memory domains, mutate, dump and restore.  With the
# channel layer and the ICFs it makes libxos-core (everything of libxos, for
# the library and the unit tests), and libxos.
noinst_LTLIBRARIES += libxos-core.la
libxos_core_la_SOURCES = \
	%reldir%/xos_i.h \
	%reldir%/alloc.c \
	%reldir%/log.c \
	%reldir%/registry.c \
	%reldir%/com.c \
	%reldir%/policy.c \
	%reldir%/ef.c \
	%reldir%/lifeline.c \
	%reldir%/runtime.c \
	%reldir%/chanbind.c \
	%reldir%/options.c \
	%reldir%/hostkit.c \
	%reldir%/domain.c \
	%reldir%/domain_alloc.c \
	%reldir%/mutate.c \
	%reldir%/wake.c \
	%reldir%/dump.c \
	%reldir%/ckpt.c \
	%reldir%/restore_start.c \
	%reldir%/image.c \
	%reldir%/image_splice.c \
	%reldir%/lazy.c \
	%reldir%/image_i.h \
	%reldir%/sha256.c \
	%reldir%/arch/ctx.h
# The context switch for the host's CPU (configure: --disable-domains where none).
if XOS_CTX_X86_64
libxos_core_la_SOURCES += %reldir%/arch/x86_64/ctx.c
endif
libxos_core_la_CFLAGS = $(AM_CFLAGS) $(JEMALLOC_CFLAGS) $(LIBURING_CFLAGS)
libxos_core_la_LIBADD = $(JEMALLOC_LIBS) $(LIBURING_LIBS) $(DL_LIBS) libxos-chan.la
# The hosts of a launch (configure --with-pmix; without PMIx, one host).
# PMIx headers only: libpmix is dlopen'ed under a launcher (launch.c).
libxos_core_la_SOURCES += %reldir%/hosts_i.h %reldir%/hosts_proto.h %reldir%/hosts.c \
	%reldir%/hosts_migrate.c %reldir%/launch.c
libxos_core_la_CFLAGS += $(PMIX_CFLAGS)
if ENABLE_SANITIZERS
libxos_core_la_CFLAGS += -DXOS_SANITIZE=1
endif

lib_LTLIBRARIES += libxos.la
libxos_la_SOURCES =
libxos_la_LIBADD = libxos-core.la
libxos_la_LDFLAGS = $(AM_LDFLAGS) -no-undefined -version-info $(XOS_LT_VERSION) -pthread
# Never unmapped by dlclose: a process that hosted a domain EF keeps its
# SIGURG handler (wake.c), and its threads their TLS, in this library.
libxos_la_LDFLAGS += -Wl,-z,nodelete
if HAVE_LD_VERSION_SCRIPT
libxos_la_LDFLAGS += -Wl,--version-script=$(srcdir)/src/libxos.map
EXTRA_libxos_la_DEPENDENCIES = $(srcdir)/src/libxos.map
endif
