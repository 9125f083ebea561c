/* SPDX-License-Identifier: MIT */
/*
 * Tests that look at (or forge) the shim's shared area map it as any
 * process of the run can: by XOS_SHIM_AREA and the layout in area.h.
 */
#ifndef XOS_TEST_SHIM_AREA_MAP_H
#define XOS_TEST_SHIM_AREA_MAP_H

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "area.h"

static inline struct shim_area *area_map(void)
{
	const char *path = getenv("XOS_SHIM_AREA");
	struct stat st;
	void *a;
	int fd;

	if (!path || (fd = open(path, O_RDWR | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0)
		return NULL;
	a = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return a == MAP_FAILED ? NULL : a;
}

#endif
