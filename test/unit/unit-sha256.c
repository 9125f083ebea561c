/* SPDX-License-Identifier: MIT */
/*
 * Description: SHA-256 and HMAC-SHA256 (src/runtime/sha256.c), the MAC of
 * keyed images, against the published test vectors: FIPS 180-4's examples
 * ("abc", the 448-bit message, one million 'a') plus the empty message,
 * and RFC 4231 test cases 1, 2, 3 and 6 (a key longer than a block).
 * Input fed whole and byte by byte (the buffering must not matter);
 * xos__equal_ct tells equal from different at every position.  Run twice:
 * with the CPU's SHA extensions where present, then (re-executed with
 * XOS_SHA256_PLAIN=1) with the plain C compression.
 */
#include "unit.h"

static void hex(const uint8_t *d, char *out)
{
	for (int i = 0; i < XOS__SHA256_LEN; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void sha(const void *msg, size_t len, size_t step, char *out)
{
	struct xos__sha256 s;
	uint8_t d[XOS__SHA256_LEN];

	xos__sha256_init(&s);
	for (size_t o = 0; o < len; o += step)
		xos__sha256_update(&s, (const char *)msg + o, len - o < step ? len - o : step);
	xos__sha256_final(&s, d);
	hex(d, out);
}

static void test_sha256(void **state)
{
	static const struct {
		const char *msg, *want;
	} v[] = {
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	};
	char out[65];
	char *million = malloc(1000000);

	(void)state;
	for (size_t i = 0; i < XOS_ARRAY_SIZE(v); i++) {
		sha(v[i].msg, strlen(v[i].msg), 1 << 20, out);
		assert_string_equal(out, v[i].want);
		sha(v[i].msg, strlen(v[i].msg), 1, out);
		assert_string_equal(out, v[i].want);
	}
	assert_non_null(million);
	memset(million, 'a', 1000000);
	sha(million, 1000000, 1000000, out);
	assert_string_equal(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	sha(million, 1000000, 997, out); /* a step that crosses block edges everywhere */
	assert_string_equal(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(million);
}

static void hmac(const void *key, size_t klen, const void *msg, size_t len, char *out)
{
	struct xos__hmac_sha256 m;
	uint8_t d[XOS__SHA256_LEN];

	xos__hmac_sha256_init(&m, key, klen);
	xos__hmac_sha256_update(&m, msg, len);
	xos__hmac_sha256_final(&m, d);
	hex(d, out);
}

static void test_hmac_rfc4231(void **state)
{
	uint8_t k0b[20], kaa20[20], kaa131[131], dd[50];
	const char *large = "Test Using Larger Than Block-Size Key - Hash Key First";
	char out[65];

	(void)state;
	memset(k0b, 0x0b, sizeof(k0b));
	memset(kaa20, 0xaa, sizeof(kaa20));
	memset(kaa131, 0xaa, sizeof(kaa131));
	memset(dd, 0xdd, sizeof(dd));
	hmac(k0b, sizeof(k0b), "Hi There", 8, out);
	assert_string_equal(out, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	hmac("Jefe", 4, "what do ya want for nothing?", 28, out);
	assert_string_equal(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	hmac(kaa20, sizeof(kaa20), dd, sizeof(dd), out);
	assert_string_equal(out, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
	hmac(kaa131, sizeof(kaa131), large, strlen(large), out);
	assert_string_equal(out, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void test_equal_ct(void **state)
{
	uint8_t a[32], b[32];

	(void)state;
	memset(a, 0x5c, sizeof(a));
	memcpy(b, a, sizeof(b));
	assert_true(xos__equal_ct(a, b, sizeof(a)));
	for (size_t i = 0; i < sizeof(a); i++) {
		b[i] ^= 1;
		assert_false(xos__equal_ct(a, b, sizeof(a)));
		b[i] ^= 1;
	}
	assert_true(xos__equal_ct(a, b, 0));
}

int main(int argc, char **argv)
{
	int rc;

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_equal_ct),
	};

	(void)argc;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (rc == 0 && !getenv("XOS_SHA256_PLAIN")) {
		setenv("XOS_SHA256_PLAIN", "1", 1);
		/* argv[0], not /proc/self/exe: under valgrind that is valgrind's launcher. */
		execv(argv[0], argv);
		return 1;
	}
	return rc;
}
