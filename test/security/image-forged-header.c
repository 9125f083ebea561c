/* SPDX-License-Identifier: MIT */
/*
 * Description: a forged domain header with a valid checksum is an error,
 * never a crash.  The domain header the image brings (the first bytes of
 * its first extent) is edited, the checksum recomputed, and
 * xos_ef_restore() must return an error rather than die of
 * SIGSEGV/SIGBUS: a saved stack pointer outside the stack, a stack
 * bottom inside the program's code (its guard page would be
 * mprotect'ed there), and a saved context resuming at an address that is
 * no code of the program.  Nor may a file claim chunks without checksums,
 * which only a move's connection may carry.
 */
#include "image-forge.h"

/* Offsets in the domain header: magic 0, version 8, flags 12, base 16, size 24, stack_lo 32, stack_hi 40, ef_sp 48. */
#define DH_STACK_LO 32
#define DH_EF_SP 48

static int forge(const struct t_image *genuine, const char *path, size_t field, uint64_t value,
		 bool in_stack)
{
	struct t_image im = *genuine;
	size_t dh = im.data_at; /* the first extent starts at the domain's base */

	im.b = malloc(im.len);
	memcpy(im.b, genuine->b, im.len);
	if (in_stack) {
		/* Overwrite the saved return address of the parked context (ef_sp + 64). */
		uint64_t base = t_u64(&im, im.dom_off), sp = t_u64(&im, dh + DH_EF_SP), at = 0;

		for (uint32_t i = 0, done = 0; i < im.nextents && !done; i++) {
			uint64_t off = t_u64(&im, im.ext_off + i * EXT_REC), len = t_u64(&im, im.ext_off + i * EXT_REC + 8);

			if (sp + 64 - base >= off && sp + 64 - base < off + len) {
				t_put64(&im, im.data_at + at + (sp + 64 - base - off), value);
				done = 1;
			}
			at += len;
		}
	} else {
		t_put64(&im, dh + field, value);
	}
	t_reseal(&im);
	t_save(&im, path);
	free(im.b);
	return t_restore_in_child(path, 10);
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/xos-hdr-XXXXXX", img[256], bad[256];
	uintptr_t code = (uintptr_t)&main & ~(uintptr_t)4095;
	struct t_image im;
	int rc;

	(void)argc;
	t_fixed_layout(argv);
	if (!mkdtemp(dir))
		t_fail("mkdtemp");
	snprintf(img, sizeof(img), "%s/img", dir);
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	t_make_image(img);
	t_load(&im, img);
	rc = t_restore_in_child(img, 10);
	if (rc != 0)
		t_fail("the genuine image is refused: %s", xos_image_error(rc));

	rc = forge(&im, bad, DH_EF_SP, 0x1000, false);
	if (rc == 0)
		t_fail("saved stack pointer 0x1000 accepted");
	printf("ef_sp outside the stack: %s\n", xos_image_error(rc));
	rc = forge(&im, bad, DH_STACK_LO, code + 4096, false);
	if (rc == 0)
		t_fail("stack bottom in the program's code accepted");
	printf("stack_lo in the code: %s\n", xos_image_error(rc));
	rc = forge(&im, bad, 0, 0x4141414141414141ull, true);
	if (rc == 0)
		t_fail("resume address 0x4141414141414141 accepted");
	printf("resume address outside the code: %s\n", xos_image_error(rc));
	/*
	 * An image file claiming what only a move's stream may (its chunks carry
	 * no checksums, flag 2 at offset 36), its chunk table zero and a byte of
	 * its data changed: refused as damaged, not run.
	 */
	{
		struct t_image u = im;
		uint32_t flags = 2;

		u.b = malloc(u.len);
		memcpy(u.b, im.b, u.len);
		memcpy(u.b + 36, &flags, 4);
		memset(u.b + u.chunk_off, 0, (size_t)u.nchunks * CHUNK_REC);
		u.b[u.len - 1] ^= 0x5a; /* the last byte of data */
		t_reseal_tables(&u);
		t_save(&u, bad);
		free(u.b);
		rc = t_restore_in_child(bad, 10);
		if (rc != -EBADMSG)
			t_fail("an image file with unchecksummed chunks: %s, not -EBADMSG", rc ? xos_image_error(rc) : "restored");
		printf("chunks without checksums in a file: %s\n", xos_image_error(rc));
	}
	snprintf(img, sizeof(img), "rm -rf %s", dir);
	return system(img) == 0 ? T_EXIT_PASS : T_EXIT_FAIL;
}
