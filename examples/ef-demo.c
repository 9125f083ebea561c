/* SPDX-License-Identifier: MIT */
/*
 * ef-demo: one program, every isolation.  Four workers sum squares over
 * ranges they receive by value; a parser that handles untrusted input asks
 * for memory isolation, and crashes on the malformed record it is given.
 * Run it under `xos-run --explain --policy=perf|balanced|isolation` or
 * `--icf=thread|process`: the answers are the same, only the ICF chosen for
 * each EF changes — and the parser's crash is always contained, because no
 * policy may put an EF that needs memory isolation in a thread.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xos.h>

struct range {
	unsigned long lo, hi;
};

static int sum_squares(void *arg)
{
	const struct range *r = arg;
	unsigned long long sum = 0;

	for (unsigned long i = r->lo; i < r->hi; i++)
		sum += (unsigned long long)i * i;
	/* An EF's status is an int: report the low 31 bits as a checksum. */
	return (int)(sum & 0x7fffffff);
}

struct record {
	char text[32];
};

static int parse_record(void *arg)
{
	const struct record *rec = arg;
	/* A bad record sends the parser through a bogus pointer, like a field of NULL. */
	volatile int *field = (volatile int *)(uintptr_t)16;

	if (strncmp(rec->text, "ok:", 3) != 0)
		return *field; /* malformed input: the parser faults */
	return atoi(rec->text + 3);
}

static int report(const char *label, struct xos_ef *ef)
{
	struct xos_ef_exit ex;
	char icf[32];
	int rc;

	snprintf(icf, sizeof(icf), "%s", xos_ef_icf(ef));
	rc = xos_ef_join(ef, &ex);
	if (rc < 0) {
		fprintf(stderr, "ef-demo: join %s: %s\n", label, strerror(-rc));
		return -1;
	}
	if (ex.how == XOS_EF_EXITED)
		printf("%-10s ran in %-8s exited with %d\n", label, icf, ex.status);
	else
		printf("%-10s ran in %-8s killed by signal %d (contained)\n", label, icf, ex.status);
	return 0;
}

int main(void)
{
	struct xos_ef *workers[4], *parsers[2];
	struct xos_ef_attr attr;
	int rc, failed = 0;

	for (int i = 0; i < 4; i++) {
		struct range r = { .lo = (unsigned long)i * 250000, .hi = (unsigned long)(i + 1) * 250000 };
		char name[16];

		snprintf(name, sizeof(name), "worker%d", i);
		xos_ef_attr_init(&attr);
		attr.name = name;
		attr.perf = XOS_PERF_CREATE;
		rc = xos_ef_create(&workers[i], &attr, sum_squares, &r, sizeof(r));
		if (rc < 0) {
			fprintf(stderr, "ef-demo: create %s: %s\n", name, strerror(-rc));
			return 1;
		}
	}

	const struct record input[2] = { { "ok:42" }, { "\x01garbage" } };
	for (int i = 0; i < 2; i++) {
		xos_ef_attr_init(&attr);
		attr.name = i ? "parser-bad" : "parser-ok";
		attr.isolation = XOS_ISO_MEMORY;
		rc = xos_ef_create(&parsers[i], &attr, parse_record, &input[i], sizeof(input[i]));
		if (rc < 0) {
			fprintf(stderr, "ef-demo: create %s: %s\n", attr.name, strerror(-rc));
			return 1;
		}
	}

	for (int i = 0; i < 4; i++) {
		char label[16];

		snprintf(label, sizeof(label), "worker%d", i);
		failed |= report(label, workers[i]);
	}
	failed |= report("parser-ok", parsers[0]);
	failed |= report("parser-bad", parsers[1]);
	printf("policy: %s\n", xos_policy_get());
	return failed ? 1 : 0;
}
