/* SPDX-License-Identifier: MIT */
/*
 * EF images: dump a parked EF to a file, check an image, rebuild the EF.
 *
 * An image is, in this order:
 *   struct img_hdr     magic, version, file size, checksum, the binary's
 *                      build-id and path, the domain's address and size
 *   struct img_map[]   the executable mappings of the dumping process
 *                      (binary and libraries): restore needs them at the
 *                      same addresses, since the EF's stack and heap hold
 *                      return addresses and function pointers
 *   struct img_ext[]   the extents of the domain's memfd that hold data
 *                      (SEEK_DATA/SEEK_HOLE: untouched pages are skipped)
 *   data               those extents, back to back
 * The checksum (a 64-bit hash of our own, four lanes) covers everything,
 * the header with its checksum field zero included.  Written to a
 * temporary file, fsync'ed, renamed over the target, directory fsync'ed:
 * a reader sees the old image or the new one, never half of one.
 * The registers are in the domain (pushed on the EF's stack at its safe
 * point), so they need no section of their own.
 */
#include "config.h"

#include <elf.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xos_i.h"

#define IMG_MAGIC "XOSIMG\r\n"
#define IMG_VERSION 1u
#define IMG_MAPS_MAX 256
#define IMG_EXTENTS_MAX (1u << 20)
#define CHUNK ((size_t)256 << 10) /* stays in L2: hash and copy hit the cache */

struct img_hdr {
	char magic[8];
	uint32_t version;
	uint32_t hdr_size;
	uint64_t file_size;
	uint64_t checksum;
	uint32_t build_id_len;
	uint8_t build_id[64];
	char exe[1024];
	uint64_t dom_base, dom_size;
	uint32_t nmaps, nextents;
	uint32_t personality;
	uint32_t pad;
	uint64_t ef_id;
	char name[XOS_EF_NAME_MAX];
};

struct img_map {
	uint64_t start, end, offset;
	char path[512];
};

struct img_ext {
	uint64_t off, len;
};

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

/* ---- checksum: four independent multiply-rotate lanes, then a final mix ---- */

#define K1 0x9e6c63d0676a9a99ull
#define K2 0xc2b2ae3d27d4eb4full
#define K3 0x165667b19e3779f9ull

static inline uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* Eight independent lanes of xor-multiply-shift: memory-bound on hot data. */
static uint64_t hash64(const void *buf, size_t len, uint64_t seed)
{
	const unsigned char *p = buf;
	uint64_t v[8], h, w;
	size_t i = 0;

	for (int k = 0; k < 8; k++)
		v[k] = seed + K3 * (uint64_t)(k + 1);
	for (; i + 64 <= len; i += 64) {
		uint64_t x[8];

		memcpy(x, p + i, 64);
		for (int k = 0; k < 8; k++) {
			v[k] = (v[k] ^ x[k]) * K1;
			v[k] ^= v[k] >> 29;
		}
	}
	h = len * K2;
	for (int k = 0; k < 8; k++)
		h = rotl(h ^ (v[k] * K2), 27) * K1;
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = rotl(h ^ (w * K2), 27) * K1 + K3;
	}
	for (; i < len; i++)
		h = rotl(h ^ (p[i] * K3), 11) * K1;
	h ^= h >> 33;
	h *= K2;
	h ^= h >> 29;
	return h;
}

/* Fold the hash of one more section into @acc. */
static uint64_t fold(uint64_t acc, const void *buf, size_t len)
{
	return rotl(acc, 5) ^ hash64(buf, len, acc);
}

/* ---- what the image records about the process ---------------------------------- */

/* The GNU build-id note of the ELF file @path; its length, or a negative errno. */
static int build_id_of(const char *path, uint8_t *id, size_t max)
{
	Elf64_Ehdr eh;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -ENOENT;

	if (fd < 0)
		return -errno;
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
	close(fd);
	return rc;
}

/* The executable file mappings of this process (binary, libraries); their count. */
static int exec_maps(struct img_map *maps, size_t max)
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

static int write_all(int fd, const void *buf, size_t len)
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

static int read_at(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;

	while (len) {
		ssize_t r = pread(fd, p, len, off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -ENODATA;
		p += r;
		len -= (size_t)r;
		off += r;
	}
	return 0;
}

/* The data extents of @memfd within [0, size). */
static int data_extents(int memfd, size_t size, struct img_ext **ret, uint32_t *ret_n)
{
	struct img_ext *ext = NULL;
	size_t n = 0, cap = 0;
	off_t off = 0;

	while ((size_t)off < size) {
		off_t data = lseek(memfd, off, SEEK_DATA), hole;

		if (data < 0)
			break; /* ENXIO: no more data */
		hole = lseek(memfd, data, SEEK_HOLE);
		if (hole < 0 || (size_t)hole > size)
			hole = (off_t)size;
		if (n == cap) {
			struct img_ext *grown;

			cap = cap ? cap * 2 : 64;
			if (cap > IMG_EXTENTS_MAX) {
				xos__free(ext);
				return -E2BIG;
			}
			grown = xos__malloc(cap * sizeof(*ext));
			if (!grown) {
				xos__free(ext);
				return -ENOMEM;
			}
			if (n)
				memcpy(grown, ext, n * sizeof(*ext));
			xos__free(ext);
			ext = grown;
		}
		ext[n].off = (uint64_t)data;
		ext[n].len = (uint64_t)(hole - data);
		n++;
		off = hole;
	}
	*ret = ext;
	*ret_n = (uint32_t)n;
	return 0;
}

int xos__image_write(struct xos_ef *ef, int fd)
{
	struct xos__domain *d = ef->dom;
	struct img_map *maps;
	struct img_ext *ext = NULL;
	struct img_hdr hdr;
	unsigned char *buf;
	uint64_t acc = 0, total;
	int rc, n;
	/* AddressSanitizer still marks the EF's old frames on its domain stack: go through the memfd. */
	bool direct = d && d->mapped && !XOS_ASAN;

	if (!d)
		return -EOPNOTSUPP;
	maps = xos__calloc(IMG_MAPS_MAX, sizeof(*maps));
	if (!maps)
		return -ENOMEM;
	memset(&hdr, 0, sizeof(hdr));
	memcpy(hdr.magic, IMG_MAGIC, 8);
	hdr.version = IMG_VERSION;
	hdr.hdr_size = sizeof(hdr);
	if (readlink("/proc/self/exe", hdr.exe, sizeof(hdr.exe) - 1) < 0) {
		rc = -errno;
		goto out;
	}
	rc = build_id_of("/proc/self/exe", hdr.build_id, sizeof(hdr.build_id));
	if (rc < 0)
		goto out;
	hdr.build_id_len = (uint32_t)rc;
	hdr.dom_base = d->base;
	hdr.dom_size = d->size;
	hdr.personality = (uint32_t)personality(0xffffffff);
	hdr.ef_id = ef->id;
	snprintf(hdr.name, sizeof(hdr.name), "%s", ef->name);
	n = exec_maps(maps, IMG_MAPS_MAX);
	if (n < 0) {
		rc = n;
		goto out;
	}
	hdr.nmaps = (uint32_t)n;
	rc = data_extents(d->memfd, d->size, &ext, &hdr.nextents);
	if (rc < 0)
		goto out;
	total = sizeof(hdr) + hdr.nmaps * sizeof(*maps) + hdr.nextents * sizeof(*ext);
	for (uint32_t i = 0; i < hdr.nextents; i++)
		total += ext[i].len;
	hdr.file_size = total;

	/*
	 * Chunk by chunk, so each is still in cache when written after its
	 * hash: straight from the domain where this process maps it (one copy
	 * fewer), else read from the memfd into a small buffer.
	 */
	buf = direct ? NULL : xos__malloc(CHUNK);
	if (!direct && !buf) {
		rc = -ENOMEM;
		goto out;
	}
	rc = write_all(fd, &hdr, sizeof(hdr));
	acc = fold(acc, maps, hdr.nmaps * sizeof(*maps));
	acc = fold(acc, ext, hdr.nextents * sizeof(*ext));
	if (!rc)
		rc = write_all(fd, maps, hdr.nmaps * sizeof(*maps));
	if (!rc)
		rc = write_all(fd, ext, hdr.nextents * sizeof(*ext));
	for (uint32_t i = 0; i < hdr.nextents && !rc; i++) {
		for (uint64_t o = 0; o < ext[i].len && !rc; o += CHUNK) {
			size_t len = ext[i].len - o < CHUNK ? (size_t)(ext[i].len - o) : CHUNK;

			const unsigned char *src = buf;

			if (direct)
				src = (const unsigned char *)(uintptr_t)(d->base + ext[i].off + o);
			else if ((rc = read_at(d->memfd, buf, len, (off_t)(ext[i].off + o))) != 0)
				break;
			acc = fold(acc, src, len);
			rc = write_all(fd, src, len);
		}
	}
	xos__free(buf);
	if (rc)
		goto out;
	hdr.checksum = acc ^ hash64(&hdr, sizeof(hdr), acc);
	if (pwrite(fd, &hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr))
		rc = -EIO;
out:
	xos__free(ext);
	xos__free(maps);
	return rc;
}

/* ---- reading --------------------------------------------------------------------- */

/* Header and tables of the image in @fd, checked for shape (not yet the checksum). */
static int read_tables(int fd, struct img_hdr *hdr, struct img_map **ret_maps,
		       struct img_ext **ret_ext)
{
	struct img_map *maps = NULL;
	struct img_ext *ext = NULL;
	struct stat st;
	uint64_t data = 0;
	int rc;

	if (fstat(fd, &st) < 0)
		return -errno;
	rc = read_at(fd, hdr, sizeof(*hdr), 0);
	if (rc == -ENODATA && st.st_size >= 8) {
		char magic[8];

		if (read_at(fd, magic, 8, 0) == 0 && memcmp(magic, IMG_MAGIC, 8) == 0)
			return -ENODATA; /* ours, cut short */
		return -ENOEXEC;
	}
	if (rc < 0)
		return rc == -ENODATA ? -ENOEXEC : rc;
	if (memcmp(hdr->magic, IMG_MAGIC, 8) != 0)
		return -ENOEXEC;
	if (hdr->version != IMG_VERSION || hdr->hdr_size != sizeof(*hdr))
		return -EPROTONOSUPPORT;
	if ((uint64_t)st.st_size < hdr->file_size)
		return -ENODATA;
	if ((uint64_t)st.st_size > hdr->file_size || hdr->nmaps > IMG_MAPS_MAX ||
	    hdr->nextents > IMG_EXTENTS_MAX || hdr->build_id_len > sizeof(hdr->build_id) ||
	    memchr(hdr->exe, 0, sizeof(hdr->exe)) == NULL)
		return -EBADMSG;
	maps = xos__calloc(hdr->nmaps + 1, sizeof(*maps));
	ext = xos__calloc(hdr->nextents + 1, sizeof(*ext));
	if (!maps || !ext) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = read_at(fd, maps, hdr->nmaps * sizeof(*maps), sizeof(*hdr));
	if (!rc)
		rc = read_at(fd, ext, hdr->nextents * sizeof(*ext),
			     (off_t)(sizeof(*hdr) + hdr->nmaps * sizeof(*maps)));
	if (rc)
		goto fail;
	for (uint32_t i = 0; i < hdr->nextents; i++) {
		if (ext[i].off > hdr->dom_size || ext[i].len > hdr->dom_size - ext[i].off) {
			rc = -EBADMSG;
			goto fail;
		}
		data += ext[i].len;
	}
	if (sizeof(*hdr) + hdr->nmaps * sizeof(*maps) + hdr->nextents * sizeof(*ext) + data !=
	    hdr->file_size) {
		rc = -EBADMSG;
		goto fail;
	}
	*ret_maps = maps;
	*ret_ext = ext;
	return 0;
fail:
	xos__free(maps);
	xos__free(ext);
	return rc;
}

static uint64_t header_sum(const struct img_hdr *hdr, uint64_t acc)
{
	struct img_hdr h = *hdr;

	h.checksum = 0;
	return acc ^ hash64(&h, sizeof(h), acc);
}

/* Hash the data of the image in @fd (for a check without restoring). */
static int verify_file(int fd, const struct img_hdr *hdr, const struct img_map *maps,
		       const struct img_ext *ext)
{
	uint64_t acc = 0, data = 0;
	off_t at = (off_t)(sizeof(*hdr) + hdr->nmaps * sizeof(*maps) + hdr->nextents * sizeof(*ext));
	const unsigned char *p;

	for (uint32_t i = 0; i < hdr->nextents; i++)
		data += ext[i].len;
	acc = fold(acc, maps, hdr->nmaps * sizeof(*maps));
	acc = fold(acc, ext, hdr->nextents * sizeof(*ext));
	if (data) {
		p = mmap(NULL, (size_t)hdr->file_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED)
			return -errno;
		for (uint32_t i = 0; i < hdr->nextents; i++) {
			for (uint64_t o = 0; o < ext[i].len; o += CHUNK) {
				size_t len = ext[i].len - o < CHUNK ? (size_t)(ext[i].len - o) : CHUNK;

				acc = fold(acc, p + at, len);
				at += (off_t)len;
			}
		}
		munmap((void *)p, (size_t)hdr->file_size);
	}
	return header_sum(hdr, acc) == hdr->checksum ? 0 : -EBADMSG;
}

/* Is this the binary that wrote the image? */
static int same_binary(const struct img_hdr *hdr, const char *exe)
{
	uint8_t id[64];
	int len = build_id_of(exe, id, sizeof(id));

	if (len == -ENOENT && access(exe, F_OK) < 0)
		return -ENOENT;
	if (len < 0 || (uint32_t)len != hdr->build_id_len ||
	    memcmp(id, hdr->build_id, (size_t)len) != 0)
		return -ESTALE;
	return 0;
}

int xos_image_check(const char *path, char *ret_exe, size_t exe_len)
{
	struct img_map *maps = NULL;
	struct img_ext *ext = NULL;
	struct img_hdr hdr;
	int fd, rc;

	if (!path || (!ret_exe && exe_len))
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = read_tables(fd, &hdr, &maps, &ext);
	if (rc == 0)
		rc = verify_file(fd, &hdr, maps, ext);
	if (rc == 0)
		rc = same_binary(&hdr, hdr.exe);
	if (rc == 0 && ret_exe) {
		if (strlen(hdr.exe) >= exe_len)
			rc = -ENAMETOOLONG;
		else
			memcpy(ret_exe, hdr.exe, strlen(hdr.exe) + 1);
	}
	xos__free(maps);
	xos__free(ext);
	close(fd);
	return rc;
}

/* Are the binary and libraries of the image where they were? */
static int same_layout(const struct img_hdr *hdr, const struct img_map *maps)
{
	struct img_map *now = xos__calloc(IMG_MAPS_MAX, sizeof(*now));
	int n, rc = 0;

	if (!now)
		return -ENOMEM;
	n = exec_maps(now, IMG_MAPS_MAX);
	for (uint32_t i = 0; i < hdr->nmaps && rc == 0; i++) {
		bool found = false;

		for (int j = 0; j < n && !found; j++)
			found = now[j].start == maps[i].start && now[j].offset == maps[i].offset &&
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

int xos__image_read(struct xos_ef *ef, int fd)
{
	struct img_map *maps = NULL;
	struct img_ext *ext = NULL;
	struct xos__domain *d = NULL;
	struct xos__domain_hdr *h;
	struct img_hdr hdr;
	unsigned char *buf;
	uint64_t acc = 0;
	off_t at;
	int memfd = -1, rc;

	rc = read_tables(fd, &hdr, &maps, &ext);
	if (rc < 0)
		return rc;
	rc = same_binary(&hdr, "/proc/self/exe");
	if (rc == 0)
		rc = same_layout(&hdr, maps);
	if (rc < 0)
		goto out;
	if (hdr.dom_base < XOS_ZONE_LO || hdr.dom_base >= XOS_ZONE_HI || hdr.dom_size > XOS_ZONE_HI ||
	    hdr.dom_base + hdr.dom_size > XOS_ZONE_HI) {
		rc = -EBADMSG;
		goto out;
	}
	memfd = memfd_create("xos-domain", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, (off_t)hdr.dom_size) < 0) {
		rc = -errno;
		goto out;
	}
	rc = xos__domain_adopt(hdr.dom_base, hdr.dom_size, memfd, &d);
	if (rc < 0)
		goto out;
	memfd = -1; /* the domain's now */

	/* Through a small buffer that stays hot: read the image, hash, write the memfd. */
	buf = xos__malloc(CHUNK);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	acc = fold(acc, maps, hdr.nmaps * sizeof(*maps));
	acc = fold(acc, ext, hdr.nextents * sizeof(*ext));
	at = (off_t)(sizeof(hdr) + hdr.nmaps * sizeof(*maps) + hdr.nextents * sizeof(*ext));
	for (uint32_t i = 0; i < hdr.nextents && !rc; i++) {
		for (uint64_t o = 0; o < ext[i].len && !rc; o += CHUNK) {
			size_t len = ext[i].len - o < CHUNK ? (size_t)(ext[i].len - o) : CHUNK;

			rc = read_at(fd, buf, len, at);
			if (rc)
				break;
			acc = fold(acc, buf, len);
			if (pwrite(d->memfd, buf, len, (off_t)(ext[i].off + o)) != (ssize_t)len)
				rc = -EIO;
			at += (off_t)len;
		}
	}
	xos__free(buf);
	if (rc == 0 && header_sum(&hdr, acc) != hdr.checksum)
		rc = -EBADMSG;
	h = d->hdr;
	if (rc == 0 && (h->magic != XOS_DOMAIN_MAGIC || h->base != d->base || h->size != d->size ||
			h->state != XOS_DOM_PARKED))
		rc = -EBADMSG;
	if (rc < 0)
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
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, ef->ctl_sock) < 0) {
		rc = -errno;
		goto out_detach;
	}
	/* Attached fds are not in the image: their numbers read EOF (/dev/null) where free. */
	for (int i = 0; i < h->nfds && i < XOS_DOMAIN_FDS; i++) {
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
	xos__free(maps);
	xos__free(ext);
	return rc;
}

/* ---- the public dump ------------------------------------------------------------- */

int xos_ef_dump(struct xos_ef *ef, const char *path)
{
	char *tmp, *dir;
	size_t len;
	int fd, rc, dfd;

	if (!ef || ef->magic != XOS_EF_MAGIC || !path || !*path)
		return -EINVAL;
	if (ef->owner_pid != getpid() || ef == xos_ef_self())
		return -EPERM;
	if (!ef->dom)
		return -EOPNOTSUPP;
	len = strlen(path) + 16;
	tmp = xos__malloc(len);
	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, len, "%s.tmp.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		xos__free(tmp);
		return rc;
	}
	rc = xos__ef_request(ef, XOS_REQ_PARK);
	if (rc == 0) {
		rc = xos__ef_dump(ef, fd);
		xos__ef_release(ef);
	}
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
	case -ESTALE: return "image was made by a different binary (build-id differs)";
	case -EADDRINUSE: return "address layout of the image cannot be recreated here";
	default: return strerror(-err);
	}
}

/*
 * XOS_RESTORE=FILE (set by xos-run --restore, which runs the image's
 * binary): restore the EF before main, run it to its end, exit with its
 * status.  One line on stderr and exit status 1 when the image is refused.
 */
__attribute__((constructor)) static void restore_from_environment(void)
{
	const char *env = getenv("XOS_RESTORE");
	struct xos_ef_exit ex = { 0 };
	struct xos_ef *ef;
	char path[4096];
	int rc;

	if (!env || !*env)
		return;
	snprintf(path, sizeof(path), "%s", env);
	unsetenv("XOS_RESTORE");
	rc = xos_ef_restore(path, &ef);
	if (rc < 0) {
		fprintf(stderr, "xos-run: cannot restore %s: %s\n", path, xos_image_error(rc));
		exit(1);
	}
	rc = xos_ef_join(ef, &ex);
	fflush(NULL);
	if (rc < 0)
		exit(1);
	exit(ex.how == XOS_EF_EXITED ? ex.status & 0xff : 128 + ex.status);
}
