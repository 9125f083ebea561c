/* SPDX-License-Identifier: MIT */
/*
 * Description: libFuzzer harness for the EF image reader (src/runtime/
 * image.c): header and table bounds, integrity (checksum, HMAC-SHA256),
 * and the check of the domain header an image brings.
 * Input layout: one control byte, then the image file.
 *   bit 0: reseal: recompute the checksum (and MAC) of the input before
 *          reading it, so that mutations get past the integrity check and
 *          reach the structure checks behind it (as a forger would)
 *   bit 1: read (and reseal) under a key, as with XOS_IMAGE_KEY_FILE
 * The image is a memfd (a regular file, like the images restore reads).
 * Whatever the reader accepts, its domain is laid out as restore does
 * (at its address, when small enough to map here) and the domain header
 * checked.  The reader must only ever return 0 or a negative errno;
 * ASan/UBSan catch everything else.
 *
 * Built and run by `make fuzz-image` (clang -fsanitize=fuzzer), seeded
 * with genuine images from test/security (fuzz/image-corpus).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../src/runtime/image_i.h"

/* What image.c needs from the runtime's allocator. */
void *xos__malloc(size_t size)
{
	return malloc(size);
}

void *xos__calloc(size_t n, size_t size)
{
	return calloc(n, size);
}

void xos__free(void *p)
{
	free(p);
}

#define MAP_LIMIT ((uint64_t)16 << 20) /* lay out domains up to this size */

/* Recompute the checksum (and MAC under @key) of the image in @fd, as the writer would. */
static void reseal(int fd, const struct xos__image *img, const struct xos__image_key *key)
{
	struct xos__image_sum s;
	struct img_hdr hdr = img->hdr;
	static unsigned char buf[XOS__IMAGE_CHUNK];
	uint64_t at = img->data_at;

	hdr.flags = key->set ? IMG_F_KEYED : 0;
	if (xos__image_sum_begin(&s, key, &hdr, img->ext) < 0)
		return;
	for (uint32_t i = 0; i < hdr.nextents; i++)
		for (uint64_t o = 0; o < img->ext[i].len; o += XOS__IMAGE_CHUNK) {
			size_t len = img->ext[i].len - o < XOS__IMAGE_CHUNK ? (size_t)(img->ext[i].len - o)
									    : XOS__IMAGE_CHUNK;

			if (pread(fd, buf, len, (off_t)at) != (ssize_t)len) {
				xos__image_sum_finish(&s, &hdr, img->maps, img->ext, fd, -EIO);
				return;
			}
			xos__image_sum_data(&s, buf, len);
			at += len;
		}
	if (xos__image_sum_finish(&s, &hdr, img->maps, img->ext, fd, 0) < 0)
		abort();
}

/* Lay the domain out at its address, as restore does, and check its header. */
static void check_domain(int fd, const struct xos__image *img)
{
	uint64_t base = img->hdr.dom_base, size = img->hdr.dom_size, at = img->data_at;
	void *p;

	if (size > MAP_LIMIT)
		return;
	p = mmap((void *)(uintptr_t)base, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (void *)(uintptr_t)base) {
		if (p != MAP_FAILED)
			munmap(p, size);
		return;
	}
	for (uint32_t i = 0; i < img->hdr.nextents; i++) {
		if (pread(fd, (char *)p + img->ext[i].off, img->ext[i].len, (off_t)at) !=
		    (ssize_t)img->ext[i].len)
			abort(); /* bounds checked by load: must fit */
		at += img->ext[i].len;
	}
	int rc = xos__image_domain_check(p, img);

	if (rc != 0 && rc != -EBADMSG)
		abort();
	munmap(p, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct xos__image_key key;
	struct xos__image img;
	int fd, rc;
	uint8_t ctl;

	if (size < 1)
		return 0;
	ctl = data[0];
	key.set = ctl & 2;
	key.len = 8;
	memcpy(key.key, "fuzz-key", 8);
	fd = memfd_create("fuzz-image", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	rc = xos__image_load(fd, &img);
	if (rc == 0 && (ctl & 1)) {
		reseal(fd, &img, &key);
		xos__image_release(&img);
		rc = xos__image_load(fd, &img);
	}
	if (rc > 0)
		abort();
	if (rc == 0) {
		rc = xos__image_read_data(fd, &img, &key, NULL, NULL);
		if (rc > 0)
			abort();
		if (rc == 0)
			check_domain(fd, &img);
		xos__image_release(&img);
	}
	close(fd);
	return 0;
}
