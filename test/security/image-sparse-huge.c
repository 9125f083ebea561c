/* SPDX-License-Identifier: MIT */
/*
 * Description: an image cannot make the restorer allocate or read what
 * the file does not hold.  A genuine image is edited to claim a 4 GiB
 * domain whose 4 GiB of data are a hole of a sparse file (apparent size
 * matching the header); xos_ef_restore() must refuse it within a second,
 * without committing gigabytes (the domain limit is checked before any
 * allocation).
 */
#include "image-forge.h"

#include <sys/resource.h>
#include <time.h>

#define HUGE ((uint64_t)4 << 30)

int main(int argc, char **argv)
{
	char dir[] = "/tmp/xos-sparse-XXXXXX", img[256];
	struct timespec a, b;
	struct t_image im;
	uint64_t file_size;
	double secs;
	int fd, rc;

	(void)argc;
	t_fixed_layout(argv);
	if (!mkdtemp(dir))
		t_fail("mkdtemp");
	snprintf(img, sizeof(img), "%s/img", dir);
	t_make_image(img);
	t_load(&im, img);
	/* One extent of 4 GiB at offset 0, in a 4 GiB domain: header and tables only on disk. */
	t_put64(&im, im.dom_off + 8, HUGE);
	memset(im.b + im.dom_off + 20, 0, 4);
	im.b[im.dom_off + 20] = 1;
	im.nextents = 1;
	im.ext_off = im.hdr_size + (size_t)im.nmaps * MAP_REC;
	t_put64(&im, im.ext_off, 0);
	t_put64(&im, im.ext_off + 8, HUGE);
	im.data_at = im.ext_off + EXT_REC + t_chunk_table(HUGE);
	file_size = im.data_at + HUGE;
	t_put64(&im, 16, file_size);
	im.len = im.ext_off + EXT_REC;
	t_save(&im, img);
	fd = open(img, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)file_size) < 0)
		t_fail("sparse file: %s", strerror(errno));
	close(fd);

	clock_gettime(CLOCK_MONOTONIC, &a);
	rc = t_restore_in_child(img, 10);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	if (rc == 0)
		t_fail("a 4 GiB hole restored as a domain");
	if (secs > 1.0)
		t_fail("refused after %.2f s (want < 1 s: nothing read before the bounds check)", secs);
	printf("refused in %.3f s: %s\n", secs, xos_image_error(rc));
	snprintf(img, sizeof(img), "rm -rf %s", dir);
	return system(img) == 0 ? T_EXIT_PASS : T_EXIT_FAIL;
}
