# SPDX-License-Identifier: MIT
# The MapReduce evaluation suite (bench/mapreduce): a small MapReduce
# library on the EF and channel APIs, seven applications (one binary each,
# every variant chosen at launch), the runner that times them against a
# pthreads baseline and plots the ratios.
noinst_LTLIBRARIES += %reldir%/libmr.la
%canon_reldir%_libmr_la_SOURCES = %reldir%/mr.h %reldir%/mr.c \
	%reldir%/mr_util.c

mr_programs = \
	%reldir%/word_count \
	%reldir%/histogram \
	%reldir%/linear_regression \
	%reldir%/string_match \
	%reldir%/kmeans \
	%reldir%/pca \
	%reldir%/matrix_multiply
noinst_PROGRAMS += $(mr_programs)
mr_ldadd = %reldir%/libmr.la libxos.la -lm
%canon_reldir%_word_count_LDADD = $(mr_ldadd)
%canon_reldir%_histogram_LDADD = $(mr_ldadd)
%canon_reldir%_linear_regression_LDADD = $(mr_ldadd)
%canon_reldir%_string_match_LDADD = $(mr_ldadd)
%canon_reldir%_kmeans_LDADD = $(mr_ldadd)
%canon_reldir%_pca_LDADD = $(mr_ldadd)
%canon_reldir%_matrix_multiply_LDADD = $(mr_ldadd)

# make check: every application on the small inputs, every variant, against
# the sequential reference.
XOS_SCRIPT_TESTS += %reldir%/mr-check-pthread.sh %reldir%/mr-check-ef.sh
EXTRA_DIST += %reldir%/run.py %reldir%/results.txt %reldir%/results.png
TESTS_ENVIRONMENT += MR_BIN=$(abs_builddir)/%reldir% MR_RUN=$(abs_srcdir)/%reldir%/run.py; export MR_BIN MR_RUN;

# make bench-mapreduce: the large inputs, timed, the figure lines, the plot.
bench-mapreduce: $(mr_programs)
	python3 $(srcdir)/%reldir%/run.py --bin $(builddir)/%reldir% \
	  --size large --plot $(builddir)/%reldir%/results.png \
	  --table $(builddir)/%reldir%/results.txt
bench: bench-mapreduce
.PHONY: bench-mapreduce

# The library's own test: record streams in both modes, failures propagate.
# Not in valgrind_tests: under valgrind its EF half ran over ten minutes (it
# was still in the thread/tcp case); it caught stale record padding before
# that, now fixed.
XOS_CMOCKA_TESTS += %reldir%/mr-lib-test
%canon_reldir%_mr_lib_test_LDADD = %reldir%/libmr.la $(LDADD)
