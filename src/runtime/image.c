/* SPDX-License-Identifier: MIT */
/*
 * EF images, the reader's side of trust: opening an image or a key file,
 * bounding the header and tables against the file's real size, the
 * checksum and the keyed MAC, and the check of the domain header an
 * image brings.  Format: image_i.h.
 *
 * Trust model.  An image is the EF's whole state: its stack holds return
 * addresses, its heap function pointers.  Whoever can write an image can
 * therefore make the restored EF do anything the restoring program's code
 * can do, so an image is trusted exactly as much as whoever could write
 * it: it must be a regular file of the caller (or root) that group and
 * others cannot write, and with a key set (XOS_IMAGE_KEY_FILE) it must
 * carry an HMAC-SHA256 under that key.  What an image can never do is
 * choose the code: it is restored only into the running program (same
 * build-id), never into a binary it names.  Malformed images give an
 * error, never a crash or an allocation larger than the limits.
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../prim/sendall.h"
#include "image_i.h"

/* ---- checksum: eight independent multiply-shift lanes, then a final mix ---- */

#define K1 0x9e6c63d0676a9a99ull
#define K2 0xc2b2ae3d27d4eb4full
#define K3 0x165667b19e3779f9ull

static inline uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* The eight lanes over @n 64-byte blocks at @p. */
static void lanes_plain(uint64_t v[8], const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++, p += 64) {
		uint64_t x[8];

		memcpy(x, p, 64);
		for (int k = 0; k < 8; k++) {
			v[k] = (v[k] ^ x[k]) * K1;
			v[k] ^= v[k] >> 29;
		}
	}
}

#if defined(__x86_64__)
#include <immintrin.h>

/*
 * The same lanes in one AVX-512 register: the same sums, about three
 * times as fast where a 64-bit vector multiply is cheap (25 against 8.7
 * GB/s on the EPYC this was measured on).  Every image byte is hashed
 * on both sides of a dump, a restore or a keyed migration.
 */
__attribute__((target("avx512f,avx512dq"))) static void lanes_avx512(uint64_t v[8], const unsigned char *p,
								    size_t n)
{
	__m512i acc = _mm512_loadu_si512(v), k1 = _mm512_set1_epi64((long long)K1);

	for (size_t i = 0; i < n; i++, p += 64) {
		acc = _mm512_mullo_epi64(_mm512_xor_si512(acc, _mm512_loadu_si512(p)), k1);
		acc = _mm512_xor_si512(acc, _mm512_srli_epi64(acc, 29));
	}
	_mm512_storeu_si512(v, acc);
}

/* XOS_HASH64_PLAIN=1 forces the plain C lanes (the unit test compares both). */
static void (*lanes_pick(void))(uint64_t *, const unsigned char *, size_t)
{
	if (secure_getenv("XOS_HASH64_PLAIN"))
		return lanes_plain;
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") ? lanes_avx512 :
											 lanes_plain;
}
#else
static void (*lanes_pick(void))(uint64_t *, const unsigned char *, size_t)
{
	return lanes_plain;
}
#endif

static void lanes(uint64_t v[8], const unsigned char *p, size_t n)
{
	static void (*_Atomic fn)(uint64_t *, const unsigned char *, size_t);
	void (*f)(uint64_t *, const unsigned char *, size_t) = fn;

	if (!f)
		fn = f = lanes_pick();
	f(v, p, n);
}

/* Not a MAC: it finds damage, not forgery (the key's MAC does that). */
static uint64_t hash64(const void *buf, size_t len, uint64_t seed)
{
	const unsigned char *p = buf;
	uint64_t v[8], h, w;
	size_t i = len / 64 * 64;

	for (int k = 0; k < 8; k++)
		v[k] = seed + K3 * (uint64_t)(k + 1);
	lanes(v, p, len / 64);
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

/* ---- opening files that must not be trusted blindly ------------------------------ */

int xos__image_open(const char *path, mode_t bad_mode, int *ret_fd)
{
	struct stat st;
	int fd, rc;

	if (!path || !*path || !ret_fd)
		return -EINVAL;
	/* O_NONBLOCK: a FIFO must not hang us in open(); O_NOFOLLOW: no last-moment symlink. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EMEDIUMTYPE;
		goto out_close;
	}
	if ((st.st_uid != geteuid() && st.st_uid != 0) || (st.st_mode & bad_mode)) {
		rc = -EPERM;
		goto out_close;
	}
	if (fcntl(fd, F_SETFL, 0) < 0) {
		rc = -errno;
		goto out_close;
	}
	*ret_fd = fd;
	return 0;

out_close:
	close(fd);
	return rc;
}

int xos__image_key_load(struct xos__image_key *key)
{
	const char *path = secure_getenv(IMG_KEY_ENV);
	struct stat st;
	ssize_t n;
	int fd, rc;

	memset(key, 0, sizeof(*key));
	if (!path || !*path)
		return 0;
	/* A key others can read is no secret: no group or other bits at all. */
	rc = xos__image_open(path, S_IRWXG | S_IRWXO, &fd);
	if (rc < 0)
		return rc == -EINVAL || rc == -EPERM || rc == -EMEDIUMTYPE || rc == -ELOOP ? -EKEYREVOKED : rc;
	if (fstat(fd, &st) < 0 || st.st_size < 1 || st.st_size > IMG_KEY_MAX) {
		close(fd);
		return -EKEYREVOKED;
	}
	n = pread(fd, key->key, (size_t)st.st_size, 0);
	close(fd);
	if (n != st.st_size) {
		memset(key, 0, sizeof(*key));
		return -EKEYREVOKED;
	}
	key->len = (size_t)n;
	key->set = true;
	return 0;
}

/* ---- header and tables ----------------------------------------------------------- */

int xos__image_read_at(int fd, void *buf, size_t len, off_t off)
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

static bool has_nul(const char *s, size_t len)
{
	return memchr(s, 0, len) != NULL;
}

/* The header alone: every field bounded before any of them sizes anything. */
static int check_header(const struct img_hdr *hdr, uint64_t file_size, uint32_t flags)
{
	uint64_t page = 4096, tables;

	if (memcmp(hdr->magic, IMG_MAGIC, 8) != 0)
		return -ENOEXEC;
	if (hdr->version != IMG_VERSION || hdr->hdr_size != sizeof(*hdr))
		return -EPROTONOSUPPORT;
	if (file_size < hdr->file_size)
		return -ENODATA;
	if (file_size > hdr->file_size)
		return -EBADMSG;
	if (hdr->build_id_len == 0 || hdr->build_id_len > sizeof(hdr->build_id) ||
	    (hdr->flags & ~flags) || (hdr->flags & IMG_F_UNSUMMED && hdr->flags & IMG_F_KEYED) ||
	    !has_nul(hdr->exe, sizeof(hdr->exe)) ||
	    !has_nul(hdr->name, sizeof(hdr->name)) || hdr->nmaps > IMG_MAPS_MAX ||
	    hdr->nextents > IMG_EXTENTS_MAX)
		return -EBADMSG;
	if (hdr->dom_size > XOS__DOMAIN_SIZE_MAX)
		return -EFBIG;
	if (hdr->dom_size < 4 * page || hdr->dom_size % page || hdr->dom_base % page ||
	    hdr->dom_base < XOS_ZONE_LO || hdr->dom_base >= XOS_ZONE_HI ||
	    hdr->dom_size > XOS_ZONE_HI - hdr->dom_base)
		return -EBADMSG;
	/* The counts are bounded above, so this cannot overflow. */
	tables = sizeof(*hdr) + (uint64_t)hdr->nmaps * sizeof(struct img_map) +
		 (uint64_t)hdr->nextents * sizeof(struct img_ext);
	/* The chunk table, at least one entry per extent, is checked when the extents are known. */
	if (tables > hdr->file_size ||
	    hdr->file_size - tables > hdr->dom_size + ((uint64_t)hdr->nextents + hdr->dom_size / XOS__IMAGE_CHUNK) *
							       sizeof(struct img_chunk))
		return -EBADMSG;
	return 0;
}

uint64_t xos__image_nchunks(const struct img_ext *ext, uint32_t n)
{
	uint64_t c = 0;

	for (uint32_t i = 0; i < n; i++)
		c += (ext[i].len + XOS__IMAGE_CHUNK - 1) / XOS__IMAGE_CHUNK;
	return c;
}

/* Where header and tables come from, in order: a file (at a running offset) or a stream. */
struct tab_src {
	int fd;
	bool stream;
	off_t off;
};

static int tab_read(struct tab_src *src, void *buf, size_t len)
{
	int rc;

	if (src->stream)
		return xos__recv_all(src->fd, buf, len);
	rc = xos__image_read_at(src->fd, buf, len, src->off);
	if (rc == 0)
		src->off += (off_t)len;
	return rc;
}

/*
 * Header and tables of an image of @file_size bytes (the file's; in a
 * stream, what the header must say), checked; the chunk table read too
 * unless it comes after the data (@chunks_later).
 */
static int load_tables(struct tab_src *src, uint64_t file_size, bool chunks_later, struct xos__image *img)
{
	struct img_hdr *hdr = &img->hdr;
	uint64_t data = 0, end = 0, nchunks, at, c = 0;
	int rc;

	rc = tab_read(src, hdr, sizeof(*hdr));
	if (rc < 0)
		return rc;
	/* Chunks without checksums only ever come over a move's connection. */
	rc = check_header(hdr, file_size, src->stream ? IMG_F_KEYED | IMG_F_UNSUMMED : IMG_F_KEYED);
	if (rc < 0)
		return rc;
	img->maps = xos__calloc(hdr->nmaps + 1, sizeof(*img->maps));
	img->ext = xos__calloc(hdr->nextents + 1, sizeof(*img->ext));
	if (!img->maps || !img->ext) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = tab_read(src, img->maps, hdr->nmaps * sizeof(*img->maps));
	img->data_at = sizeof(*hdr) + hdr->nmaps * sizeof(*img->maps);
	if (!rc)
		rc = tab_read(src, img->ext, hdr->nextents * sizeof(*img->ext));
	img->data_at += hdr->nextents * sizeof(*img->ext);
	if (rc)
		goto fail;
	rc = -EBADMSG;
	for (uint32_t i = 0; i < hdr->nmaps; i++) {
		const struct img_map *m = &img->maps[i];

		if (m->start >= m->end || !has_nul(m->path, sizeof(m->path)) || m->path[0] != '/')
			goto fail;
	}
	/* Sorted, disjoint, page-aligned, inside the domain: their sum is at most the domain's size. */
	for (uint32_t i = 0; i < hdr->nextents; i++) {
		const struct img_ext *e = &img->ext[i];

		if (e->len == 0 || e->off < end || e->off > hdr->dom_size ||
		    e->len > hdr->dom_size - e->off || e->off % 4096 ||
		    (e->len % 4096 && e->off + e->len != hdr->dom_size))
			goto fail;
		end = e->off + e->len;
		data += e->len;
	}
	/* At most extents + size / chunk: bounded, and checked against the file before allocating. */
	nchunks = xos__image_nchunks(img->ext, hdr->nextents);
	if (img->data_at + nchunks * sizeof(struct img_chunk) + data != hdr->file_size)
		goto fail;
	img->nchunks = (uint32_t)nchunks;
	img->chunks = xos__calloc(nchunks + 1, sizeof(*img->chunks));
	img->loc = xos__calloc(nchunks + 1, sizeof(*img->loc));
	if (!img->chunks || !img->loc) {
		rc = -ENOMEM;
		goto fail;
	}
	if (!chunks_later) {
		rc = tab_read(src, img->chunks, nchunks * sizeof(*img->chunks));
		if (rc)
			goto fail;
	}
	img->data_at += nchunks * sizeof(*img->chunks);
	at = img->data_at;
	for (uint32_t i = 0; i < hdr->nextents; i++)
		for (uint64_t o = 0; o < img->ext[i].len; o += XOS__IMAGE_CHUNK, c++) {
			uint64_t len = img->ext[i].len - o;

			img->loc[c].file_off = at;
			img->loc[c].dom_off = img->ext[i].off + o;
			img->loc[c].len = (uint32_t)(len < XOS__IMAGE_CHUNK ? len : XOS__IMAGE_CHUNK);
			at += img->loc[c].len;
		}
	img->data_len = data;
	return 0;

fail:
	xos__image_release(img);
	return rc;
}

int xos__image_load(int fd, struct xos__image *img)
{
	struct tab_src src = { .fd = fd };
	struct stat st;
	int rc;

	memset(img, 0, sizeof(*img));
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EMEDIUMTYPE;
	rc = load_tables(&src, (uint64_t)st.st_size, false, img);
	if (rc == -ENODATA && src.off == 0) {
		char magic[8];

		if (st.st_size >= 8 && xos__image_read_at(fd, magic, 8, 0) == 0 && memcmp(magic, IMG_MAGIC, 8) == 0)
			return -ENODATA; /* ours, cut short */
		return -ENOEXEC;
	}
	return rc;
}

int xos__image_stream_load(int fd, uint64_t len, struct xos__image *img)
{
	struct tab_src src = { .fd = fd, .stream = true };

	int rc;

	memset(img, 0, sizeof(*img));
	if (len < sizeof(struct img_hdr))
		return -EBADMSG;
	rc = load_tables(&src, len - sizeof(struct img_hdr), true, img);
	/* Cut short in its header or tables: a damaged image, as when cut in its data (dump.c). */
	return rc == -ENODATA ? -EBADMSG : rc;
}

void xos__image_release(struct xos__image *img)
{
	xos__free(img->maps);
	xos__free(img->ext);
	xos__free(img->chunks);
	xos__free(img->loc);
	img->maps = NULL;
	img->ext = NULL;
	img->chunks = NULL;
	img->loc = NULL;
}

/* ---- integrity --------------------------------------------------------------------- */

/* The MAC covers the header with its checksum and MAC fields zero, and the tables. */
static void mac_tables(uint8_t out[XOS__SHA256_LEN], const struct xos__image_key *key,
		       const struct img_hdr *hdr, const struct img_map *maps, const struct img_ext *ext,
		       const struct img_chunk *chunks, uint64_t nchunks)
{
	struct xos__hmac_sha256 m;
	struct img_hdr h = *hdr;

	h.checksum = 0;
	memset(h.mac, 0, sizeof(h.mac));
	memset(h.tables_mac, 0, sizeof(h.tables_mac));
	xos__hmac_sha256_init(&m, key->key, key->len);
	xos__hmac_sha256_update(&m, &h, sizeof(h));
	xos__hmac_sha256_update(&m, maps, hdr->nmaps * sizeof(*maps));
	xos__hmac_sha256_update(&m, ext, hdr->nextents * sizeof(*ext));
	xos__hmac_sha256_update(&m, chunks, nchunks * sizeof(*chunks));
	xos__hmac_sha256_final(&m, out);
}

/* The checksum covers the header (MACs included) with its checksum field zero, and the tables. */
static uint64_t tables_sum(const struct img_hdr *hdr, const struct img_map *maps, const struct img_ext *ext,
			   const struct img_chunk *chunks, uint64_t nchunks)
{
	struct img_hdr h = *hdr;
	uint64_t acc = 0;

	acc = fold(acc, maps, hdr->nmaps * sizeof(*maps));
	acc = fold(acc, ext, hdr->nextents * sizeof(*ext));
	acc = fold(acc, chunks, nchunks * sizeof(*chunks));
	h.checksum = 0;
	return acc ^ hash64(&h, sizeof(h), acc);
}

/* The entry of chunk @i with bytes @buf[@len]. */
static void chunk_entry(struct img_chunk *c, const struct xos__image_key *key, uint32_t i, const void *buf,
			size_t len)
{
	memset(c, 0, sizeof(*c));
	c->sum = hash64(buf, len, K2 * ((uint64_t)i + 1));
	if (key && key->set) {
		struct xos__hmac_sha256 m;
		uint64_t le = i; /* x86-64, aarch64: little-endian */

		xos__hmac_sha256_init(&m, key->key, key->len);
		xos__hmac_sha256_update(&m, &le, sizeof(le));
		xos__hmac_sha256_update(&m, buf, len);
		xos__hmac_sha256_final(&m, c->mac);
	}
}

void xos__image_chunk_entry(struct img_chunk *c, const struct xos__image_key *key, uint32_t i, const void *buf,
			    size_t len)
{
	chunk_entry(c, key, i, buf, len);
}

int xos__image_stream_seal_check(int fd, struct xos__image *img, const struct xos__image_key *key,
				 const struct img_chunk *got)
{
	struct img_hdr sealed, a, b;
	bool same = true;
	int rc;

	rc = xos__recv_all(fd, img->chunks, (size_t)img->nchunks * sizeof(*img->chunks));
	if (rc == 0)
		rc = xos__recv_all(fd, &sealed, sizeof(sealed));
	if (rc < 0)
		return rc == -ENODATA ? -EBADMSG : rc;
	/* The header that opened the stream, sealed: nothing else of it may differ. */
	a = img->hdr;
	b = sealed;
	a.checksum = b.checksum = 0;
	memset(a.mac, 0, sizeof(a.mac));
	memset(b.mac, 0, sizeof(b.mac));
	memset(a.tables_mac, 0, sizeof(a.tables_mac));
	memset(b.tables_mac, 0, sizeof(b.tables_mac));
	if (memcmp(&a, &b, sizeof(a)) != 0)
		return -EBADMSG;
	img->hdr = sealed;
	rc = xos__image_key_check(img, key);
	if (rc < 0)
		return rc;
	if (img->hdr.flags & IMG_F_UNSUMMED)
		return 0; /* nothing to compare: the connection vouched for the bytes */
	if (!got)
		return -EINVAL;
	/* Each chunk as it came against the sealed table: checksum, and the MAC in constant time. */
	for (uint32_t i = 0; i < img->nchunks; i++) {
		same &= got[i].sum == img->chunks[i].sum;
		if (key && key->set)
			same &= xos__equal_ct(got[i].mac, img->chunks[i].mac, sizeof(got[i].mac));
	}
	if (!same)
		return key && key->set ? -EKEYREJECTED : -EBADMSG;
	return 0;
}

int xos__image_sum_begin(struct xos__image_sum *s, const struct xos__image_key *key,
			 const struct img_hdr *hdr, const struct img_ext *ext)
{
	memset(s, 0, sizeof(*s));
	s->key = key;
	s->n = (uint32_t)xos__image_nchunks(ext, hdr->nextents);
	s->chunks = xos__calloc(s->n + 1, sizeof(*s->chunks));
	return s->chunks ? 0 : -ENOMEM;
}

void xos__image_sum_data(struct xos__image_sum *s, const void *buf, size_t len)
{
	if (s->next >= s->n || len > XOS__IMAGE_CHUNK) {
		s->overflow = true;
		return;
	}
	chunk_entry(&s->chunks[s->next], s->key, s->next, buf, len);
	s->next++;
}

int xos__image_sum_seal(struct xos__image_sum *s, struct img_hdr *hdr, const struct img_map *maps,
			const struct img_ext *ext)
{
	if (s->overflow || s->next != s->n)
		return -EIO; /* the writer fed other pieces than its extents make */
	memset(hdr->mac, 0, sizeof(hdr->mac));
	memset(hdr->tables_mac, 0, sizeof(hdr->tables_mac));
	if (s->key && s->key->set)
		mac_tables(hdr->tables_mac, s->key, hdr, maps, ext, s->chunks, s->n);
	hdr->checksum = tables_sum(hdr, maps, ext, s->chunks, s->n);
	return 0;
}

void xos__image_sum_skip(struct xos__image_sum *s)
{
	s->next = s->n;
}

void xos__image_sum_end(struct xos__image_sum *s)
{
	xos__free(s->chunks);
	s->chunks = NULL;
}

int xos__image_sum_finish(struct xos__image_sum *s, struct img_hdr *hdr, const struct img_map *maps,
			  const struct img_ext *ext, int fd, int rc)
{
	off_t at = (off_t)(sizeof(*hdr) + hdr->nmaps * sizeof(*maps) + hdr->nextents * sizeof(*ext));
	size_t tlen = (size_t)s->n * sizeof(*s->chunks);

	if (rc == 0)
		rc = xos__image_sum_seal(s, hdr, maps, ext);
	if (rc == 0 && (pwrite(fd, s->chunks, tlen, at) != (ssize_t)tlen ||
			pwrite(fd, hdr, sizeof(*hdr), 0) != (ssize_t)sizeof(*hdr)))
		rc = errno ? -errno : -EIO;
	xos__image_sum_end(s);
	return rc;
}

int xos__image_key_check(const struct xos__image *img, const struct xos__image_key *key)
{
	uint8_t mac[XOS__SHA256_LEN];
	bool ok;

	if (!key || !key->set) {
		if (img->hdr.flags & IMG_F_KEYED)
			return -ENOKEY;
	} else {
		if (!(img->hdr.flags & IMG_F_KEYED))
			return -EKEYREJECTED;
		mac_tables(mac, key, &img->hdr, img->maps, img->ext, img->chunks, img->nchunks);
		ok = xos__equal_ct(mac, img->hdr.tables_mac, sizeof(mac));
		memset(mac, 0, sizeof(mac));
		if (!ok)
			return -EKEYREJECTED;
	}
	return tables_sum(&img->hdr, img->maps, img->ext, img->chunks, img->nchunks) == img->hdr.checksum
		       ? 0
		       : -EBADMSG;
}

int xos__image_chunk_check(const struct xos__image *img, const struct xos__image_key *key, uint32_t i,
			   const void *buf)
{
	struct img_chunk c;
	bool ok;

	if (i >= img->nchunks)
		return -EINVAL;
	chunk_entry(&c, key, i, buf, img->loc[i].len);
	if (c.sum != img->chunks[i].sum)
		return -EBADMSG;
	if (!key || !key->set)
		return 0;
	ok = xos__equal_ct(c.mac, img->chunks[i].mac, sizeof(c.mac));
	memset(&c, 0, sizeof(c));
	return ok ? 0 : -EKEYREJECTED;
}

int64_t xos__image_chunk_at(const struct xos__image *img, uint64_t off)
{
	uint32_t lo = 0, hi = img->nchunks;

	/* The chunks are in domain order: the last one starting at or before @off. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (img->loc[mid].dom_off <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || off >= img->loc[lo - 1].dom_off + img->loc[lo - 1].len)
		return -1;
	return (int64_t)(lo - 1);
}

int xos__image_read_data(int fd, const struct xos__image *img, const struct xos__image_key *key,
			 int (*use)(void *arg, uint64_t off, const void *buf, size_t len), void *arg)
{
	unsigned char *buf;
	int rc;

	/* Header and tables first: a mismatch fails without reading any data. */
	rc = xos__image_key_check(img, key);
	if (rc < 0)
		return rc;
	/* Through a small buffer that stays hot: read, verify, hand over. */
	buf = xos__malloc(XOS__IMAGE_CHUNK);
	if (!buf)
		return -ENOMEM;
	for (uint32_t i = 0; i < img->nchunks && !rc; i++) {
		rc = xos__image_read_at(fd, buf, img->loc[i].len, (off_t)img->loc[i].file_off);
		if (!rc)
			rc = xos__image_chunk_check(img, key, i, buf);
		if (!rc && use)
			rc = use(arg, img->loc[i].dom_off, buf, img->loc[i].len);
	}
	xos__free(buf);
	return rc == -ENODATA ? -EBADMSG : rc; /* shrunk under us */
}

/* ---- the domain header the image brings ------------------------------------------ */

/* Is [lo, lo+len) inside one executable mapping the image recorded (and restore verified)? */
static bool in_exec_map(const struct xos__image *img, uint64_t addr)
{
	for (uint32_t i = 0; i < img->hdr.nmaps; i++)
		if (addr >= img->maps[i].start && addr < img->maps[i].end)
			return true;
	return false;
}

/* The saved context at ef_sp: x87 cw, mxcsr, r15..rbx, rbp, return address, pad (mutate.c). */
#define CTX_WORDS 10
#define CTX_RIP 8

int xos__image_domain_check(const struct xos__domain_hdr *h, const struct xos__image *img)
{
	uint64_t base = img->hdr.dom_base, size = img->hdr.dom_size, page = 4096;
	uint64_t hdr_end = base + (sizeof(*h) + page - 1) / page * page;
	uint64_t sp = (uint64_t)(uintptr_t)h->ef_sp, rip;
	const struct xos__dheap *heap = &h->heap;

	if (h->magic != XOS_DOMAIN_MAGIC || h->version != 1 || h->base != base || h->size != size ||
	    h->state != XOS_DOM_PARKED || (h->flags & ~(uint32_t)XOS_DOM_F_MALLOC) ||
	    !has_nul(h->name, sizeof(h->name)))
		return -EBADMSG;
	/* Stack: page-aligned, at the top, above header and guard page. */
	if (h->stack_hi != base + size || h->stack_lo % page || h->stack_lo < hdr_end + page ||
	    h->stack_lo >= h->stack_hi)
		return -EBADMSG;
	/* Saved context: inside the stack, resuming in the program's own code. */
	if (sp % 8 || sp < h->stack_lo || sp > h->stack_hi - CTX_WORDS * 8)
		return -EBADMSG;
	memcpy(&rip, (const void *)(uintptr_t)(sp + CTX_RIP * 8), sizeof(rip));
	if (!in_exec_map(img, rip) || !in_exec_map(img, (uint64_t)(uintptr_t)h->fn))
		return -EBADMSG;
	/* Heap between header and guard page, its cursor within it, its bins inside it. */
	if (heap->lock != 0 || heap->lo != hdr_end || heap->hi != h->stack_lo - page || heap->top < heap->lo ||
	    heap->top > heap->hi || heap->in_use > heap->hi - heap->lo)
		return -EBADMSG;
	for (size_t i = 0; i < XOS_DHEAP_BINS; i++)
		if (heap->bins[i] && (heap->bins[i] < heap->lo || heap->bins[i] >= heap->top))
			return -EBADMSG;
	if (h->arg && ((uintptr_t)h->arg < heap->lo || (uintptr_t)h->arg >= heap->top))
		return -EBADMSG;
	if (h->nfds < 0 || h->nfds > XOS_DOMAIN_FDS)
		return -EBADMSG;
	for (int i = 0; i < h->nfds; i++)
		if (h->fds[i].fd < 0 || h->fds[i].fd >= (1 << 20))
			return -EBADMSG;
	return 0;
}
