/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104): the MAC of keyed EF
 * images.  Written from the standards' text; checked against their test
 * vectors by test/unit/unit-sha256.c.  Plain C, plus the x86 SHA
 * extensions where the CPU has them (about five times faster: a keyed
 * image is hashed whole on every dump and restore).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#include "xos_i.h"

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void compress(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, k;

	for (int t = 0; t < 16; t++)
		w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
		       (uint32_t)p[4 * t + 2] << 8 | p[4 * t + 3];
	for (int t = 16; t < 64; t++) {
		uint32_t s0 = ror(w[t - 15], 7) ^ ror(w[t - 15], 18) ^ (w[t - 15] >> 3);
		uint32_t s1 = ror(w[t - 2], 17) ^ ror(w[t - 2], 19) ^ (w[t - 2] >> 10);

		w[t] = w[t - 16] + s0 + w[t - 7] + s1;
	}
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
	for (int t = 0; t < 64; t++) {
		uint32_t t1 = k + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
		uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));

		k = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

#if defined(__x86_64__)
/*
 * The same compression with SHA-NI: the state lives as ABEF/CDGH halves;
 * each sha256rnds2 does two rounds, the message schedule is msg1 (w[t-16]
 * + s0(w[t-15])), plus w[t-7], then msg2 (+ s1(w[t-2])), four words at a time.
 */
__attribute__((target("sha,sse4.1,ssse3"))) static void compress_ni(uint32_t h[8], const unsigned char *p)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bll, 0x0405060700010203ll);
	__m128i abef, cdgh, t, save_abef, save_cdgh, w[4];

	t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)h), 0xb1);       /* B A D C */
	cdgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(h + 4)), 0x1b); /* H G F E */
	abef = _mm_alignr_epi8(t, cdgh, 8);
	cdgh = _mm_blend_epi16(cdgh, t, 0xf0);
	save_abef = abef;
	save_cdgh = cdgh;
	for (int g = 0; g < 16; g++) {
		__m128i m;

		if (g < 4) {
			w[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), bswap);
		} else {
			m = _mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]);
			m = _mm_add_epi32(m, _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4));
			w[g & 3] = _mm_sha256msg2_epu32(m, w[(g + 3) & 3]);
		}
		m = _mm_add_epi32(w[g & 3], _mm_loadu_si128((const __m128i *)(K + 4 * g)));
		cdgh = _mm_sha256rnds2_epu32(cdgh, abef, m);
		abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(m, 0x0e));
	}
	abef = _mm_add_epi32(abef, save_abef);
	cdgh = _mm_add_epi32(cdgh, save_cdgh);
	t = _mm_shuffle_epi32(abef, 0x1b);    /* F E B A */
	cdgh = _mm_shuffle_epi32(cdgh, 0xb1); /* D C H G */
	_mm_storeu_si128((__m128i *)h, _mm_blend_epi16(t, cdgh, 0xf0));
	_mm_storeu_si128((__m128i *)(h + 4), _mm_alignr_epi8(cdgh, t, 8));
}

static bool have_sha_ni(void)
{
	static int known; /* 0 unknown, 1 no, 2 yes */
	unsigned int a, b, c, d;

	if (!known) {
		bool yes = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_1) && (c & bit_SSSE3) &&
			   __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);

		known = yes ? 2 : 1;
	}
	return known == 2;
}

/* XOS_SHA256_PLAIN=1 forces the plain C code (the unit test compares both). */
static void compress_blocks(uint32_t h[8], const unsigned char *p, size_t blocks)
{
	static int plain = -1;

	if (plain < 0)
		plain = secure_getenv("XOS_SHA256_PLAIN") != NULL;
	if (!plain && have_sha_ni()) {
		for (size_t i = 0; i < blocks; i++)
			compress_ni(h, p + 64 * i);
		return;
	}
	for (size_t i = 0; i < blocks; i++)
		compress(h, p + 64 * i);
}
#else
static void compress_blocks(uint32_t h[8], const unsigned char *p, size_t blocks)
{
	for (size_t i = 0; i < blocks; i++)
		compress(h, p + 64 * i);
}
#endif

void xos__sha256_init(struct xos__sha256 *s)
{
	static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

	memcpy(s->h, iv, sizeof(iv));
	s->len = 0;
	s->used = 0;
}

void xos__sha256_update(struct xos__sha256 *s, const void *data, size_t len)
{
	const unsigned char *p = data;

	s->len += len;
	if (s->used) {
		size_t take = 64 - s->used < len ? 64 - s->used : len;

		memcpy(s->buf + s->used, p, take);
		s->used += take;
		p += take;
		len -= take;
		if (s->used < 64)
			return;
		compress_blocks(s->h, s->buf, 1);
		s->used = 0;
	}
	compress_blocks(s->h, p, len / 64);
	p += len / 64 * 64;
	len %= 64;
	memcpy(s->buf, p, len);
	s->used = len;
}

void xos__sha256_final(struct xos__sha256 *s, uint8_t out[XOS__SHA256_LEN])
{
	uint64_t bits = s->len * 8;
	unsigned char pad[72] = { 0x80 };
	size_t padlen = (s->used < 56 ? 56 : 120) - s->used;

	for (int i = 0; i < 8; i++)
		pad[padlen + i] = (unsigned char)(bits >> (56 - 8 * i));
	xos__sha256_update(s, pad, padlen + 8);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->h[i];
	}
	memset(s, 0, sizeof(*s));
}

/* HMAC: H((K ^ opad) || H((K ^ ipad) || m)), K hashed first if longer than a block. */
void xos__hmac_sha256_init(struct xos__hmac_sha256 *m, const void *key, size_t len)
{
	unsigned char k[64] = { 0 }, pad[64];

	if (len > 64) {
		struct xos__sha256 s;

		xos__sha256_init(&s);
		xos__sha256_update(&s, key, len);
		xos__sha256_final(&s, k);
	} else if (len) {
		memcpy(k, key, len);
	}
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	xos__sha256_init(&m->inner);
	xos__sha256_update(&m->inner, pad, 64);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	xos__sha256_init(&m->outer);
	xos__sha256_update(&m->outer, pad, 64);
	memset(k, 0, sizeof(k));
	memset(pad, 0, sizeof(pad));
}

void xos__hmac_sha256_update(struct xos__hmac_sha256 *m, const void *data, size_t len)
{
	xos__sha256_update(&m->inner, data, len);
}

void xos__hmac_sha256_final(struct xos__hmac_sha256 *m, uint8_t out[XOS__SHA256_LEN])
{
	uint8_t inner[XOS__SHA256_LEN];

	xos__sha256_final(&m->inner, inner);
	xos__sha256_update(&m->outer, inner, sizeof(inner));
	xos__sha256_final(&m->outer, out);
	memset(inner, 0, sizeof(inner));
}

/* Equal or not, in a time that depends on @len only (a MAC check leaks no prefix length). */
bool xos__equal_ct(const void *a, const void *b, size_t len)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}
