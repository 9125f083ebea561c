/* SPDX-License-Identifier: MIT */
/*
 * Description: an image cannot choose the code that runs.  A genuine
 * image is edited to name /bin/bash (or /bin/sh) with that binary's
 * build-id, and its checksum recomputed; `xos-run --restore IMAGE PROGRAM`
 * (PROGRAM: this test) must refuse it with one line and exit 2, and the
 * named binary must not run (the shell would run the script on its stdin,
 * which leaves a mark).
 */
#include "image-forge.h"

/* The GNU build-id of the ELF file @path (an attacker reads it as easily). */
static int build_id(const char *path, unsigned char *id)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), len = -1;
	Elf64_Ehdr eh;

	if (fd < 0)
		return -1;
	if (pread(fd, &eh, sizeof(eh), 0) == sizeof(eh) && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0)
		for (int i = 0; i < eh.e_phnum && len < 0; i++) {
			Elf64_Phdr ph;
			unsigned char n[4096];
			size_t off = 0, got;

			if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (size_t)i * sizeof(ph))) != sizeof(ph) ||
			    ph.p_type != PT_NOTE)
				continue;
			got = ph.p_filesz < sizeof(n) ? ph.p_filesz : sizeof(n);
			if (pread(fd, n, got, (off_t)ph.p_offset) != (ssize_t)got)
				continue;
			while (off + 12 <= got && len < 0) {
				Elf64_Nhdr nh;
				size_t desc;

				memcpy(&nh, n + off, sizeof(nh));
				desc = off + 12 + ((nh.n_namesz + 3) & ~3u);
				if (desc + nh.n_descsz > got)
					break;
				if (nh.n_type == NT_GNU_BUILD_ID && nh.n_descsz <= 64) {
					memcpy(id, n + desc, nh.n_descsz);
					len = (int)nh.n_descsz;
				}
				off = desc + ((nh.n_descsz + 3) & ~3u);
			}
		}
	close(fd);
	return len;
}

int main(int argc, char **argv)
{
	const char *xos_run = getenv("XOS_RUN"), *victim = "/bin/bash";
	char dir[] = "/tmp/xos-forge-XXXXXX", img[256], mark[256], env[256], err[256], cmd[1200];
	unsigned char self_id[64], victim_id[64];
	struct t_image im;
	int self_len, victim_len, st;
	uint32_t len32;
	FILE *f;

	(void)argc;
	t_fixed_layout(argv);
	if (!xos_run)
		t_fail("XOS_RUN not set");
	if (access(victim, X_OK) < 0)
		victim = "/bin/sh";
	if (!mkdtemp(dir))
		t_fail("mkdtemp");
	snprintf(img, sizeof(img), "%s/img", dir);
	snprintf(mark, sizeof(mark), "%s/ran", dir);
	snprintf(env, sizeof(env), "%s/env.sh", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	t_make_image(img);
	t_load(&im, img);

	self_len = build_id("/proc/self/exe", self_id);
	victim_len = build_id(victim, victim_id);
	if (self_len <= 0 || victim_len <= 0) {
		fprintf(stderr, "SKIP: no build-id in this binary or %s\n", victim);
		return T_EXIT_SKIP;
	}
	/* The path, the build-id (found next to its length at offset 32), the checksum. */
	memset(im.b + im.exe_off, 0, 1024);
	strcpy((char *)im.b + im.exe_off, victim);
	for (size_t o = 36; o + (size_t)self_len < im.exe_off; o++)
		if (memcmp(im.b + o, self_id, (size_t)self_len) == 0) {
			memset(im.b + o, 0, 64);
			memcpy(im.b + o, victim_id, (size_t)victim_len);
			break;
		}
	len32 = (uint32_t)victim_len;
	memcpy(im.b + 32, &len32, 4);
	t_reseal(&im);
	t_save(&im, img);

	f = fopen(env, "w");
	if (!f)
		t_fail("write %s", env);
	fprintf(f, "echo pwned > %s\n", mark);
	fclose(f);
	/* A shell run by the restore would read its commands from stdin: this script. */
	snprintf(cmd, sizeof(cmd), "'%s' --restore '%s' /proc/%d/exe <%s >/dev/null 2>%s",
		 xos_run, img, (int)getpid(), env, err);
	st = system(cmd);
	if (access(mark, F_OK) == 0)
		t_fail("the forged image ran %s (status %d)", victim, st);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 2)
		t_fail("xos-run --restore of a forged image: status %d, want exit 2", st);
	f = fopen(err, "r");
	if (!f || !fgets(cmd, sizeof(cmd), f) || !strstr(cmd, "different binary") || fgetc(f) != EOF)
		t_fail("want one line saying 'different binary', got: %s", cmd);
	fclose(f);
	printf("refused: %s", cmd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? T_EXIT_PASS : T_EXIT_FAIL;
}
