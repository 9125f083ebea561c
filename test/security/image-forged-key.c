/* SPDX-License-Identifier: MIT */
/*
 * Description: with an image key (XOS_IMAGE_KEY_FILE), images are
 * authenticated.  An unkeyed image, and a keyed image whose data was
 * edited and its public checksum recomputed, must both be refused by
 * xos_ef_restore() and xos_image_check(); a keyed image restores with
 * its key, and is refused without it or under another key.  A keyed image
 * edited to claim 1 GiB of data (a sparse file) is refused within a
 * second: the header and tables carry a MAC of their own, checked before
 * any data is read.
 */
#include "image-forge.h"

#include <time.h>

/* Make @im claim one extent of @size bytes (a hole of the file) in a domain of that size. */
static void claim_sparse(struct t_image *im, const char *path, uint64_t size)
{
	uint64_t file_size;
	int fd;

	t_put64(im, im->dom_off + 8, size);
	memset(im->b + im->dom_off + 20, 0, 4);
	im->b[im->dom_off + 20] = 1;
	im->nextents = 1;
	t_put64(im, im->ext_off, 0);
	t_put64(im, im->ext_off + 8, size);
	im->chunk_off = im->ext_off + EXT_REC;
	im->data_at = im->chunk_off + t_chunk_table(size); /* a hole of zeros too */
	file_size = im->data_at + size;
	t_put64(im, 16, file_size);
	im->len = im->chunk_off;
	t_save(im, path);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)file_size) < 0)
		t_fail("sparse file: %s", strerror(errno));
	close(fd);
}

static void set_key(const char *dir, const char *name, const char *bytes)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, bytes, strlen(bytes)) != (ssize_t)strlen(bytes) || close(fd) < 0)
		t_fail("key file");
	setenv("XOS_IMAGE_KEY_FILE", path, 1);
}

static void want(const char *path, bool ok, const char *what)
{
	char exe[4096];
	int rc = t_restore_in_child(path, 10), crc = xos_image_check(path, exe, sizeof(exe));

	if (ok && (rc != 0 || crc != 0))
		t_fail("%s: refused: %s", what, xos_image_error(rc ? rc : crc));
	if (!ok && (rc == 0 || crc == 0))
		t_fail("%s: accepted (restore %d, check %d)", what, rc, crc);
	printf("%s: %s\n", what, ok ? "restored" : xos_image_error(rc));
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/xos-key-XXXXXX", plain[256], keyed[256], forged[256];
	struct t_image im;

	(void)argc;
	t_fixed_layout(argv);
	unsetenv("XOS_IMAGE_KEY_FILE");
	if (!mkdtemp(dir))
		t_fail("mkdtemp");
	snprintf(plain, sizeof(plain), "%s/plain", dir);
	snprintf(keyed, sizeof(keyed), "%s/keyed", dir);
	snprintf(forged, sizeof(forged), "%s/forged", dir);
	t_make_image(plain);
	set_key(dir, "key", "correct horse battery staple");
	t_make_image(keyed);

	/* The attacker edits the keyed image's data (one byte of the EF's stack) and reseals. */
	t_load(&im, keyed);
	im.b[im.len - 200] ^= 0x5a;
	t_reseal(&im);
	t_save(&im, forged);

	/* Its checksum (and MAC) are found out only after all the data: if that is read first, it is slow. */
	{
		struct t_image big;
		struct timespec a, b;
		char sparse[256];
		int rc;

		snprintf(sparse, sizeof(sparse), "%s/sparse", dir);
		t_load(&big, keyed);
		claim_sparse(&big, sparse, (uint64_t)1 << 30);
		clock_gettime(CLOCK_MONOTONIC, &a);
		rc = t_restore_in_child(sparse, 10);
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (rc == 0)
			t_fail("keyed image claiming 1 GiB of holes restored");
		if ((double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9 > 1.0)
			t_fail("keyed image claiming 1 GiB refused only after %.1f s",
			       (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
		printf("keyed image claiming 1 GiB: %s\n", xos_image_error(rc));
	}
	want(plain, false, "unkeyed image, key set");
	want(forged, false, "keyed image edited, checksum recomputed");
	want(keyed, true, "keyed image with its key");
	set_key(dir, "other", "another key");
	want(keyed, false, "keyed image under another key");
	unsetenv("XOS_IMAGE_KEY_FILE");
	want(keyed, false, "keyed image without a key");
	snprintf(plain, sizeof(plain), "rm -rf %s", dir);
	return system(plain) == 0 ? T_EXIT_PASS : T_EXIT_FAIL;
}
