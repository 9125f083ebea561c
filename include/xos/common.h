/* SPDX-License-Identifier: MIT */
/*
 * Definitions shared by every public xos header: symbol visibility, the
 * library version and the isolation levels that both applications (asking
 * for isolation) and ICFs (providing it) speak of.
 */
#ifndef XOS_COMMON_H
#define XOS_COMMON_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define XOS_EXPORT __attribute__((visibility("default")))
#else
#define XOS_EXPORT
#endif

#define XOS_VERSION_MAJOR 0
#define XOS_VERSION_MINOR 1

/*
 * How strongly an isolation context separates the EF it hosts from the
 * others, weakest first.  An EF asks for a minimum; an ICF declares what
 * its contexts provide.
 */
#define XOS_ISOLATION_MAP(X)                                                   \
	X(NONE, "none")         /* shares memory and kernel objects (thread) */ \
	X(MEMORY, "memory")     /* own address space and fd table (process) */  \
	X(SYSCALLS, "syscalls") /* plus a filtered kernel interface (sandbox) */ \
	X(KERNEL, "kernel")     /* own kernel (virtual machine) */

enum xos_isolation {
#define XOS_ISO_ENUM_(name, str) XOS_ISO_##name,
	XOS_ISOLATION_MAP(XOS_ISO_ENUM_)
#undef XOS_ISO_ENUM_
	XOS_ISO_COUNT_
};

#ifdef __cplusplus
}
#endif
#endif /* XOS_COMMON_H */
