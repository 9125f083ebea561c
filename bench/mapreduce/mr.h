/* SPDX-License-Identifier: MIT */
/*
 * xos's small MapReduce library, and the helpers its applications share.
 *
 * A job is M map tasks and P partitions.  Each map task is a descriptor
 * passed by value (typically a file path and a byte range: the map opens
 * and maps the input itself, so it needs no memory shared with its
 * creator).  A map writes records to P writers, one per partition; the
 * reducer of partition p reads every mapper's records for p, in mapper
 * order, and writes its final records to the master, which merges them
 * into the application's result.  A map-only job (nreduce == 0) sends
 * the mappers' single partition straight to the master.
 *
 * Three ways to run the same application code:
 *  - MR_EF:      mappers and reducers are EFs (xos_ef_create, arguments
 *                by value); records move over channels with the zero-copy
 *                API (reserve/commit, peek/consume/release).  Which ICF
 *                and which mechanism: XOS_ICF / XOS_CHAN or xos-run.
 *  - MR_PTHREAD: the baseline: mappers then reducers are plain pthreads
 *                and records stay in memory the threads share.
 *  - MR_SEQ:     each application's own straightforward sequential code,
 *                the reference every other run is compared with.
 */
#ifndef MR_H
#define MR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum mr_mode { MR_SEQ, MR_PTHREAD, MR_EF };

#define MR_MAX_MAPS 64
#define MR_MAX_PARTS 16
/* Largest record an application may write. */
#define MR_REC_MAX (64u << 10)
#define MR_PATH_MAX 256

/* Where a producer's records go: a channel end, or a list of memory chunks. */
struct mr_writer;
/* Records of one partition from every mapper, in mapper order. */
struct mr_reader;

/* Space for one record of @len bytes (8-byte aligned), or NULL on error. */
void *mr_put(struct mr_writer *w, size_t len);
/* Copy one record of @len bytes; 0 or -errno. */
int mr_write(struct mr_writer *w, const void *rec, size_t len);
/* The next record (8-byte aligned) and its length; NULL at the end or on error. */
const void *mr_get(struct mr_reader *r, size_t *ret_len);
/* -errno if the reader met a broken or malformed stream, else 0. */
int mr_reader_error(const struct mr_reader *r);

struct mr_spec {
	const char *name;
	int nmap;         /* map tasks, one worker each (<= MR_MAX_MAPS) */
	int nreduce;      /* partitions and reducers (<= MR_MAX_PARTS); 0: map-only */
	size_t task_size; /* bytes of one task descriptor */
	/* Run one task; write its records to @parts[0..nparts-1].  0 or -errno. */
	int (*map)(const void *task, struct mr_writer **parts, int nparts);
	/* Reduce partition @part: read @in to the end, write final records to @out. */
	int (*reduce)(int part, struct mr_reader *in, struct mr_writer *out);
	/* In the master: fold one final record into @result.  0 or -errno. */
	int (*merge)(void *result, const void *rec, size_t len);
};

/*
 * Run the job described by @spec on the tasks at @tasks (nmap descriptors
 * of task_size bytes each), as EFs or pthreads (@mode), merging into
 * @result.  0 on success, -errno on failure (a worker failed, a stream
 * broke).
 */
int mr_run(enum mr_mode mode, const struct mr_spec *spec, const void *tasks, void *result);

/*
 * The same job run for several rounds (an iterative algorithm): in EF
 * mode the map and reduce EFs and their channels are made once, at start,
 * and each round only sends them new tasks.  A failed round leaves the
 * session broken: later rounds fail, end still joins every EF.
 */
struct mr_session;
int mr_session_start(enum mr_mode mode, const struct mr_spec *spec, struct mr_session **ret);
int mr_session_round(struct mr_session *s, const void *tasks, void *result);
/* Stop the EFs and free @s; -errno if one of them failed. */
int mr_session_end(struct mr_session *s);

/* ---- helpers the applications share ------------------------------------- */

/* A read-only mapping of a whole input file. */
struct mr_file {
	const unsigned char *data;
	size_t size;
};
int mr_file_map(const char *path, struct mr_file *ret);
void mr_file_unmap(struct mr_file *f);
/* Write @len bytes to DIR/NAME. */
int mr_file_write(const char *dir, const char *name, const void *buf, size_t len);
/* Build DIR/NAME into @buf (MR_PATH_MAX bytes); -ENAMETOOLONG if it does not fit. */
int mr_path(char *buf, const char *dir, const char *name);

/* Deterministic pseudo-random numbers (splitmix64). */
static inline uint64_t mr_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t mr_fnv1a(const void *buf, size_t len, uint64_t h)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}
#define MR_FNV_INIT 0xcbf29ce484222325ull

/* Number of map workers and reducers: MR_MAPS / MR_REDUCES, or defaults. */
int mr_nmap(void);
int mr_nreduce(int fallback);

/* One application of the suite, as the common driver sees it. */
struct mr_bench {
	const char *name;
	/* Write the input files into @dir; @large selects the benchmark size. */
	int (*gen)(const char *dir, int large);
	/* Compute the result from the input in @dir; returns an opaque result. */
	int (*run)(enum mr_mode mode, const char *dir, void **ret_result);
	/* Print @result canonically (compared byte for byte with the reference). */
	void (*print)(const void *result, FILE *out);
	void (*free)(void *result);
};

/*
 * The command line every application binary shares:
 *   APP gen DIR small|large
 *   APP run seq|pthread|ef|pair DIR OUT [REPS]
 * `run` does one warm-up run and REPS (default 1) timed runs, writes the
 * result of the last one to OUT and prints `time_ms = MEDIAN`.  `pair`
 * alternates the EF variant with the pthreads baseline in one process and
 * also prints each repetition's ratio (see mr_util.c).
 */
int mr_main(const struct mr_bench *bench, int argc, char **argv);

#endif /* MR_H */
