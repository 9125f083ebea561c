/* SPDX-License-Identifier: MIT */
/*
 * histogram: how many pixels of a 24-bit BMP image have each value of
 * blue, green and red (3 x 256 bins).
 *
 * Map tasks are ranges of pixel rows; each map parses the BMP header
 * itself, counts its rows and writes (bin, count) records for its
 * non-empty bins to partition bin % P; reducers sum per bin.  Output: the
 * 768 counts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mr.h"

#define INPUT "histogram.bmp"
#define BINS 768

struct bmp {
	uint32_t width, height, stride, data_off;
};

static uint32_t le32(const unsigned char *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* Check the header of an uncompressed 24-bit BMP and that its pixels fit the file. */
static int bmp_parse(const struct mr_file *f, struct bmp *b)
{
	int32_t h;

	if (f->size < 54 || f->data[0] != 'B' || f->data[1] != 'M')
		return -EINVAL;
	if (f->data[28] != 24 || le32(f->data + 30) != 0) /* bits per pixel, compression */
		return -EINVAL;
	b->data_off = le32(f->data + 10);
	b->width = le32(f->data + 18);
	h = (int32_t)le32(f->data + 22);
	b->height = (uint32_t)(h < 0 ? -h : h);
	b->stride = (b->width * 3 + 3) & ~3u;
	if (b->width > (1u << 20) ||
	    b->data_off + (uint64_t)b->stride * b->height > f->size)
		return -EINVAL;
	return 0;
}

static void count_rows(const struct mr_file *f, const struct bmp *b, uint32_t r0, uint32_t r1,
		       uint64_t *bins)
{
	for (uint32_t r = r0; r < r1; r++) {
		const unsigned char *p = f->data + b->data_off + (size_t)r * b->stride;

		for (uint32_t x = 0; x < b->width; x++, p += 3) {
			bins[p[0]]++;
			bins[256 + p[1]]++;
			bins[512 + p[2]]++;
		}
	}
}

struct hist_task {
	char path[MR_PATH_MAX];
	uint32_t row0, row1;
};

struct bin_rec {
	uint32_t bin, pad;
	uint64_t count;
};

static int emit_bins(const uint64_t *bins, struct mr_writer **parts, int nparts)
{
	for (uint32_t i = 0; i < BINS; i++) {
		struct bin_rec rec = { .bin = i, .count = bins[i] };
		int rc;

		if (!bins[i])
			continue;
		rc = mr_write(parts[i % (uint32_t)nparts], &rec, sizeof(rec));
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int add_bin(uint64_t *bins, const void *rec, size_t len)
{
	const struct bin_rec *r = rec;

	if (len != sizeof(*r) || r->bin >= BINS)
		return -EBADMSG;
	bins[r->bin] += r->count;
	return 0;
}

static int hist_map(const void *task, struct mr_writer **parts, int nparts)
{
	const struct hist_task *tk = task;
	uint64_t bins[BINS] = { 0 };
	struct mr_file f;
	struct bmp b;
	int rc = mr_file_map(tk->path, &f);

	if (rc < 0)
		return rc;
	rc = bmp_parse(&f, &b);
	if (rc == 0 && (tk->row1 > b.height || tk->row0 > tk->row1))
		rc = -EINVAL;
	if (rc == 0) {
		count_rows(&f, &b, tk->row0, tk->row1, bins);
		rc = emit_bins(bins, parts, nparts);
	}
	mr_file_unmap(&f);
	return rc;
}

static int hist_reduce(int part, struct mr_reader *in, struct mr_writer *out)
{
	uint64_t bins[BINS] = { 0 };
	const void *rec;
	size_t len;
	int rc = 0;

	(void)part;
	while (rc == 0 && (rec = mr_get(in, &len)))
		rc = add_bin(bins, rec, len);
	if (rc == 0)
		rc = mr_reader_error(in);
	return rc ? rc : emit_bins(bins, &out, 1);
}

static int hist_merge(void *result, const void *rec, size_t len)
{
	return add_bin(result, rec, len);
}

static int hist_run(enum mr_mode mode, const char *dir, void **ret_result)
{
	uint64_t *bins = calloc(BINS, sizeof(*bins));
	struct hist_task tasks[MR_MAX_MAPS];
	struct mr_spec spec = {
		.name = "histogram",
		.task_size = sizeof(struct hist_task),
		.map = hist_map,
		.reduce = hist_reduce,
		.merge = hist_merge,
	};
	char path[MR_PATH_MAX];
	struct mr_file f;
	struct bmp b;
	int rc;

	if (!bins)
		return -ENOMEM;
	rc = mr_path(path, dir, INPUT);
	if (rc == 0)
		rc = mr_file_map(path, &f);
	if (rc < 0)
		goto fail;
	rc = bmp_parse(&f, &b);
	if (rc == 0 && mode == MR_SEQ)
		count_rows(&f, &b, 0, b.height, bins);
	mr_file_unmap(&f);
	if (rc == 0 && mode != MR_SEQ) {
		spec.nmap = mr_nmap();
		spec.nreduce = mr_nreduce(2);
		for (int m = 0; m < spec.nmap; m++) {
			memset(&tasks[m], 0, sizeof(tasks[m]));
			memcpy(tasks[m].path, path, sizeof(path));
			tasks[m].row0 = (uint32_t)((uint64_t)b.height * m / spec.nmap);
			tasks[m].row1 = (uint32_t)((uint64_t)b.height * (m + 1) / spec.nmap);
		}
		rc = mr_run(mode, &spec, tasks, bins);
	}
	if (rc < 0)
		goto fail;
	*ret_result = bins;
	return 0;
fail:
	free(bins);
	return rc;
}

static void hist_print(const void *result, FILE *out)
{
	const uint64_t *bins = result;
	static const char color[3] = { 'b', 'g', 'r' };

	for (int i = 0; i < BINS; i++)
		fprintf(out, "%c %d %llu\n", color[i / 256], i % 256, (unsigned long long)bins[i]);
}

/* A smooth gradient with noise, so every channel fills many bins unevenly. */
static int hist_gen(const char *dir, int large)
{
	uint32_t w = large ? 8192 : 320, h = large ? 6144 : 240, stride = (w * 3 + 3) & ~3u;
	size_t size = 54 + (size_t)stride * h;
	unsigned char *img = calloc(1, size);
	uint64_t rng = 0x5eed0002;
	int rc;

	if (!img)
		return -ENOMEM;
	img[0] = 'B';
	img[1] = 'M';
	put_le32(img + 2, (uint32_t)size);
	put_le32(img + 10, 54);
	put_le32(img + 14, 40);
	put_le32(img + 18, w);
	put_le32(img + 22, h);
	img[26] = 1;  /* planes */
	img[28] = 24; /* bits per pixel */
	put_le32(img + 34, (uint32_t)(size - 54));
	for (uint32_t y = 0; y < h; y++) {
		unsigned char *p = img + 54 + (size_t)y * stride;

		for (uint32_t x = 0; x < w; x++, p += 3) {
			uint64_t r = mr_rand(&rng);

			p[0] = (unsigned char)(x * 200 / w + (r & 31));
			p[1] = (unsigned char)(y * 200 / h + ((r >> 8) & 63));
			p[2] = (unsigned char)((x + y) * 100 / (w + h) + ((r >> 16) & 127));
		}
	}
	rc = mr_file_write(dir, INPUT, img, size);
	free(img);
	return rc;
}

static const struct mr_bench hist_bench = {
	.name = "histogram",
	.gen = hist_gen,
	.run = hist_run,
	.print = hist_print,
	.free = free,
};

int main(int argc, char **argv)
{
	return mr_main(&hist_bench, argc, argv);
}
