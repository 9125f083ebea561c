/* SPDX-License-Identifier: MIT */
/*
 * Description: the image checksum (src/runtime/image.c), the sum every
 * chunk of every EF image carries, against known answers: lengths around
 * the 64-byte block and the 8-byte word, and a whole 256 KiB chunk, with
 * chunk numbers that change the seed.  The sums are part of the image
 * format (an image dumped by one build is restored by another of the same
 * version), so they must not depend on the CPU: run twice, with the
 * AVX-512 lanes where the CPU has them, then (re-executed with
 * XOS_HASH64_PLAIN=1) with the plain C lanes.
 */
#include "unit.h"

#include "../../src/runtime/image_i.h"

/* Byte @i of the test input: not periodic in 64 (a lane mix-up shows). */
static unsigned char byte_at(size_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13);
}

static void test_known_sums(void **state)
{
	static const struct {
		size_t len;
		uint32_t chunk;
		uint64_t sum;
	} v[] = {
		{ 0, 0, 0xadf7fb961a1afac1ull },
		{ 1, 37, 0xf2f95ffe0ca9edfbull },
		{ 7, 74, 0x0f4c69c88a8237c4ull },
		{ 8, 111, 0xe34a7f8ae82e7e3cull },
		{ 9, 148, 0x9655ff5af0d082c4ull },
		{ 63, 185, 0x970ec4c416f54e3cull },
		{ 64, 222, 0x56e854ad81a20d76ull },
		{ 65, 259, 0xddc6523ed4c1d9acull },
		{ 127, 296, 0x1bee88a81e5a92f6ull },
		{ 128, 333, 0xf4198f2dda611f15ull },
		{ 200, 370, 0xbb1546e440356546ull },
		{ 4096, 407, 0xdf6d3dc3ca8c1c1eull },
		{ 4120, 444, 0xe09df3b1635d55f7ull },
		{ 262143, 481, 0xce77fec19319b9d0ull },
		{ 262144, 518, 0x7ed527857d8265e4ull },
	};
	size_t max = 256u << 10;
	unsigned char *buf = malloc(max), *odd = malloc(max + 1);

	(void)state;
	assert_non_null(buf);
	assert_non_null(odd);
	for (size_t i = 0; i < max; i++)
		buf[i] = odd[i + 1] = byte_at(i);
	for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
		struct img_chunk c;

		/* At offset 1 too: the lanes must not assume an aligned buffer. */
		for (size_t off = 0; off < 2; off++) {
			xos__image_chunk_entry(&c, NULL, v[k].chunk, off ? odd + 1 : buf, v[k].len);
			if (c.sum != v[k].sum)
				fail_msg("len %zu chunk %u offset %zu: sum %#llx, want %#llx", v[k].len, v[k].chunk,
					 off, (unsigned long long)c.sum, (unsigned long long)v[k].sum);
		}
	}
	free(odd);
	free(buf);
}

/* One flipped bit anywhere in a chunk changes its sum. */
static void test_bit_flip(void **state)
{
	size_t len = 4096 + 24;
	unsigned char *buf = malloc(len);
	struct img_chunk a, b;

	(void)state;
	assert_non_null(buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = byte_at(i);
	xos__image_chunk_entry(&a, NULL, 7, buf, len);
	for (size_t i = 0; i < len; i += 61) {
		buf[i] ^= 0x10;
		xos__image_chunk_entry(&b, NULL, 7, buf, len);
		buf[i] ^= 0x10;
		if (a.sum == b.sum)
			fail_msg("a flipped bit at %zu left the sum as it was", i);
	}
	free(buf);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_sums),
		cmocka_unit_test(test_bit_flip),
	};
	int rc;

	(void)argc;
	t_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (rc == 0 && !getenv("XOS_HASH64_PLAIN")) {
		setenv("XOS_HASH64_PLAIN", "1", 1);
		/* argv[0], not /proc/self/exe: under valgrind that is valgrind's launcher. */
		execv(argv[0], argv);
		return 1;
	}
	return rc;
}
