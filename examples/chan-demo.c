/* SPDX-License-Identifier: MIT */
/*
 * chan-demo: two EFs joined by a channel the program never chose a
 * mechanism for.  A producer sends the numbers 1..N, a consumer that asks
 * for memory isolation sums them.  Run it under `xos-run --explain` with
 * --policy=perf|balanced|isolation or --chan=ring|pipe|unix|tcp: the sum
 * is the same; only the ICFs and the mechanism change.
 */
#include <stdio.h>
#include <string.h>

#include <xos.h>

#define N 100000

struct job {
	struct xos_chan *end;
};

static int produce(void *arg)
{
	struct job j = *(struct job *)arg;

	for (long i = 1; i <= N; i++)
		if (xos_chan_send(j.end, &i, sizeof(i)) != sizeof(i))
			return 1;
	return xos_chan_close(j.end) == 0 ? 0 : 2;
}

static int consume(void *arg)
{
	struct job j = *(struct job *)arg;
	long v, sum = 0;
	ssize_t n;

	while ((n = xos_chan_recv(j.end, &v, sizeof(v))) == sizeof(v))
		sum += v;
	printf("consumer: sum %ld over %s\n", sum, xos_chan_mechanism(j.end));
	xos_chan_close(j.end);
	return n == 0 && sum == (long)N * (N + 1) / 2 ? 0 : 3;
}

int main(void)
{
	struct xos_chan_attr cattr;
	struct xos_ef_attr attr;
	struct xos_chan *ends[2];
	struct xos_ef *prod, *cons;
	struct xos_ef_exit pe, ce;
	struct job j;
	int rc;

	xos_chan_attr_init(&cattr);
	cattr.name = "numbers";
	rc = xos_chan_open(ends, &cattr);
	if (rc < 0) {
		fprintf(stderr, "chan-demo: cannot open a channel: %s\n", strerror(-rc));
		return 1;
	}
	xos_ef_attr_init(&attr);
	attr.name = "consumer";
	attr.isolation = XOS_ISO_MEMORY;
	attr.chans = &ends[1];
	attr.nchans = 1;
	j.end = ends[1];
	rc = xos_ef_create(&cons, &attr, consume, &j, sizeof(j));
	if (rc < 0) {
		fprintf(stderr, "chan-demo: consumer: %s\n", strerror(-rc));
		return 1;
	}
	xos_ef_attr_init(&attr);
	attr.name = "producer";
	attr.chans = &ends[0];
	attr.nchans = 1;
	j.end = ends[0];
	rc = xos_ef_create(&prod, &attr, produce, &j, sizeof(j));
	if (rc < 0) {
		fprintf(stderr, "chan-demo: producer: %s\n", strerror(-rc));
		return 1;
	}
	printf("producer in %s, consumer in %s\n", xos_ef_icf(prod), xos_ef_icf(cons));
	if (xos_ef_join(prod, &pe) < 0 || xos_ef_join(cons, &ce) < 0)
		return 1;
	return pe.status == 0 && ce.status == 0 ? 0 : 1;
}
