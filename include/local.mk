# SPDX-License-Identifier: MIT
# The public headers.
include_HEADERS = %reldir%/xos.h
xosincludedir = $(includedir)/xos
xosinclude_HEADERS += %reldir%/xos/common.h %reldir%/xos/ef.h %reldir%/xos/vic.h %reldir%/xos/chan.h \
	%reldir%/xos/mutate.h
