/* SPDX-License-Identifier: MIT */
/*
 * xos: execution flows and channels whose isolation (thread, process, ...)
 * and transport are chosen by a runtime, not by the source.  Applications
 * include this header and link with -lxos (pkg-config xos).
 */
#ifndef XOS_H
#define XOS_H

#include <xos/common.h>
#include <xos/ef.h>
#include <xos/chan.h>
#include <xos/mutate.h>

#endif /* XOS_H */
