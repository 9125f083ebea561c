# SPDX-License-Identifier: MIT
# test/security: attacks on images, each a small program asserting the attack
# is stopped.  Included from Makefile.am.

# Every attack is run on a genuine image of the test binary itself (dumped by
# a child), forged the way an attacker would (test/security/image-forge.h).
image_attack_tests = \
	test/security/image-forged-binary \
	test/security/image-forged-header \
	test/security/image-fifo \
	test/security/image-sparse-huge \
	test/security/image-owner-mode \
	test/security/image-forged-key
check_PROGRAMS += $(image_attack_tests)
TESTS += $(image_attack_tests) test/security/image-restore-cli.sh
EXTRA_DIST += test/security/image-restore-cli.sh

test_security_image_forged_binary_SOURCES = test/security/image-forged-binary.c test/security/image-forge.h
test_security_image_forged_binary_LDADD = libxos.la
test_security_image_forged_binary_LDFLAGS = $(AM_LDFLAGS) -no-install

test_security_image_forged_header_SOURCES = test/security/image-forged-header.c test/security/image-forge.h
test_security_image_forged_header_LDADD = libxos.la
test_security_image_forged_header_LDFLAGS = $(AM_LDFLAGS) -no-install

test_security_image_fifo_SOURCES = test/security/image-fifo.c test/security/image-forge.h
test_security_image_fifo_LDADD = libxos.la
test_security_image_fifo_LDFLAGS = $(AM_LDFLAGS) -no-install

test_security_image_sparse_huge_SOURCES = test/security/image-sparse-huge.c test/security/image-forge.h
test_security_image_sparse_huge_LDADD = libxos.la
test_security_image_sparse_huge_LDFLAGS = $(AM_LDFLAGS) -no-install

test_security_image_owner_mode_SOURCES = test/security/image-owner-mode.c test/security/image-forge.h
test_security_image_owner_mode_LDADD = libxos.la
test_security_image_owner_mode_LDFLAGS = $(AM_LDFLAGS) -no-install

test_security_image_forged_key_SOURCES = test/security/image-forged-key.c test/security/image-forge.h
test_security_image_forged_key_LDADD = libxos.la
test_security_image_forged_key_LDFLAGS = $(AM_LDFLAGS) -no-install

# SHA-256 / HMAC-SHA256 of keyed images against FIPS 180-4 and RFC 4231 vectors.
if HAVE_CMOCKA
check_PROGRAMS += test/unit/unit-sha256
TESTS += test/unit/unit-sha256
valgrind_tests += test/unit/unit-sha256
test_unit_unit_sha256_SOURCES = test/unit/unit-sha256.c test/unit/unit.h
test_unit_unit_sha256_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_unit_unit_sha256_LDADD = libxos-core.la $(CMOCKA_LIBS)
endif

# ---- libFuzzer harness for the image reader: `make fuzz-image [FUZZ_SECONDS=N]` ----
# (FUZZ_SECONDS and FUZZ_CC come from src/chan/local.mk, like fuzz-ring)
EXTRA_DIST += test/security/fuzz-image.c
fuzz/fuzz-image: $(srcdir)/test/security/fuzz-image.c $(srcdir)/src/runtime/image.c \
		$(srcdir)/src/runtime/sha256.c $(srcdir)/src/runtime/image_i.h $(srcdir)/src/runtime/xos_i.h
	@mkdir -p fuzz
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -I$(top_srcdir)/include -I$(top_srcdir)/src/runtime -I$(top_builddir) \
	  -o $@ $(srcdir)/test/security/fuzz-image.c $(srcdir)/src/runtime/image.c $(srcdir)/src/runtime/sha256.c
fuzz-image: fuzz/fuzz-image
	@mkdir -p fuzz/image-corpus
	./fuzz/fuzz-image -max_len=65536 -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 fuzz/image-corpus
CLEANFILES += fuzz/fuzz-image
.PHONY: fuzz-image
