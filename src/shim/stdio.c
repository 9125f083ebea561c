/* SPDX-License-Identifier: MIT */
/*
 * stdio on a ring: glibc's FILE functions move their bytes with libc's
 * internal __read and __write, which no interposer sees (a program's
 * printf reaches the kernel fd directly).  So a ring on fd 0, 1 or 2 is
 * kept only once this image's stdin, stdout or stderr is a stream the
 * shim serves: a fopencookie(3) stream whose reads and writes call the
 * interposed read() and write() on the same fd number, buffered as the
 * stream it replaces was (unbuffered, line or fully buffered, its buffer's
 * size; else st_blksize bytes, as glibc for a pipe), with fileno() still
 * the fd.  The stream is swapped in only while the old one holds no
 * unread input or unwritten output, and only into a program that does not
 * use wide-character stdio (a cookie stream cannot be wide-oriented):
 * otherwise the caller moves the channel back to the kernel as before.
 */
#include "config.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim_i.h"

#undef fread_unlocked
/* glibc's libio.h flags, stable since glibc 2.0. */
#ifndef _IO_UNBUFFERED
#define _IO_UNBUFFERED 0x0002
#endif
#ifndef _IO_IN_BACKUP
#define _IO_IN_BACKUP 0x0100 /* reading an ungetc backup area */
#endif
#ifndef _IO_LINE_BUF
#define _IO_LINE_BUF 0x0200
#endif

struct served {
	FILE *fp;     /* the stream this image serves for fd 0, 1 or 2 */
	char *buf;
	bool closed;  /* fclose'd: fp is freed memory */
};
static struct served served[3];

static ssize_t served_read(void *cookie, char *buf, size_t len)
{
	return read((int)(intptr_t)cookie, buf, len);
}

/* glibc's own file streams write until done or an error: a short write
 * would set a cookie stream's error flag. */
static ssize_t served_write(void *cookie, const char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write((int)(intptr_t)cookie, buf + done, len - done);

		if (n < 0)
			return done ? (ssize_t)done : -1;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int served_seek(void *cookie, off64_t *pos, int whence)
{
	off64_t r = lseek64((int)(intptr_t)cookie, *pos, whence);

	if (r < 0)
		return -1;
	*pos = r;
	return 0;
}

static int served_close(void *cookie)
{
	int fd = (int)(intptr_t)cookie;

	if (fd >= 0 && fd <= 2)
		served[fd].closed = true;
	return close(fd);
}

/* Does the program itself call wide-character stdio (which a cookie
 * stream refuses)?  Its dynamic symbols say; .dynstr follows .dynsym. */
static int wide_scan(struct dl_phdr_info *info, size_t size, void *data)
{
	static const char *const wide[] = { "fwide", "wprintf", "fwprintf", "vwprintf", "vfwprintf",
					    "putwchar", "fputwc", "putwc", "fputws", "getwchar",
					    "fgetwc", "getwc", "fgetws", "ungetwc", "wscanf", "fwscanf",
					    "vwscanf", "vfwscanf", "__isoc99_wscanf", "__isoc99_fwscanf" };
	const Elf64_Sym *sym = NULL;
	const char *str = NULL;
	size_t strsz = 0;
	bool *uses = data;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const Elf64_Dyn *d;

		if (info->dlpi_phdr[i].p_type != PT_DYNAMIC)
			continue;
		for (d = (const Elf64_Dyn *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr); d->d_tag != DT_NULL; d++) {
			if (d->d_tag == DT_SYMTAB)
				sym = (const Elf64_Sym *)d->d_un.d_ptr;
			else if (d->d_tag == DT_STRTAB)
				str = (const char *)d->d_un.d_ptr;
			else if (d->d_tag == DT_STRSZ)
				strsz = d->d_un.d_val;
		}
	}
	if (!sym || !str || (const char *)sym >= str || (size_t)(str - (const char *)sym) > (64u << 20)) {
		*uses = sym != NULL; /* cannot tell: assume it does */
		return 1;
	}
	for (const Elf64_Sym *s = sym; (const char *)(s + 1) <= str; s++) {
		if (s->st_shndx != SHN_UNDEF || s->st_name >= strsz)
			continue;
		for (size_t k = 0; k < sizeof(wide) / sizeof(wide[0]); k++)
			if (strcmp(str + s->st_name, wide[k]) == 0)
				*uses = true;
	}
	return 1; /* the first object is the program */
}

static bool program_uses_wide_stdio(void)
{
	static int known; /* 0 unknown, 1 no, 2 yes */
	bool uses = false;

	if (!known) {
		dl_iterate_phdr(wide_scan, &uses);
		known = uses ? 2 : 1;
	}
	return known == 2;
}

static FILE **std_stream(int fd)
{
	return fd == 0 ? &stdin : fd == 1 ? &stdout : &stderr;
}

bool shim_stdio_serve(int fd)
{
	static const cookie_io_functions_t io = {
		.read = served_read, .write = served_write, .seek = served_seek, .close = served_close,
	};
	FILE **slot, *old, *fp;
	struct stat st;
	size_t size = 4096;
	char *buf = NULL;

	if (fd < 0 || fd > 2 || !shim_own_process())
		return false;
	slot = std_stream(fd);
	old = *slot;
	if (served[fd].fp && old == served[fd].fp)
		return !served[fd].closed;
	/* Bytes buffered in the old stream would come out of order. */
	if (!old || old->_IO_read_ptr != old->_IO_read_end || old->_IO_write_ptr != old->_IO_write_base ||
	    program_uses_wide_stdio())
		return false;
	fp = fopencookie((void *)(intptr_t)fd, fd == 0 ? "r" : "w", io);
	if (!fp)
		return false;
	fp->_fileno = fd; /* fileno(), and fclose() closing the fd */
	/* Buffered as the old stream was set to (setvbuf, or stderr's
	 * default), else as glibc would choose for this fd: st_blksize. */
	if (old->_flags & _IO_UNBUFFERED) {
		setvbuf(fp, NULL, _IONBF, 0);
	} else {
		if (old->_IO_buf_base && old->_IO_buf_end > old->_IO_buf_base)
			size = (size_t)(old->_IO_buf_end - old->_IO_buf_base);
		else if (fstat(fd, &st) == 0 && st.st_blksize > 0 && st.st_blksize <= (1 << 20))
			size = (size_t)st.st_blksize;
		buf = malloc(size);
		if (buf)
			setvbuf(fp, buf, (old->_flags & _IO_LINE_BUF) ? _IOLBF : _IOFBF, size);
	}
	served[fd].fp = fp; /* the old buffer may still be a reopened stream's */
	served[fd].closed = false;
	served[fd].buf = buf;
	*slot = fp;
	return true;
}

/*
 * At exit, libc flushes these streams after the atexit handlers, as it
 * would its own, so after the shim let go of its rings (exit, return from
 * main): those writes still reach the ring, which the reader holds (a
 * ring nobody holds is free, and a write that finds it reused goes to the
 * kernel pipe, which then has no reader either).
 */

/*
 * fread on a served stdin reads as glibc's file streams do: what the
 * buffer holds, then whole buffers straight into the caller's memory, and
 * the tail through the buffer.  (A cookie stream would take every large
 * read in buffer-sized pieces: 4 KiB ring reads instead of 32 KiB.)
 * Called with the stream locked.
 */
static size_t served_fread(void *ptr, size_t size, size_t n, FILE *fp,
			   size_t (*tail_read)(void *, size_t, size_t, FILE *))
{
	size_t want = size * n, bufsize = (size_t)(fp->_IO_buf_end - fp->_IO_buf_base);
	char *s = ptr;

	while (want >= bufsize && bufsize >= 128 && !(fp->_flags & (_IO_EOF_SEEN | _IO_ERR_SEEN))) {
		size_t have = (size_t)(fp->_IO_read_end - fp->_IO_read_ptr), count;
		ssize_t got;

		if (have) {
			memcpy(s, fp->_IO_read_ptr, have);
			fp->_IO_read_ptr += have;
			s += have;
			want -= have;
			continue;
		}
		/* As glibc: empty the buffer's read and write areas first. */
		fp->_IO_read_base = fp->_IO_read_ptr = fp->_IO_read_end = fp->_IO_buf_base;
		fp->_IO_write_base = fp->_IO_write_ptr = fp->_IO_write_end = fp->_IO_buf_base;
		count = want - want % bufsize;
		got = read(fp->_fileno, s, count);
		if (got <= 0) {
			fp->_flags |= got == 0 ? _IO_EOF_SEEN : _IO_ERR_SEEN;
			return (size * n - want) / size;
		}
		s += got;
		want -= (size_t)got;
	}
	if (want)
		want -= tail_read(s, 1, want, fp);
	return (size * n - want) / size;
}

static bool served_input(FILE *fp)
{
	return fp && fp == served[0].fp && !served[0].closed && fp->_fileno == 0 && fp->_IO_buf_base &&
	       !(fp->_flags & _IO_IN_BACKUP) && !fp->_IO_save_base;
}

static size_t (*real_fread(void))(void *, size_t, size_t, FILE *)
{
	static size_t (*real)(void *, size_t, size_t, FILE *);

	if (!real)
		real = (size_t(*)(void *, size_t, size_t, FILE *))dlsym(RTLD_NEXT, "fread");
	return real;
}

static size_t (*real_fread_unlocked(void))(void *, size_t, size_t, FILE *)
{
	static size_t (*real)(void *, size_t, size_t, FILE *);

	if (!real)
		real = (size_t(*)(void *, size_t, size_t, FILE *))dlsym(RTLD_NEXT, "fread_unlocked");
	return real;
}

SHIM_EXPORT size_t fread_unlocked(void *ptr, size_t size, size_t n, FILE *fp)
{
	if (size && n && n <= SIZE_MAX / size && served_input(fp))
		return served_fread(ptr, size, n, fp, real_fread_unlocked());
	return real_fread_unlocked()(ptr, size, n, fp);
}

SHIM_EXPORT size_t fread(void *ptr, size_t size, size_t n, FILE *fp)
{
	size_t r;

	if (!(size && n && n <= SIZE_MAX / size && fp && fp == served[0].fp))
		return real_fread()(ptr, size, n, fp);
	flockfile(fp);
	r = served_input(fp) ? served_fread(ptr, size, n, fp, real_fread_unlocked())
			     : real_fread_unlocked()(ptr, size, n, fp);
	funlockfile(fp);
	return r;
}

/* freopen gives the stream back to glibc's own file functions, which write
 * behind the shim's back: the fd's channel goes back to the kernel first. */
static FILE *reopen(const char *name, const char *path, const char *mode, FILE *fp)
{
	FILE *(*real)(const char *, const char *, FILE *) =
		(FILE * (*)(const char *, const char *, FILE *)) dlsym(RTLD_NEXT, name);
	int fd;

	if (!real) {
		errno = ENOSYS;
		return NULL;
	}
	if (fp && (fd = fp->_fileno) >= 0) {
		struct shim_fd *f = shim_fd_get(fd);

		if (f && f->ring) {
			SHIM_ERRNO_SAVE;
			fflush(fp);
			shim_ring_downgrade(fd, f, "freopen (stdio)", true);
			SHIM_ERRNO_RESTORE();
		}
	}
	for (int i = 0; i < 3; i++)
		if (fp && fp == served[i].fp)
			served[i].fp = NULL; /* glibc's from now on */
	return real(path, mode, fp);
}

SHIM_EXPORT FILE *freopen(const char *path, const char *mode, FILE *fp)
{
	return reopen("freopen", path, mode, fp);
}

SHIM_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *fp)
{
	return reopen("freopen64", path, mode, fp);
}
