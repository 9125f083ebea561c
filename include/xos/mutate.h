/* SPDX-License-Identifier: MIT */
/*
 * Memory domains, mutate, dump and restore.
 *
 * An EF created with XOS_EF_F_DOMAIN owns a memory domain: an address
 * range reserved for it alone, backed by a memfd, holding its stack and
 * its heap.  Its code runs on the domain's stack, so the EF can change
 * hands: xos_ef_mutate() moves it between ICFs (thread <-> process, any
 * ICF through the process pivot) while it runs, xos_ef_dump() writes it
 * to a file that xos_ef_restore() (or xos-run --restore) continues in a
 * new process of the same binary.
 *
 * The EF changes hands only at a safe point: xos_ef_yield(), and every
 * xos_* call made on its flow that documents itself as one (xos_malloc
 * and friends, xos_ef_fd_attach).  What moves: the domain (stack, heap
 * of xos_malloc, and of plain malloc with XOS_EF_F_DOMAIN_MALLOC), the
 * registers, and the fds the EF attached.  What does not: globals written
 * after creation, __thread variables, fds it did not attach (see xos(7)).
 *
 * Every function returning int returns 0 on success and a negative errno
 * on failure; errno is left untouched.
 */
#ifndef XOS_MUTATE_H
#define XOS_MUTATE_H

#include <stddef.h>

#include <xos/common.h>
#include <xos/ef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* struct xos_ef_attr.flags */
enum {
	XOS_EF_F_DOMAIN = 1u << 0,        /* own memory domain: mutable, dumpable */
	XOS_EF_F_DOMAIN_MALLOC = 1u << 1, /* plus: plain malloc on its flow goes to the domain */
};

/* Default domain size when attr.domain_size is 0 and XOS_DOMAIN_SIZE is unset. */
#define XOS_DOMAIN_SIZE_DEFAULT ((size_t)64 << 20)

/* Move @ef to ICF @icf at its next safe point; waits until it runs there. */
XOS_EXPORT int xos_ef_mutate(struct xos_ef *ef, const char *icf);

/*
 * Move domain EF @ef to @host, another host of the launch ("self": the
 * creator's), at its next safe point: its image goes over the launch's
 * connection and is restored there, where the policy chooses its ICF again.
 */
XOS_EXPORT int xos_ef_migrate(struct xos_ef *ef, const char *host);

/* A safe point: where the calling EF may be mutated, parked or dumped. */
XOS_EXPORT int xos_ef_yield(void);

/* Write @ef (domain, registers, fd table) to @path atomically, at its next safe point. */
XOS_EXPORT int xos_ef_dump(struct xos_ef *ef, const char *path);

/* xos_ef_dump_start() flags */
enum {
	XOS_DUMP_F_STOP = 1u << 0, /* keep the EF parked until the image is written (no copy-on-write) */
};

/*
 * Start writing @ef to @path and let it run on: the EF is parked only while
 * its memory is write-protected (copy on write), and the image is written
 * in the background, atomically (temporary file, renamed when complete).
 * One dump at a time per EF; its result comes from xos_ef_dump_wait().
 */
XOS_EXPORT int xos_ef_dump_start(struct xos_ef *ef, const char *path, unsigned int flags);

/*
 * The result of @ef's background dump, waiting up to @timeout_ms (-1:
 * until done, 0: do not wait): 0 when the image is at its path, the write's
 * negative errno when it failed (the previous file at the path untouched),
 * -EAGAIN while it runs, -ENOENT when no dump was started.
 */
XOS_EXPORT int xos_ef_dump_wait(struct xos_ef *ef, int timeout_ms);

/* Rebuild the EF dumped in @path in this process and let it continue; join it later. */
XOS_EXPORT int xos_ef_restore(const char *path, struct xos_ef **ret_ef);

/*
 * Check image @path (file owner and mode, format, bounds, checksum, and the
 * MAC when XOS_IMAGE_KEY_FILE is set); store the path the image records for
 * the dumping binary in @ret_exe: for messages only, never run it.
 */
XOS_EXPORT int xos_image_check(const char *path, char *ret_exe, size_t exe_len);

/* Check image @path as xos_image_check() does, and that the binary open at @exe_fd made it. */
XOS_EXPORT int xos_image_match(const char *path, int exe_fd);

/* Why an image was refused, in words, for an error of xos_image_check() or xos_ef_restore(). */
XOS_EXPORT const char *xos_image_error(int err);

/* The calling EF owns @fd: it moves with the EF (SCM_RIGHTS) at every mutate. */
XOS_EXPORT int xos_ef_fd_attach(int fd);

/* Stop moving @fd with the calling EF. */
XOS_EXPORT int xos_ef_fd_detach(int fd);

/* Allocate in the calling EF's domain (outside a domain EF: the C library's heap). */
XOS_EXPORT void *xos_malloc(size_t size);
XOS_EXPORT void *xos_calloc(size_t n, size_t size);
XOS_EXPORT void *xos_realloc(void *p, size_t size);
XOS_EXPORT void *xos_aligned_alloc(size_t alignment, size_t size);
/* Free memory of any domain (by address) or of the C library; NULL is a no-op. */
XOS_EXPORT void xos_free(void *p);

#ifdef __cplusplus
}
#endif
#endif /* XOS_MUTATE_H */
