/* SPDX-License-Identifier: MIT */
/*
 * Private to libxos: the EF image format and its reader's checks
 * (image.c), shared by the dumper/restorer (dump.c) and the fuzzer
 * (test/security/fuzz-image.c).
 *
 * An image is, in this order:
 *   struct img_hdr     magic, version, file size, checksum, MAC, the
 *                      dumping binary's build-id (and its path, for
 *                      messages only), the domain's address and size
 *   struct img_map[]   the executable mappings of the dumping process
 *   struct img_ext[]   the extents of the domain's memfd that hold data,
 *                      sorted, not overlapping, page-aligned
 *   struct img_chunk[] one per chunk of data: each extent cut into
 *                      XOS__IMAGE_CHUNK pieces from its start; the
 *                      chunk's checksum and, keyed, its HMAC
 *   data               those extents, back to back
 * The header's checksum (and, keyed, its tables_mac) covers header and
 * tables, the chunk table included; each chunk's entry covers its bytes
 * and its index.  So header and tables are verified before any data is
 * read, and each chunk on its own before any of its bytes is used: a
 * restore can let the EF run once the chunks it needs first are in, and
 * bring in the rest while it runs (dump.c).
 * Nothing in it is trusted before it is checked: every count and size is
 * bounded and checked against the file's real size (fstat) before any
 * allocation, and the path of the binary is never opened or run.
 */
#ifndef XOS_IMAGE_I_H
#define XOS_IMAGE_I_H

#include "xos_i.h"

#define IMG_MAGIC "XOSIMG\r\n"
#define IMG_VERSION 3u /* 2 had one checksum over everything: refused */
#define IMG_MAPS_MAX 256
/* Worst case: every other page of the largest domain holds data. */
#define IMG_EXTENTS_MAX ((uint32_t)(XOS__DOMAIN_SIZE_MAX / 4096 / 2 + 1))
#define IMG_F_KEYED 1u /* mac is HMAC-SHA256 under the image key */
/*
 * A stream only (an unkeyed move between hosts of one launch): the chunk
 * table is zero, the data went socket to memfd without passing through
 * user space (image_splice.c), vouched for by the connection as every
 * other message of the launch is: TCP's checksum against damage, the
 * launch secret against strangers.  Never with IMG_F_KEYED, never in a file.
 */
#define IMG_F_UNSUMMED 2u
#define IMG_KEY_MAX 4096
#define IMG_KEY_ENV "XOS_IMAGE_KEY_FILE"

struct img_hdr {
	char magic[8];
	uint32_t version;
	uint32_t hdr_size;
	uint64_t file_size;
	uint64_t checksum;
	uint32_t build_id_len;
	uint32_t flags; /* IMG_F_* */
	uint8_t build_id[64];
	uint8_t mac[XOS__SHA256_LEN];        /* zero (version 2: HMAC of everything) */
	uint8_t tables_mac[XOS__SHA256_LEN]; /* HMAC of header and tables, chunk table included */
	char exe[1024]; /* where the dumping binary was: for messages, never opened */
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

struct img_chunk {
	uint64_t sum;                 /* checksum of the chunk's bytes, seeded by its index */
	uint8_t mac[XOS__SHA256_LEN]; /* keyed: HMAC of its index (le64) and bytes; else zero */
};

/* Where a chunk's bytes are: in the file and in the domain. */
struct xos__image_loc {
	uint64_t file_off, dom_off;
	uint32_t len;
};

/* An image's header and tables, checked for shape and size. */
struct xos__image {
	struct img_hdr hdr;
	struct img_map *maps;
	struct img_ext *ext;
	struct img_chunk *chunks;
	struct xos__image_loc *loc; /* per chunk, in domain order */
	uint32_t nchunks;
	uint64_t data_at;  /* file offset of the first extent's bytes */
	uint64_t data_len; /* sum of the extents' lengths */
};

/* The image key (XOS_IMAGE_KEY_FILE), if one is set. */
struct xos__image_key {
	bool set;
	size_t len;
	uint8_t key[IMG_KEY_MAX];
};

/* Integrity of an image being written: the chunk table it fills. */
struct xos__image_sum {
	const struct xos__image_key *key;
	struct img_chunk *chunks;
	uint32_t n, next;
	bool overflow;
};

/*
 * Open @path for reading an image or a key: never blocks (O_NONBLOCK,
 * dropped once the file is known regular), never follows a final
 * symlink; refuses what is not a regular file (-EMEDIUMTYPE), what is
 * owned by neither the caller nor root or has any of the @bad_mode bits
 * (-EPERM).
 */
int xos__image_open(const char *path, mode_t bad_mode, int *ret_fd) XOS_HIDDEN;
/* pread() of exactly @len bytes at @off: 0, -ENODATA at end of file, or -errno. */
int xos__image_read_at(int fd, void *buf, size_t len, off_t off) XOS_HIDDEN;
/* Read the key named by XOS_IMAGE_KEY_FILE into @key (key->set false when unset). */
int xos__image_key_load(struct xos__image_key *key) XOS_HIDDEN;
/* Read and check the header and tables of the image in @fd. */
int xos__image_load(int fd, struct xos__image *img) XOS_HIDDEN;
void xos__image_release(struct xos__image *img) XOS_HIDDEN;
/*
 * A streamed image (a migration, xos__image_send) comes in this order:
 * header (its checksum and MACs zero), maps, extents, the data, then the
 * chunk table and the header again, sealed: so the sender reads the
 * domain once, hashing each chunk as it sends it (unkeyed: IMG_F_UNSUMMED,
 * sent as it is, the table zero).  @len is the stream's
 * length (the image's file size + one header).  Load its header and
 * tables from @fd, checked for shape (the chunk table comes later); a
 * stream cut short reads as -EBADMSG (hosts.c then asks whether the sender
 * is gone).
 */
int xos__image_stream_load(int fd, uint64_t len, struct xos__image *img) XOS_HIDDEN;
/* The table entry of chunk @i with bytes @buf[@len] (a stream reader computes each as it comes). */
void xos__image_chunk_entry(struct img_chunk *c, const struct xos__image_key *key, uint32_t i, const void *buf,
			    size_t len) XOS_HIDDEN;
/*
 * After a stream's data: take its chunk table and sealed header from
 * @fd, check them (key, checksum, the header unchanged but for its seal)
 * and each chunk's entry as it came (@got, NULL for IMG_F_UNSUMMED) against the table.  0,
 * -EBADMSG, -EKEYREJECTED, -ENOKEY or the socket's -errno.
 */
int xos__image_stream_seal_check(int fd, struct xos__image *img, const struct xos__image_key *key,
				 const struct img_chunk *got) XOS_HIDDEN;

/* The number of chunks of the extents @ext[@n] (each cut into XOS__IMAGE_CHUNK pieces). */
uint64_t xos__image_nchunks(const struct img_ext *ext, uint32_t n) XOS_HIDDEN;
/*
 * Writer: begin (allocates the chunk table; -ENOMEM), feed each chunk's
 * bytes in order (the pieces the writers cut: extent by extent,
 * XOS__IMAGE_CHUNK at most), then finish: with @rc 0, seal @hdr (checksum,
 * MAC) and write chunk table and header into @fd at their places; frees
 * the table either way.  Returns @rc or the write's error.
 */
int xos__image_sum_begin(struct xos__image_sum *s, const struct xos__image_key *key,
			 const struct img_hdr *hdr, const struct img_ext *ext) XOS_HIDDEN;
void xos__image_sum_data(struct xos__image_sum *s, const void *buf, size_t len) XOS_HIDDEN;
int xos__image_sum_finish(struct xos__image_sum *s, struct img_hdr *hdr, const struct img_map *maps,
			  const struct img_ext *ext, int fd, int rc) XOS_HIDDEN;
/* Streaming writer: seal @hdr once every chunk is fed (the table stays in s->chunks, s->n
 * entries, to send after the extents); then end (frees the table). */
int xos__image_sum_seal(struct xos__image_sum *s, struct img_hdr *hdr, const struct img_map *maps,
			const struct img_ext *ext) XOS_HIDDEN;
void xos__image_sum_end(struct xos__image_sum *s) XOS_HIDDEN;
/* Streaming writer of an IMG_F_UNSUMMED image: every chunk fed, its entry zero. */
void xos__image_sum_skip(struct xos__image_sum *s) XOS_HIDDEN;
/*
 * The extents @ext[@n] of @fd, in order, onto the stream socket @sock
 * without a copy here (sendfile, no SIGPIPE): 0, or -errno (-EIO: @fd
 * ended early).
 */
int xos__image_sendfile(int sock, int fd, const struct img_ext *ext, uint32_t n) XOS_HIDDEN;
/*
 * @len bytes from the stream socket @sock into @fd at @off through the
 * empty pipe @pipefd (left empty on success): 0, -ENODATA when the sender
 * closed first, or -errno (-EAGAIN: the receive timeout).
 */
int xos__image_splice_in(int sock, const int pipefd[2], int fd, uint64_t off, uint64_t len) XOS_HIDDEN;
/* Writer: header, maps, extents, and room for the chunk table (filled by finish). */
int xos__image_write_tables(int fd, const struct img_hdr *hdr, const struct img_map *maps,
			    const struct img_ext *ext) XOS_HIDDEN;
/*
 * Before reading any data: do key and checksum agree with header and
 * tables?  0, or -EKEYREJECTED (no MAC, or a MAC that is not the key's),
 * -ENOKEY (keyed image, no key), -EBADMSG (checksum).  Makes a forged
 * keyed image fail at once, whatever size it claims.
 */
int xos__image_key_check(const struct xos__image *img, const struct xos__image_key *key) XOS_HIDDEN;
/* Is @buf the bytes of chunk @i?  0, -EBADMSG (checksum), -EKEYREJECTED (MAC). */
int xos__image_chunk_check(const struct xos__image *img, const struct xos__image_key *key, uint32_t i,
			   const void *buf) XOS_HIDDEN;
/* The chunk holding domain offset @off, or -1 (a hole: reads zero). */
int64_t xos__image_chunk_at(const struct xos__image *img, uint64_t off) XOS_HIDDEN;
/*
 * Read the image's data once, in order, checking key and integrity: each
 * chunk is read and verified, then handed to @use (if not NULL) with its
 * offset in the domain.  0 only if every chunk was read, verified and
 * used; -EBADMSG for a file that ends early or a chunk that is not what
 * the table says.  @use only ever sees verified bytes.
 */
int xos__image_read_data(int fd, const struct xos__image *img, const struct xos__image_key *key,
			 int (*use)(void *arg, uint64_t off, const void *buf, size_t len), void *arg) XOS_HIDDEN;

/*
 * Check the domain header the image restored (@h, at @img's domain base)
 * before anything uses it: magic, state, stack, saved context, heap, fd
 * table, and that the saved context resumes in one of @img's executable
 * mappings.  -EBADMSG when it is not a parked EF's header.
 */
int xos__image_domain_check(const struct xos__domain_hdr *h, const struct xos__image *img) XOS_HIDDEN;

/* ---- the writer's pieces (dump.c), shared by the dump that does not stop the EF (ckpt.c) ---- */

int xos__image_build_id_self(uint8_t *id, size_t max) XOS_HIDDEN;
/* The executable file mappings of this process; their count. */
int xos__image_exec_maps(struct img_map *maps, size_t max) XOS_HIDDEN;
int xos__image_write_all(int fd, const void *buf, size_t len) XOS_HIDDEN;
/* The data extents of @memfd within [0, size), allocated (xos__free). */
int xos__image_extents(int memfd, size_t size, struct img_ext **ret, uint32_t *ret_n) XOS_HIDDEN;
/* Append the extent [@off, @off+@len) to *@ext (*@n used of *@cap), growing
 * it; -E2BIG past IMG_EXTENTS_MAX, -ENOMEM (*@ext is kept either way). */
int xos__image_ext_add(struct img_ext **ext, size_t *n, size_t *cap, uint64_t off, uint64_t len) XOS_HIDDEN;
/* Everything of @ef's header but its extents (count and file size) and sums. */
int xos__image_hdr_init(const struct xos_ef *ef, const struct xos__image_key *key,
			struct img_hdr *hdr, struct img_map *maps) XOS_HIDDEN;
/* Set the extent count and the file size they make. */
void xos__image_hdr_extents(struct img_hdr *hdr, const struct img_ext *ext, uint32_t n) XOS_HIDDEN;
/* A temporary file beside @path (PATH.tmp.XXXXXX), for writing an image. */
int xos__image_tmp_open(const char *path, char **ret_tmp, int *ret_fd) XOS_HIDDEN;
/*
 * End of a write of result @rc into @fd (temporary file @tmp, freed here):
 * on success fsync, close, rename over @path, fsync the directory; on any
 * failure close and unlink, leaving @path as it was.  The result.
 */
int xos__image_commit(char *tmp, const char *path, int fd, int rc) XOS_HIDDEN;

/* The chunk size of reads and hashing: stays in L2. */
#define XOS__IMAGE_CHUNK ((size_t)256 << 10)

#endif /* XOS_IMAGE_I_H */
