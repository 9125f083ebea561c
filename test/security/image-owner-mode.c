/* SPDX-License-Identifier: MIT */
/*
 * Description: an image is trusted only as far as whoever could write it.
 * A genuine image made writable by group or others, or owned by another
 * user, must be refused by xos_ef_restore() and xos_image_check(); so
 * must a symbolic link to it.  The untouched image (0600, ours) restores.
 */
#include "image-forge.h"

static void want_refused(const char *path, const char *what)
{
	char exe[4096];
	int rc = t_restore_in_child(path, 10);

	if (rc == 0)
		t_fail("%s: restored", what);
	if (xos_image_check(path, exe, sizeof(exe)) == 0)
		t_fail("%s: xos_image_check accepted it", what);
	printf("%s: %s\n", what, xos_image_error(rc));
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/xos-owner-XXXXXX", img[256], link[256];
	int rc;

	(void)argc;
	t_fixed_layout(argv);
	if (!mkdtemp(dir))
		t_fail("mkdtemp");
	snprintf(img, sizeof(img), "%s/img", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	t_make_image(img);
	if (chmod(img, 0600) < 0)
		t_fail("chmod");
	rc = t_restore_in_child(img, 10);
	if (rc != 0)
		t_fail("the genuine image is refused: %s", xos_image_error(rc));

	chmod(img, 0620);
	want_refused(img, "group-writable");
	chmod(img, 0602);
	want_refused(img, "world-writable");
	chmod(img, 0600);
	if (symlink(img, link) < 0)
		t_fail("symlink");
	want_refused(link, "symlink");
	if (geteuid() == 0) {
		/* Root: a file of another user is that user's to forge. */
		if (chown(img, 65534, 65534) < 0)
			t_fail("chown: %s", strerror(errno));
		want_refused(img, "owned by uid 65534");
	} else {
		printf("owner: not root, cannot give the image away (checked by mode only)\n");
	}
	snprintf(img, sizeof(img), "rm -rf %s", dir);
	return system(img) == 0 ? T_EXIT_PASS : T_EXIT_FAIL;
}
