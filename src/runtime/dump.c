/* SPDX-License-Identifier: MIT */
/*
 * EF images: dump a parked EF to a file, rebuild the EF from one.
 *
 * The format and every check of what is read are in image.c (image_i.h).
 * The checksum (and, with a key, the HMAC-SHA256) covers everything.
 * Written to a temporary file, fsync'ed, renamed over the target,
 * directory fsync'ed: a reader sees the old image or the new one, never
 * half of one.  The registers are in the domain (pushed on the EF's stack
 * at its safe point), so they need no section of their own.
 *
 * A restore happens only in the running program: the image's build-id
 * must be that of /proc/self/exe.  The path of the dumping binary the
 * image records is for messages; nothing opens or runs it.
 */
#include "config.h"

#include <elf.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../prim/sendall.h"
#include "image_i.h"

#define CHUNK XOS__IMAGE_CHUNK /* stays in L2: hash and copy hit the cache */

#if defined(__SANITIZE_ADDRESS__)
#define XOS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define XOS_ASAN 1
#endif
#endif
#ifndef XOS_ASAN
#define XOS_ASAN 0
#endif

/* ---- what the image records about the process ---------------------------------- */

/* The GNU build-id note of the ELF file open at @fd; its length, or a negative errno. */
static int build_id_fd(int fd, uint8_t *id, size_t max)
{
	Elf64_Ehdr eh;
	int rc = -ENOENT;

	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256) {
		rc = -ENOEXEC;
		goto out;
	}
	for (unsigned int i = 0; i < eh.e_phnum && rc == -ENOENT; i++) {
		Elf64_Phdr ph;
		unsigned char notes[4096];
		size_t len, off = 0;

		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != (ssize_t)sizeof(ph))
			break;
		if (ph.p_type != PT_NOTE)
			continue;
		len = ph.p_filesz < sizeof(notes) ? ph.p_filesz : sizeof(notes);
		if (pread(fd, notes, len, (off_t)ph.p_offset) != (ssize_t)len)
			break;
		while (off + sizeof(Elf64_Nhdr) <= len) {
			Elf64_Nhdr nh;
			size_t name_at, desc_at;

			memcpy(&nh, notes + off, sizeof(nh));
			name_at = off + sizeof(nh);
			desc_at = name_at + ((nh.n_namesz + 3) & ~3u);
			if (desc_at + nh.n_descsz > len)
				break;
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    memcmp(notes + name_at, "GNU", 4) == 0 && nh.n_descsz <= max) {
				memcpy(id, notes + desc_at, nh.n_descsz);
				rc = (int)nh.n_descsz;
				break;
			}
			off = desc_at + ((nh.n_descsz + 3) & ~3u);
		}
	}
out:
	return rc;
}

/* The build-id of the running program (its own inode, whatever its path now names): read once. */
static uint8_t self_id[64];
static int self_id_len;
static pthread_once_t self_id_once = PTHREAD_ONCE_INIT;

static void self_id_read(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	self_id_len = fd < 0 ? -errno : build_id_fd(fd, self_id, sizeof(self_id));
	if (fd >= 0)
		close(fd);
}

int xos__image_build_id_self(uint8_t *id, size_t max)
{
	pthread_once(&self_id_once, self_id_read);
	if (self_id_len < 0)
		return self_id_len;
	if ((size_t)self_id_len > max)
		return -ENOBUFS;
	memcpy(id, self_id, (size_t)self_id_len);
	return self_id_len;
}

/* The executable file mappings of this process (binary, libraries); their count. */
int xos__image_exec_maps(struct img_map *maps, size_t max)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[1024];
	int n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && (size_t)n < max) {
		unsigned long long start, end, off;
		char perms[8], path[600];

		path[0] = '\0';
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %599[^\n]", &start, &end, perms, &off,
			   path) < 4)
			continue;
		if (perms[2] != 'x' || path[0] != '/')
			continue;
		maps[n].start = start;
		maps[n].end = end;
		maps[n].offset = off;
		snprintf(maps[n].path, sizeof(maps[n].path), "%s", path);
		n++;
	}
	fclose(f);
	return n;
}

/* ---- writing ----------------------------------------------------------------------- */

int xos__image_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int xos__image_write_tables(int fd, const struct img_hdr *hdr, const struct img_map *maps,
			    const struct img_ext *ext)
{
	int rc = xos__image_write_all(fd, hdr, sizeof(*hdr));

	if (!rc)
		rc = xos__image_write_all(fd, maps, hdr->nmaps * sizeof(*maps));
	if (!rc)
		rc = xos__image_write_all(fd, ext, hdr->nextents * sizeof(*ext));
	/* Room for the chunk table, written once every chunk is summed. */
	if (!rc && lseek(fd, (off_t)(xos__image_nchunks(ext, hdr->nextents) * sizeof(struct img_chunk)),
			 SEEK_CUR) < 0)
		rc = -errno;
	return rc;
}

int xos__image_ext_add(struct img_ext **ext, size_t *n, size_t *cap, uint64_t off, uint64_t len)
{
	if (*n == *cap) {
		size_t want = *cap ? *cap * 2 : 64;
		struct img_ext *grown;

		if (want > IMG_EXTENTS_MAX)
			return -E2BIG;
		grown = xos__malloc(want * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		if (*n)
			memcpy(grown, *ext, *n * sizeof(*grown));
		xos__free(*ext);
		*ext = grown;
		*cap = want;
	}
	(*ext)[*n].off = off;
	(*ext)[*n].len = len;
	(*n)++;
	return 0;
}

/* The data extents of @memfd within [0, size). */
int xos__image_extents(int memfd, size_t size, struct img_ext **ret, uint32_t *ret_n)
{
	struct img_ext *ext = NULL;
	size_t n = 0, cap = 0;
	off_t off = 0;
	int rc;

	while ((size_t)off < size) {
		off_t data = lseek(memfd, off, SEEK_DATA), hole;

		if (data < 0)
			break; /* ENXIO: no more data */
		hole = lseek(memfd, data, SEEK_HOLE);
		if (hole < 0 || (size_t)hole > size)
			hole = (off_t)size;
		rc = xos__image_ext_add(&ext, &n, &cap, (uint64_t)data, (uint64_t)(hole - data));
		if (rc < 0) {
			xos__free(ext);
			return rc;
		}
		off = hole;
	}
	*ret = ext;
	*ret_n = (uint32_t)n;
	return 0;
}

int xos__image_hdr_init(const struct xos_ef *ef, const struct xos__image_key *key,
			struct img_hdr *hdr, struct img_map *maps)
{
	const struct xos__domain *d = ef->dom;
	int rc, n;

	memset(hdr, 0, sizeof(*hdr));
	memcpy(hdr->magic, IMG_MAGIC, 8);
	hdr->version = IMG_VERSION;
	hdr->hdr_size = sizeof(*hdr);
	hdr->flags = key->set ? IMG_F_KEYED : 0;
	if (readlink("/proc/self/exe", hdr->exe, sizeof(hdr->exe) - 1) < 0)
		return -errno;
	rc = xos__image_build_id_self(hdr->build_id, sizeof(hdr->build_id));
	if (rc < 0)
		return rc;
	hdr->build_id_len = (uint32_t)rc;
	hdr->dom_base = d->base;
	hdr->dom_size = d->size;
	hdr->personality = (uint32_t)personality(0xffffffff);
	hdr->ef_id = ef->id;
	snprintf(hdr->name, sizeof(hdr->name), "%s", ef->name);
	n = xos__image_exec_maps(maps, IMG_MAPS_MAX);
	if (n < 0)
		return n;
	hdr->nmaps = (uint32_t)n;
	return 0;
}

void xos__image_hdr_extents(struct img_hdr *hdr, const struct img_ext *ext, uint32_t n)
{
	uint64_t total = sizeof(*hdr) + hdr->nmaps * sizeof(struct img_map) + n * sizeof(*ext) +
			 xos__image_nchunks(ext, n) * sizeof(struct img_chunk);

	hdr->nextents = n;
	for (uint32_t i = 0; i < n; i++)
		total += ext[i].len;
	hdr->file_size = total;
}

/*
 * Where an image goes: a file (seekable: the chunk table and the sealed
 * header are written at their places at the end) or a stream socket (they
 * follow the data: see xos__image_stream_load).  @head, for a stream, is
 * told the stream's length before its first byte.
 */
struct image_sink {
	int fd;
	bool stream;
	int (*head)(void *arg, uint64_t len);
	void *arg;
};

static int sink_put(const struct image_sink *k, const void *buf, size_t len)
{
	return k->stream ? xos__send_all(k->fd, buf, len) : xos__image_write_all(k->fd, buf, len);
}

/*
 * The image of the parked @ef into @k, its domain read once: chunk by
 * chunk, each hashed and written while still in cache, straight from the
 * domain where this process maps it (one copy fewer), else read from the
 * memfd into a small buffer.
 */
static int image_emit(struct xos_ef *ef, const struct image_sink *k)
{
	struct xos__domain *d = ef->dom;
	struct xos__image_key *key;
	struct xos__image_sum sum;
	struct img_map *maps;
	struct img_ext *ext = NULL;
	struct img_hdr hdr;
	unsigned char *buf = NULL;
	uint32_t next;
	int rc;
	/*
	 * AddressSanitizer still marks the EF's old frames on its domain stack:
	 * go through the memfd.  A stream (a migration) too: the EF may not
	 * have touched its pages since it arrived here, and reading an
	 * untouched page from user space costs a fault (an exit to the host on
	 * a paravirtualised guest: 256 MiB took 0.2-0.9 s to hash that way);
	 * read(2) into a hot buffer makes none.
	 */
	bool direct = d && d->mapped && !XOS_ASAN && !k->stream, unsummed;

	if (!d)
		return -EOPNOTSUPP;
	if (d->size > XOS__DOMAIN_SIZE_MAX)
		return -EFBIG;
	maps = xos__calloc(IMG_MAPS_MAX, sizeof(*maps));
	key = xos__malloc(sizeof(*key));
	if (!maps || !key) {
		rc = -ENOMEM;
		goto out;
	}
	rc = xos__image_key_load(key);
	if (rc == 0)
		rc = xos__image_hdr_init(ef, key, &hdr, maps);
	if (rc == 0)
		rc = xos__image_extents(d->memfd, d->size, &ext, &next);
	if (rc < 0)
		goto out;
	xos__image_hdr_extents(&hdr, ext, next);
	rc = xos__image_sum_begin(&sum, key, &hdr, ext);
	if (rc < 0)
		goto out;
	/* Unkeyed, a move's data goes from the memfd to the socket as it is (image_splice.c). */
	unsummed = k->stream && !key->set;
	if (unsummed)
		hdr.flags |= IMG_F_UNSUMMED;
	if (k->stream) {
		rc = k->head ? k->head(k->arg, hdr.file_size + sizeof(hdr)) : 0;
		if (!rc)
			rc = sink_put(k, &hdr, sizeof(hdr));
		if (!rc)
			rc = sink_put(k, maps, hdr.nmaps * sizeof(*maps));
		if (!rc)
			rc = sink_put(k, ext, hdr.nextents * sizeof(*ext));
	} else {
		rc = xos__image_write_tables(k->fd, &hdr, maps, ext);
	}
	if (unsummed) {
		if (!rc)
			rc = xos__image_sendfile(k->fd, d->memfd, ext, hdr.nextents);
		xos__image_sum_skip(&sum);
	} else if (!rc && !direct && !(buf = xos__malloc(CHUNK))) {
		rc = -ENOMEM;
	}
	for (uint32_t i = 0; i < hdr.nextents && !rc && !unsummed; i++) {
		for (uint64_t o = 0; o < ext[i].len && !rc; o += CHUNK) {
			size_t len = ext[i].len - o < CHUNK ? (size_t)(ext[i].len - o) : CHUNK;
			const unsigned char *src = buf;

			if (direct)
				src = (const unsigned char *)(uintptr_t)(d->base + ext[i].off + o);
			else if ((rc = xos__image_read_at(d->memfd, buf, len, (off_t)(ext[i].off + o))) != 0)
				break;
			xos__image_sum_data(&sum, src, len);
			rc = sink_put(k, src, len);
		}
	}
	if (!k->stream) {
		rc = xos__image_sum_finish(&sum, &hdr, maps, ext, k->fd, rc);
		goto out;
	}
	if (!rc)
		rc = xos__image_sum_seal(&sum, &hdr, maps, ext);
	if (!rc)
		rc = sink_put(k, sum.chunks, (size_t)sum.n * sizeof(*sum.chunks));
	if (!rc)
		rc = sink_put(k, &hdr, sizeof(hdr));
	xos__image_sum_end(&sum);
out:
	if (key)
		memset(key, 0, sizeof(*key));
	xos__free(key);
	xos__free(buf);
	xos__free(ext);
	xos__free(maps);
	return rc;
}

int xos__image_write(struct xos_ef *ef, int fd)
{
	const struct image_sink k = { .fd = fd };

	return image_emit(ef, &k);
}

int xos__image_send(struct xos_ef *ef, int fd, int (*head)(void *arg, uint64_t len), void *arg)
{
	const struct image_sink k = { .fd = fd, .stream = true, .head = head, .arg = arg };

	return image_emit(ef, &k);
}

/* ---- reading --------------------------------------------------------------------- */

/* Was the image made by the binary open at @exe_fd? */
static int same_binary(const struct img_hdr *hdr, int exe_fd)
{
	uint8_t id[64];
	int len = exe_fd >= 0 ? build_id_fd(exe_fd, id, sizeof(id)) : xos__image_build_id_self(id, sizeof(id));

	if (len < 0 || (uint32_t)len != hdr->build_id_len ||
	    !xos__equal_ct(id, hdr->build_id, (size_t)len))
		return -ESTALE;
	return 0;
}

/* Open, load and verify image @path with the key of the environment; then match @exe_fd. */
static int check_image(const char *path, int exe_fd, char *ret_exe, size_t exe_len)
{
	struct xos__image_key *key;
	struct xos__image img;
	int fd, rc;

	key = xos__malloc(sizeof(*key));
	if (!key)
		return -ENOMEM;
	rc = xos__image_key_load(key);
	if (rc < 0)
		goto out_key;
	rc = xos__image_open(path, S_IWGRP | S_IWOTH, &fd);
	if (rc < 0)
		goto out_key;
	rc = xos__image_load(fd, &img);
	if (rc < 0)
		goto out_close;
	rc = xos__image_read_data(fd, &img, key, NULL, NULL);
	if (rc == 0 && exe_fd >= 0)
		rc = same_binary(&img.hdr, exe_fd);
	if (rc == 0 && ret_exe) {
		size_t len = strlen(img.hdr.exe);

		if (len >= exe_len)
			rc = -ENAMETOOLONG;
		else
			memcpy(ret_exe, img.hdr.exe, len + 1);
	}
	xos__image_release(&img);
out_close:
	close(fd);
out_key:
	memset(key, 0, sizeof(*key));
	xos__free(key);
	return rc;
}

int xos_image_check(const char *path, char *ret_exe, size_t exe_len)
{
	if (!path || !*path || (!ret_exe && exe_len))
		return -EINVAL;
	return check_image(path, -1, ret_exe, exe_len);
}

int xos_image_match(const char *path, int exe_fd)
{
	struct stat st;

	if (!path || !*path || exe_fd < 0)
		return -EINVAL;
	if (fstat(exe_fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	return check_image(path, exe_fd, NULL, 0);
}

/* Are the binary and libraries of the image where they were? */
static int same_layout(const struct img_hdr *hdr, const struct img_map *maps)
{
	struct img_map *now = xos__calloc(IMG_MAPS_MAX, sizeof(*now));
	int n, rc = 0;

	if (!now)
		return -ENOMEM;
	n = xos__image_exec_maps(now, IMG_MAPS_MAX);
	for (uint32_t i = 0; i < hdr->nmaps && rc == 0; i++) {
		bool found = false;

		for (int j = 0; j < n && !found; j++)
			/* The whole range: the resume checks trust these bounds (image.c). */
			found = now[j].start == maps[i].start && now[j].end == maps[i].end &&
				now[j].offset == maps[i].offset &&
				strncmp(now[j].path, maps[i].path, sizeof(now[j].path)) == 0;
		if (!found) {
			xos__log_debug("restore: %s not at %#llx", maps[i].path,
				       (unsigned long long)maps[i].start);
			rc = -EADDRINUSE;
		}
	}
	xos__free(now);
	return n < 0 ? n : rc;
}

/* Write a chunk of the image into the domain's memfd; an all-zero chunk
 * is skipped, as the fresh memfd already reads so (it stays sparse). */
static int domain_fill(void *arg, uint64_t off, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	int memfd = *(const int *)arg;

	if (len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0))
		return 0;
	return pwrite(memfd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -EIO;
}

/*
 * May this restore be lazy?  Only where the EF runs on this process's
 * mapping of the domain, the one the restorer registers (lazy.c): an ICF
 * whose contexts share the creator's address space (XOS_ICF_F_SHARED_MEMORY:
 * the thread ICF, or one plugged in like it).  XOS_RESTORE_EAGER=1 asks
 * for the whole domain first.
 */
static bool lazy_ok(const struct xos_ef *ef)
{
	const char *eager = getenv("XOS_RESTORE_EAGER");

	if (eager && *eager && strcmp(eager, "0") != 0)
		return false;
	if (ef->restore_eager)
		return false;
	return ef->icf && ef->icf->icf && (ef->icf->icf->features & XOS_ICF_F_SHARED_MEMORY);
}

/*
 * An unkeyed move's data (IMG_F_UNSUMMED), spliced from socket @fd into
 * the new domain @d extent by extent, then its seal.  Refused with a key
 * here: this host asks every image for its MAC.
 */
static int stream_splice(int fd, struct xos__image *img, const struct xos__image_key *key, struct xos__domain *d)
{
	int p[2], rc = 0;

	if (key->set)
		return -EKEYREJECTED;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20); /* fewer calls; the default 64 KiB works too */
	for (uint32_t i = 0; i < img->hdr.nextents && !rc; i++)
		rc = xos__image_splice_in(fd, p, d->memfd, img->ext[i].off, img->ext[i].len);
	if (rc == 0)
		rc = xos__image_stream_seal_check(fd, img, key, NULL);
	close(p[0]);
	close(p[1]);
	return rc == -ENODATA ? -EBADMSG : rc;
}

/*
 * A streamed image's data (a migration), from socket @fd into the new
 * domain @d, each chunk hashed as it comes; then the seal that checks them
 * all.  Nothing runs in the domain before that.  Through one small buffer
 * that stays hot and into the memfd with write(2): received straight into
 * the mapped domain, every page is a fault (an exit to the host on a
 * paravirtualised guest: 64 MiB took 0.5 s to receive and 0.2 s to hash
 * that way, against 0.01 s to hash here).
 */
static int stream_fill(int fd, struct xos__image *img, const struct xos__image_key *key, struct xos__domain *d)
{
	struct img_chunk *got;
	unsigned char *buf;
	int rc = 0;

	if (img->hdr.flags & IMG_F_UNSUMMED)
		return stream_splice(fd, img, key, d);
	got = xos__calloc((size_t)img->nchunks + 1, sizeof(*got));
	buf = xos__malloc(CHUNK);
	if (!got || !buf) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < img->nchunks && !rc; i++) {
		const struct xos__image_loc *l = &img->loc[i];

		rc = xos__recv_all(fd, buf, l->len);
		if (rc == 0) {
			xos__image_chunk_entry(&got[i], key, i, buf, l->len);
			rc = domain_fill(&d->memfd, l->dom_off, buf, l->len);
		}
	}
	if (rc == 0)
		rc = xos__image_stream_seal_check(fd, img, key, got);
out:
	xos__free(buf);
	xos__free(got);
	return rc == -ENODATA ? -EBADMSG : rc;
}

/* Before the EF runs: the chunks the domain check reads, header and saved context, verified. */
static int lazy_begin(struct xos__domain *d, struct xos__image *view)
{
	const struct xos__domain_hdr *h = d->hdr;
	uint64_t sp;
	int rc;

	*view = *xos__lazy_image(d->lazy);
	rc = xos__lazy_prefetch(d->lazy, 0, sizeof(*h));
	if (rc < 0)
		return rc;
	sp = (uint64_t)(uintptr_t)h->ef_sp;
	/* Bounds before touching: xos__image_domain_check reads the saved context there. */
	if (sp < d->base || sp % 8 || sp - d->base > d->size - 80)
		return -EBADMSG;
	return xos__lazy_prefetch(d->lazy, sp - d->base, 80);
}

int xos__image_read(struct xos_ef *ef, int fd)
{
	struct xos__image_key *key;
	struct xos__image img, view;
	struct xos__domain *d = NULL;
	struct xos__domain_hdr *h;
	int memfd = -1, rc;

#ifndef XOS_HAVE_CTX
	/* No context switch for this CPU (arch/): no EF can run on a domain here. */
	return -EOPNOTSUPP;
#endif
	key = xos__malloc(sizeof(*key));
	if (!key)
		return -ENOMEM;
	rc = xos__image_key_load(key);
	if (rc < 0)
		goto out_key;
	if (ef->image_stream_len) {
		/* A migration's stream: the seal comes after the data (stream_fill checks it). */
		rc = xos__image_stream_load(fd, ef->image_stream_len, &img);
		if (rc < 0)
			goto out_key;
	} else {
		rc = xos__image_load(fd, &img);
		if (rc < 0)
			goto out_key;
		/* Key mismatches are known from header and tables: fail before reading any data. */
		rc = xos__image_key_check(&img, key);
	}
	/* Only into the running program: its build-id, its layout. */
	if (rc == 0)
		rc = same_binary(&img.hdr, -1);
	if (rc == 0)
		rc = same_layout(&img.hdr, img.maps);
	if (rc < 0)
		goto out;
	/* Bounded by image_load (XOS__DOMAIN_SIZE_MAX), and sparse until written. */
	memfd = memfd_create("xos-domain", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, (off_t)img.hdr.dom_size) < 0) {
		rc = -errno;
		goto out;
	}
	rc = xos__domain_adopt(img.hdr.dom_base, img.hdr.dom_size, memfd, &d);
	if (rc < 0)
		goto out;
	memfd = -1; /* the domain's now */

	if (ef->image_stream_len) {
		d->lazy = NULL;
		rc = stream_fill(fd, &img, key, d);
		ef->image_spliced = img.hdr.flags & IMG_F_UNSUMMED;
		view = img; /* its header sealed now */
	} else if (lazy_ok(ef) && xos__lazy_open(d, fd, &img, key, &d->lazy) == 0) {
		/* The lazy server owns the tables now; @view reads them until it is gone. */
		rc = lazy_begin(d, &view);
	} else {
		d->lazy = NULL;
		view = img;
		rc = xos__image_read_data(fd, &img, key, domain_fill, &d->memfd);
	}
	/* Authentic or not, nothing of the header is used before it is checked. */
	h = d->hdr;
	if (rc == 0)
		rc = xos__image_domain_check(h, &view);
	/* The EF may run: the rest comes in behind it. */
	if (rc == 0 && d->lazy)
		rc = xos__lazy_start(d->lazy);
	if (rc < 0)
		goto out;
	/*
	 * A migrated EF's channel ends are other structs here: the words of its
	 * domain equal to an end's old address (pointers, aligned) get the new
	 * one, as hosts.c rewrites an argument.  Only pages with data can hold any.
	 */
	for (uint32_t i = 0; i < img.hdr.nextents && ef->nreloc; i++) {
		uint64_t *w = (uint64_t *)(uintptr_t)(d->base + img.ext[i].off);
		size_t n = (size_t)(img.ext[i].len / sizeof(uint64_t));

		for (size_t k = 0; k < n; k++)
			for (size_t r = 0; r < ef->nreloc; r++)
				if (w[k] == ef->reloc[2 * r]) {
					w[k] = ef->reloc[2 * r + 1]; /* once: a new address may be another's old */
					break;
				}
	}
	/* Verified and in place: what must come before the EF runs (a migration's ends, hosts.c). */
	if (ef->restore_ready && (rc = ef->restore_ready(ef, ef->restore_ready_arg)) < 0)
		goto out;
	/* The stack guard, now that the header says where it is. */
	mprotect((void *)(h->stack_lo - (uintptr_t)sysconf(_SC_PAGESIZE)),
		 (size_t)sysconf(_SC_PAGESIZE), PROT_NONE);

	ef->dom = d;
	ef->fn = h->fn;
	snprintf(ef->name, sizeof(ef->name), "%s", h->name);
	ef->ctl = mmap(NULL, sizeof(*ef->ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);
	if (ef->ctl == MAP_FAILED) {
		ef->ctl = NULL;
		rc = -errno;
		goto out_detach;
	}
	/* Seqpacket, not datagram: the EF's process holds both ends, and a datagram
	 * socket, even of a pair, sends to any host socket sendto() names by path. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ef->ctl_sock) < 0) {
		rc = -errno;
		goto out_detach;
	}
	/* Attached fds are not in the image: their numbers read EOF (/dev/null) where free. */
	for (int i = 0; i < h->nfds; i++) {
		if (fcntl(h->fds[i].fd, F_GETFD) >= 0)
			continue;
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (nul >= 0 && nul != h->fds[i].fd) {
			dup3(nul, h->fds[i].fd, O_CLOEXEC);
			close(nul);
		}
	}
	d = NULL;
	goto out;

out_detach:
	ef->dom = NULL;
	if (ef->ctl)
		munmap(ef->ctl, sizeof(*ef->ctl));
	ef->ctl = NULL;
out:
	if (d)
		xos__domain_free(d);
	if (memfd >= 0)
		close(memfd);
	xos__image_release(&img);
out_key:
	memset(key, 0, sizeof(*key));
	xos__free(key);
	return rc;
}

/* ---- the public dump ------------------------------------------------------------- */

int xos__image_tmp_open(const char *path, char **ret_tmp, int *ret_fd)
{
	size_t len = strlen(path) + 16;
	char *tmp = xos__malloc(len);
	int fd, rc;

	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, len, "%s.tmp.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		xos__free(tmp);
		return rc;
	}
	*ret_tmp = tmp;
	*ret_fd = fd;
	return 0;
}

int xos__image_commit(char *tmp, const char *path, int fd, int rc)
{
	char *dir;
	int dfd;

	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
	} else {
		/* Make the rename itself durable. */
		memcpy(tmp, path, strlen(path) + 1);
		dir = dirname(tmp);
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	xos__free(tmp);
	return rc;
}

int xos_ef_dump(struct xos_ef *ef, const char *path)
{
	char *tmp;
	int fd, rc;

	if (!ef || ef->magic != XOS_EF_MAGIC || !path || !*path)
		return -EINVAL;
	rc = xos__ef_domain_usable(ef);
	if (rc < 0)
		return rc;
	rc = xos__image_tmp_open(path, &tmp, &fd);
	if (rc < 0)
		return rc;
	rc = xos__ef_request(ef, XOS_REQ_PARK);
	if (rc == 0) {
		rc = xos__ef_dump(ef, fd);
		xos__ef_release(ef);
	}
	return xos__image_commit(tmp, path, fd, rc);
}

/* ---- xos-run --restore: the program's process continues a dumped EF ------------- */

const char *xos_image_error(int err)
{
	if (err > 0)
		err = -err; /* either sign: an errno value or a return code */
	switch (err) {
	case -ENOEXEC: return "not an xos image";
	case -EPROTONOSUPPORT: return "image format version not supported";
	case -ENODATA: return "image is truncated";
	case -EBADMSG: return "image is corrupted (checksum or structure)";
	case -EFBIG: return "image claims a domain larger than the limit (1 GiB)";
	case -ESTALE: return "image was made by a different binary (build-id differs)";
	case -EADDRINUSE: return "address layout of the image cannot be recreated here";
	case -EMEDIUMTYPE: return "image is not a regular file";
	case -ELOOP: return "image path is a symbolic link";
	case -EPERM: return "image file is not owned by you or root, or group or others can write it";
	case -ENOKEY: return "image is keyed: give its key (XOS_IMAGE_KEY_FILE, --key-file)";
	case -EKEYREJECTED: return "image is not authenticated by the key (missing or wrong MAC)";
	case -EKEYREVOKED:
		return "key file unusable (a regular file of yours or root's, 1 to 4096 bytes, no group/other permissions)";
	default: return strerror(-err);
	}
}
