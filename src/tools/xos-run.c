/* SPDX-License-Identifier: MIT */
/*
 * xos-run: run a program with the runtime's choices set from the command
 * line (policy, forced ICF, explanations), or list the ICFs of this machine.
 *
 * The choices travel to the program in the environment (XOS_POLICY,
 * XOS_ICF, XOS_CHAN, XOS_EXPLAIN).  When libxos-shim.so is found
 * (installed, or named by XOS_SHIM), xos-run preloads it so that a legacy
 * program's processes, threads, pipes and sockets become EFs and channels,
 * waits for the program and can report them (--stats); otherwise it execs
 * the program.  Either way the program's exit status is xos-run's.  Every
 * error is one line on stderr and exit status 2.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xos-run-lib.h"
#include "xos-run-shim.h"

#define EXIT_USAGE 2

static const char usage_text[] =
	"Usage: xos-run [OPTION]... [--] PROGRAM [ARG]...\n"
	"       xos-run --list-icfs\n"
	"       xos-run --list-mechs\n"
	"       xos-run [OPTION]... --restore=FILE [--] PROGRAM\n"
	"Run PROGRAM with the xos runtime's choices set.\n"
	"\n"
	"  --policy=NAME   perf, isolation, balanced or spread (default perf; spread\n"
	"                  balances EFs over the hosts of a launch: mpirun, srun)\n"
	"  --icf=NAME      run every EF in ICF NAME where its requirements allow\n"
	"  --chan=NAME     carry every channel on mechanism NAME (ring, pipe, unix, tcp)\n"
	"  --explain       print each decision of the runtime, and why, to stderr\n"
	"  --stats[=FILE]  when the program ends, print its EFs and channels to stderr\n"
	"                  (with FILE: write them to FILE as JSON)\n"
	"  --list-icfs     list the ICFs of this machine and the mechanisms between them\n"
	"  --list-mechs    list the registered channel mechanisms\n"
	"  --fixed-layout  run PROGRAM without address randomisation, so that the EFs\n"
	"                  it dumps can be restored (xos_ef_dump)\n"
	"  --restore=FILE  continue the EF dumped in FILE in a new process of PROGRAM,\n"
	"                  which must be the binary that dumped it (no arguments)\n"
	"  --key-file=PATH images are MAC'ed (dump) and must be (restore) under the key\n"
	"                  in PATH (sets XOS_IMAGE_KEY_FILE)\n"
	"  --help          print this help and exit\n"
	"  --version       print the version and exit\n";

static _Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("xos-run: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_USAGE);
}

static void feature_names(unsigned int features, char *buf, size_t len)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} names[] = {
#define FEATURE_NAME_(name, bit, str) { XOS_ICF_F_##name, str },
		XOS_ICF_FEATURE_MAP(FEATURE_NAME_)
#undef FEATURE_NAME_
	};
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(features & names[i].bit))
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "", names[i].name);
		if (used >= len)
			break;
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

static int list_icfs(void)
{
	struct xos_icf_info icfs[32];
	struct xos_com_info com[64];
	int n = xos_run_lib()->xos_icf_list(icfs, 32), m;

	if (n < 0)
		die("cannot list ICFs: %s", strerror(-n));
	if (n > 32)
		n = 32;
	printf("%-10s %-11s %-9s %-36s %s\n", "ICF", "STATE", "ISOLATION", "FEATURES", "DESCRIPTION");
	for (int i = 0; i < n; i++) {
		char features[128];

		feature_names(icfs[i].features, features, sizeof(features));
		printf("%-10s %-11s %-9s %-36s %s\n", icfs[i].name,
		       icfs[i].available ? "available" : "unavailable",
		       xos_run_lib()->xos_isolation_name(icfs[i].isolation), features, icfs[i].description);
		if (!icfs[i].available)
			printf("%-10s   reason: %s\n", "", icfs[i].reason);
	}

	m = xos_run_lib()->xos_com_list(NULL, NULL, com, 64);
	if (m < 0)
		die("cannot list mechanisms: %s", strerror(-m));
	if (m > 64)
		m = 64;
	printf("\n%-22s %-10s %s\n", "ICF PAIR", "MECHANISM", "COST");
	for (int i = 0; i < m; i++) {
		char pair[80];

		snprintf(pair, sizeof(pair), "%s <-> %s", com[i].icf_a, com[i].icf_b);
		printf("%-22s %-10s %u\n", pair, com[i].mechanism, com[i].cost);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

/* The mechanisms of the registry, built-in and registered, in registration order. */
static int list_mechs(void)
{
	const struct xos_mech *mechs[64];
	int n = xos_run_lib()->xos_mech_list(mechs, 64);

	if (n < 0)
		die("cannot list mechanisms: %s", strerror(-n));
	if (n > 64)
		n = 64;
	printf("%-16s %-6s %s\n", "MECHANISM", "COST", "DESCRIPTION");
	for (int i = 0; i < n; i++)
		printf("%-16s %-6u %s\n", mechs[i]->name, mechs[i]->cost,
		       mechs[i]->description ? mechs[i]->description : "");
	return fflush(stdout) == 0 ? 0 : 1;
}

/* Exit with 2 unless @name is a registered, available ICF. */
static void check_icf(const char *name)
{
	struct xos_icf_info icfs[32];
	int n = xos_run_lib()->xos_icf_list(icfs, 32);

	if (n < 0)
		die("cannot list ICFs: %s", strerror(-n));
	for (int i = 0; i < n && i < 32; i++) {
		if (strcmp(icfs[i].name, name) != 0)
			continue;
		if (!icfs[i].available)
			die("ICF '%s' is unavailable here: %s", name, icfs[i].reason);
		return;
	}
	die("unknown ICF '%s' (see xos-run --list-icfs)", name);
}

/*
 * --restore: run PROGRAM, the binary the user names (never a path read
 * from the image), after checking that it made the image: it is opened
 * once, its build-id checked against the image through that fd, and that
 * same file is executed (fexecve), without address randomisation, with
 * XOS_RESTORE set: libxos restores the EF in that process before main and
 * exits with the EF's status.
 */
static int run_restore(const char *file, const char *program, const char *policy, const char *icf,
		       bool explain)
{
	char *args[2] = { (char *)program, NULL };
	struct stat st;
	int fd, rc;

	/* O_NONBLOCK: a FIFO named as PROGRAM must not hang us. */
	fd = open(program, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		die("cannot open '%s': %s", program, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		die("'%s' is not a regular file", program);
	rc = xos_run_lib()->xos_image_match(file, fd);
	if (rc < 0)
		die("cannot restore %s into %s: %s", file, program, xos_run_lib()->xos_image_error(rc));
	if (setenv("XOS_RESTORE", file, 1) < 0 || (policy && setenv("XOS_POLICY", policy, 1) < 0) ||
	    (icf && setenv("XOS_ICF", icf, 1) < 0) || (explain && setenv("XOS_EXPLAIN", "1", 1) < 0))
		die("cannot set the environment: %s", strerror(errno));
	if (personality((unsigned long)personality(0xffffffff) | ADDR_NO_RANDOMIZE) < 0)
		die("cannot turn address randomisation off: %s", strerror(errno));
	fflush(NULL);
	fexecve(fd, args, environ);
	die("cannot run '%s': %s", program, strerror(errno));
}

/* --key-file: a regular file (not a symlink) of the caller or root, no group/other permissions. */
static void check_key_file(const char *path)
{
	struct stat st;

	if (!*path)
		die("--key-file= needs a file name (see xos-run --help)");
	if (lstat(path, &st) < 0) /* as libxos opens it: O_NOFOLLOW */
		die("key file '%s': %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode) || (st.st_uid != geteuid() && st.st_uid != 0) ||
	    (st.st_mode & 077) || st.st_size < 1 || st.st_size > 4096)
		die("key file '%s': %s", path, xos_run_lib()->xos_image_error(-EKEYREVOKED));
	if (setenv("XOS_IMAGE_KEY_FILE", path, 1) < 0)
		die("cannot set the environment: %s", strerror(errno));
}

/* One action per invocation: an option or argument the chosen action would
 * not use is an error, never silently dropped. */
static void check_actions(bool list, const char *restore, bool stats, int nargs, char **args)
{
	if (list && restore)
		die("--list-icfs and --restore are separate actions (see xos-run --help)");
	if (list && nargs > 0)
		die("--list-icfs takes no program (see xos-run --help)");
	if (list && stats)
		die("--stats applies to a program run, not to --list-icfs");
	/* --restore's own rules (exactly one PROGRAM, no --stats) are checked where it runs. */
}

/* --stats=FILE: opened (created, truncated) before the program runs, so that
 * a file that cannot be written is an error before anything happens. */
static int open_stats(const char *file)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0666);

	if (fd < 0)
		die("--stats: cannot open %s: %s", file, strerror(errno));
	return fd;
}

int main(int argc, char **argv)
{
	enum { OPT_POLICY = 256, OPT_ICF, OPT_CHAN, OPT_EXPLAIN, OPT_LIST, OPT_HELP, OPT_VERSION,
	       OPT_FIXED, OPT_RESTORE, OPT_STATS, OPT_KEY_FILE, OPT_LIST_MECHS };
	static const struct option options[] = {
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "icf", required_argument, NULL, OPT_ICF },
		{ "chan", required_argument, NULL, OPT_CHAN },
		{ "explain", no_argument, NULL, OPT_EXPLAIN },
		{ "stats", optional_argument, NULL, OPT_STATS },
		{ "list-icfs", no_argument, NULL, OPT_LIST },
		{ "list-mechs", no_argument, NULL, OPT_LIST_MECHS },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "fixed-layout", no_argument, NULL, OPT_FIXED },
		{ "restore", required_argument, NULL, OPT_RESTORE },
		{ "key-file", required_argument, NULL, OPT_KEY_FILE },
		{ NULL, 0, NULL, 0 },
	};
	const char *policy = NULL, *icf = NULL, *chan = NULL, *restore = NULL, *stats_file = NULL, *shim;
	const char *key_file = NULL;
	bool explain = false, list = false, mechs = false, fixed = false, stats = false, found_shim;
	int opt, stats_fd = -1;

	xos_run_lib_init(argv);
	opterr = 0;
	/* '+': stop at the first non-option, the program to run. */
	while ((opt = getopt_long(argc, argv, "+", options, NULL)) != -1) {
		switch (opt) {
		case OPT_POLICY:
			policy = optarg;
			break;
		case OPT_ICF:
			icf = optarg;
			break;
		case OPT_CHAN:
			chan = optarg;
			break;
		case OPT_EXPLAIN:
			explain = true;
			break;
		case OPT_LIST:
			list = true;
			break;
		case OPT_LIST_MECHS:
			mechs = true;
			break;
		case OPT_STATS:
			stats = true;
			stats_file = optarg;
			if (stats_file && !*stats_file)
				die("--stats= needs a file name (see xos-run --help)");
			break;
		case OPT_FIXED:
			fixed = true;
			break;
		case OPT_RESTORE:
			restore = optarg;
			if (!*restore)
				die("--restore= needs a file name (see xos-run --help)");
			break;
		case OPT_KEY_FILE:
			key_file = optarg;
			break;
		case OPT_HELP:
			fputs(usage_text, stdout);
			return 0;
		case OPT_VERSION:
			printf("xos-run (xos) %s\n", PACKAGE_VERSION);
			return 0;
		default:
			if (optopt >= OPT_POLICY && strchr(argv[optind - 1], '='))
				die("option '%.*s' takes no value (see xos-run --help)",
				    (int)(strchr(argv[optind - 1], '=') - argv[optind - 1]), argv[optind - 1]);
			if (optopt >= OPT_POLICY)
				die("option '%s' needs a value (see xos-run --help)", argv[optind - 1]);
			die("unknown option '%s' (see xos-run --help)", argv[optind - 1]);
		}
	}
	check_actions(list, restore, stats, argc - optind, argv + optind);
	/* An action of its own: any other option or a program is an error, never dropped. */
	if (mechs) {
		if (optind != 2 || argc != 2)
			die("--list-mechs takes no program and no other option (see xos-run --help)");
		return list_mechs();
	}

	/* The library reads the same variables: validate against a clean slate. */
	unsetenv("XOS_POLICY");
	unsetenv("XOS_ICF");
	unsetenv("XOS_CHAN");
	if (chan && strcmp(chan, "ring") != 0 && strcmp(chan, "pipe") != 0 && strcmp(chan, "unix") != 0 &&
	    strcmp(chan, "tcp") != 0)
		die("unknown mechanism '%s' (expected ring, pipe, unix or tcp)", chan);
	/* The names of the runtime's XOS_POLICY_MAP, checked without loading it. */
	if (policy && strcmp(policy, "perf") != 0 && strcmp(policy, "isolation") != 0 &&
	    strcmp(policy, "balanced") != 0 && strcmp(policy, "spread") != 0)
		die("unknown policy '%s' (expected perf, isolation, balanced or spread)", policy);
	if (icf)
		check_icf(icf);
	if (key_file)
		check_key_file(key_file);
	/* --restore is an action of its own: the EF continues where it was dumped. */
	if (restore && (list || stats || fixed))
		die("--restore cannot be combined with %s",
		    list ? "--list-icfs" : stats ? "--stats" : "--fixed-layout");
	if (list)
		return list_icfs();
	if (restore) {
		if (optind >= argc)
			die("--restore needs the program that dumped the image: xos-run --restore=FILE PROGRAM");
		if (optind + 1 < argc)
			die("--restore takes no program arguments (the EF continues where it was dumped)");
		if (chan && setenv("XOS_CHAN", chan, 1) < 0)
			die("cannot set the environment: %s", strerror(errno));
		return run_restore(restore, argv[optind], policy, icf, explain);
	}
	if (optind >= argc)
		die("no program to run (see xos-run --help)");

	if ((policy && setenv("XOS_POLICY", policy, 1) < 0) || (icf && setenv("XOS_ICF", icf, 1) < 0) ||
	    (chan && setenv("XOS_CHAN", chan, 1) < 0) ||
	    (explain && setenv("XOS_EXPLAIN", "1", 1) < 0))
		die("cannot set the environment: %s", strerror(errno));
	if (fixed && personality((unsigned long)personality(0xffffffff) | ADDR_NO_RANDOMIZE) < 0)
		die("cannot turn address randomisation off: %s", strerror(errno));
	shim = xos_run_shim_path();
	found_shim = shim != NULL;
	if (shim && getenv("PMIX_RANK") && !stats) {
		/* Under a launcher each rank is one host of an EF program: run it as it is. */
		shim = NULL;
	}
	if (shim && fixed && !stats) {
		/* An image dumped under the shim would carry its mappings, which
		 * a restore (run without it) cannot recreate. */
		shim = NULL;
	}
	if (shim && xos_run_needs_asan(argv[optind])) {
		/* ASan insists on coming first: run it as it is, unmanaged. */
		if (stats)
			die("--stats: '%s' is built with AddressSanitizer, which cannot run with a preloaded shim",
			    argv[optind]);
		shim = NULL;
	}
	if (shim && stats_file)
		stats_fd = open_stats(stats_file);
	if (shim)
		return xos_run_shim(argv + optind, shim, stats, stats_file, stats_fd);
	if (stats)
		die("--stats needs libxos-shim.so, which is not installed (set XOS_SHIM to its path)");
	if (!found_shim)
		fprintf(stderr, "xos-run: no libxos-shim.so (not at %s, XOS_SHIM unset): "
			"the program runs unmanaged\n", xos_run_shim_installed());
	fflush(NULL);
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "xos-run: cannot run '%s': %s\n", argv[optind], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
