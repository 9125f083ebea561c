/* SPDX-License-Identifier: MIT */
/*
 * Description: with an image key (XOS_IMAGE_KEY_FILE), images are
 * authenticated.  An unkeyed image, and a keyed image whose data was
 * edited and its public checksum recomputed, must both be refused by
 * xos_ef_restore() and xos_image_check(); a keyed image restores with
 * its key, and is refused without it or under another key.
 */
#include "image-forge.h"

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
