# SPDX-License-Identifier: MIT
# The MapReduce evaluation suite (bench/mapreduce): a small MapReduce
# library on the EF and channel APIs, seven applications (one binary each,
# every variant chosen at launch), the runner that times them against a
# pthreads baseline and plots the ratios.  Included from Makefile.am.
noinst_LTLIBRARIES += bench/mapreduce/libmr.la
bench_mapreduce_libmr_la_SOURCES = bench/mapreduce/mr.h bench/mapreduce/mr.c \
	bench/mapreduce/mr_util.c

mr_programs = \
	bench/mapreduce/word_count \
	bench/mapreduce/histogram \
	bench/mapreduce/linear_regression \
	bench/mapreduce/string_match \
	bench/mapreduce/kmeans \
	bench/mapreduce/pca \
	bench/mapreduce/matrix_multiply
noinst_PROGRAMS += $(mr_programs)
mr_ldadd = bench/mapreduce/libmr.la libxos.la -lm
bench_mapreduce_word_count_SOURCES = bench/mapreduce/word_count.c
bench_mapreduce_word_count_LDADD = $(mr_ldadd)
bench_mapreduce_histogram_SOURCES = bench/mapreduce/histogram.c
bench_mapreduce_histogram_LDADD = $(mr_ldadd)
bench_mapreduce_linear_regression_SOURCES = bench/mapreduce/linear_regression.c
bench_mapreduce_linear_regression_LDADD = $(mr_ldadd)
bench_mapreduce_string_match_SOURCES = bench/mapreduce/string_match.c
bench_mapreduce_string_match_LDADD = $(mr_ldadd)
bench_mapreduce_kmeans_SOURCES = bench/mapreduce/kmeans.c
bench_mapreduce_kmeans_LDADD = $(mr_ldadd)
bench_mapreduce_pca_SOURCES = bench/mapreduce/pca.c
bench_mapreduce_pca_LDADD = $(mr_ldadd)
bench_mapreduce_matrix_multiply_SOURCES = bench/mapreduce/matrix_multiply.c
bench_mapreduce_matrix_multiply_LDADD = $(mr_ldadd)

# make check: every application on the small inputs, every variant, against
# the sequential reference.
TESTS += bench/mapreduce/mr-check-pthread.sh bench/mapreduce/mr-check-ef.sh
EXTRA_DIST += bench/mapreduce/run.py bench/mapreduce/mr-check-pthread.sh \
	bench/mapreduce/mr-check-ef.sh bench/mapreduce/results.txt bench/mapreduce/results.png
TESTS_ENVIRONMENT += MR_BIN=$(abs_builddir)/bench/mapreduce MR_RUN=$(abs_srcdir)/bench/mapreduce/run.py; export MR_BIN MR_RUN;

# make bench-mapreduce: the large inputs, timed, the figure lines, the plot.
bench-mapreduce: $(mr_programs)
	python3 $(srcdir)/bench/mapreduce/run.py --bin $(builddir)/bench/mapreduce \
	  --size large --plot $(builddir)/bench/mapreduce/results.png \
	  --table $(builddir)/bench/mapreduce/results.txt
bench: bench-mapreduce
.PHONY: bench-mapreduce

# The library's own test: record streams in both modes, failures propagate.
# Not in valgrind_tests: under valgrind its EF half ran over ten minutes (it
# was still in the thread/tcp case); it caught stale record padding before
# that, now fixed.
if HAVE_CMOCKA
check_PROGRAMS += bench/mapreduce/mr-lib-test
TESTS += bench/mapreduce/mr-lib-test
bench_mapreduce_mr_lib_test_SOURCES = bench/mapreduce/mr-lib-test.c
bench_mapreduce_mr_lib_test_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
bench_mapreduce_mr_lib_test_LDADD = bench/mapreduce/libmr.la libxos.la $(CMOCKA_LIBS)
endif
