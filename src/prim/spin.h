/* SPDX-License-Identifier: MIT */
/*
 * Shared primitives of libxos and libxos-shim.so (see futex.h): the body
 * of a spin-wait loop.
 */
#ifndef XOS_PRIM_SPIN_H
#define XOS_PRIM_SPIN_H

/* Tell the CPU this is a spin-wait (yields the core to its sibling thread). */
static inline void xos__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

#endif /* XOS_PRIM_SPIN_H */
