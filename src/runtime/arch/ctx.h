/* SPDX-License-Identifier: MIT */
/*
 * Private to libxos: the context switch that runs an EF on its domain
 * stack (mutate.c), one implementation per CPU in arch/<cpu>/ctx.c.
 * configure builds the one for the host's CPU and defines XOS_HAVE_CTX;
 * without one, EFs get no domain (create, mutate, dump and restore of a
 * domain EF answer -EOPNOTSUPP) and nothing here is ever called.
 */
#ifndef XOS_ARCH_CTX_H
#define XOS_ARCH_CTX_H

#include <stdlib.h>

#include "../xos_i.h"

#ifdef XOS_HAVE_CTX
/*
 * Save the current context (callee-saved registers, FP control state) on
 * the current stack, store that stack pointer in *@save, and continue in
 * the context whose stack pointer is @to.
 */
void xos__ctx_swap(void **save, void *to) XOS_HIDDEN;
/*
 * Lay out, below @stack_hi, a first context whose xos__ctx_swap() calls
 * @entry(@arg) on that stack with the ABI's default FP state; returns its
 * stack pointer.  @entry must never return.
 */
void *xos__ctx_init(uintptr_t stack_hi, void (*entry)(void *), void *arg) XOS_HIDDEN;
#else
/* Never reached: no EF has a domain where configure found no context switch. */
static inline void xos__ctx_swap(void **save, void *to)
{
	(void)save, (void)to;
	abort();
}
static inline void *xos__ctx_init(uintptr_t stack_hi, void (*entry)(void *), void *arg)
{
	(void)stack_hi, (void)entry, (void)arg;
	return NULL;
}
#endif

#endif /* XOS_ARCH_CTX_H */
