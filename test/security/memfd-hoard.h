/* SPDX-License-Identifier: MIT */
/*
 * The memfd hoard, run as an EF by limits-memfd and limits-spare-cgroup:
 * write 512 MiB into a memfd (shmem: no mapping, so no address space for
 * RLIMIT_AS to see).  Returns 1 when a write was denied, 0 when all of it
 * is held, 3 when memfd_create was refused (the attack was not tried).
 * Needs _GNU_SOURCE before the first include.
 */
#ifndef XOS_TEST_MEMFD_HOARD_H
#define XOS_TEST_MEMFD_HOARD_H

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HOARD_BYTES (512u << 20)
#define HOARD_CHUNK (1u << 20)

static int memfd_hoard(void *arg)
{
	static char chunk[HOARD_CHUNK];
	int fd = memfd_create("hoard", MFD_CLOEXEC);

	(void)arg;
	if (fd < 0)
		return 3;
	memset(chunk, 0x5a, sizeof(chunk));
	for (unsigned int done = 0; done < HOARD_BYTES; done += HOARD_CHUNK)
		if (write(fd, chunk, HOARD_CHUNK) != (ssize_t)HOARD_CHUNK)
			return 1;
	return 0;
}

#endif /* XOS_TEST_MEMFD_HOARD_H */
