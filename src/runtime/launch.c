/* SPDX-License-Identifier: MIT */
/*
 * The launcher under the hosts of a program: PMIx, which Open MPI's
 * mpirun and Slurm's srun --mpi=pmix serve.  Only what hosts.c needs:
 * join the launch, publish a few keys, fence, read the others' keys.
 * Built without PMIx (configure --without-pmix, or no libpmix-dev), or
 * started without a launcher, every process is a launch of one.
 *
 * libpmix is opened only when a launcher started this process (its
 * PMIX_RANK and PMIX_NAMESPACE are set), not linked: it brings eight
 * libraries (libstdc++, libevent, hwloc, udev, munge...) whose mappings
 * every program using libxos would load at start and copy at each fork
 * (a sandbox forks three times).
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hosts_i.h"
#include "xos_i.h"

#ifdef XOS_HAVE_PMIX
#include <pmix.h>

/* The calls used here, the PMIX_* macros' included, from the opened library. */
static struct {
	pmix_status_t (*Init)(pmix_proc_t *, pmix_info_t *, size_t);
	pmix_status_t (*Finalize)(const pmix_info_t *, size_t);
	pmix_status_t (*Get)(const pmix_proc_t *, const pmix_key_t, const pmix_info_t *, size_t,
			     pmix_value_t **);
	pmix_status_t (*Put)(pmix_scope_t, const pmix_key_t, pmix_value_t *);
	pmix_status_t (*Commit)(void);
	pmix_status_t (*Fence)(const pmix_proc_t *, size_t, const pmix_info_t *, size_t);
	void (*Value_destruct)(pmix_value_t *);
	void (*Info_load)(pmix_info_t *, const char *, const void *, pmix_data_type_t);
} px;
#define PMIx_Init px.Init
#define PMIx_Finalize px.Finalize
#define PMIx_Get px.Get
#define PMIx_Put px.Put
#define PMIx_Commit px.Commit
#define PMIx_Fence px.Fence
#define PMIx_Value_destruct px.Value_destruct
#define PMIx_Info_load px.Info_load

static int pmix_open(void)
{
	static const char *const names[] = { XOS_PMIX_LIBRARY, XOS_PMIX_SONAME };
	void *h = NULL;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !h; i++)
		h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		xos__log_error("launched by PMIx but %s cannot be opened (%s): running on one host",
			       XOS_PMIX_SONAME, dlerror());
		return -ELIBACC;
	}
#define PX_SYM(name) (*(void **)&px.name = dlsym(h, "PMIx_" #name))
	if (!PX_SYM(Init) || !PX_SYM(Finalize) || !PX_SYM(Get) || !PX_SYM(Put) || !PX_SYM(Commit) ||
	    !PX_SYM(Fence) || !PX_SYM(Value_destruct) || !PX_SYM(Info_load)) {
		xos__log_error("%s lacks a call xos needs: running on one host", XOS_PMIX_SONAME);
		dlclose(h);
		return -ELIBACC;
	}
#undef PX_SYM
	return 0;
}

static pmix_proc_t me;
static bool joined;

int xos__launch_init(uint32_t *ret_rank, uint32_t *ret_size)
{
	pmix_proc_t wild;
	pmix_value_t *val = NULL;
	uint32_t size = 1;
	int rc;

	if (!secure_getenv("PMIX_RANK") || !secure_getenv("PMIX_NAMESPACE"))
		return -ENOENT;
	if ((rc = pmix_open()) < 0)
		return rc;
	if (PMIx_Init(&me, NULL, 0) != PMIX_SUCCESS)
		return -ECONNREFUSED;
	joined = true;
	PMIX_LOAD_PROCID(&wild, me.nspace, PMIX_RANK_WILDCARD);
	if (PMIx_Get(&wild, PMIX_JOB_SIZE, NULL, 0, &val) == PMIX_SUCCESS && val) {
		if (val->type == PMIX_UINT32)
			size = val->data.uint32;
		PMIX_VALUE_RELEASE(val);
	}
	*ret_rank = me.rank;
	*ret_size = size;
	return 0;
}

int xos__launch_put(const char *key, const void *val, size_t len)
{
	pmix_value_t v;

	PMIX_VALUE_CONSTRUCT(&v);
	v.type = PMIX_BYTE_OBJECT;
	v.data.bo.bytes = (char *)val;
	v.data.bo.size = len;
	return PMIx_Put(PMIX_GLOBAL, key, &v) == PMIX_SUCCESS ? 0 : -EIO;
}

int xos__launch_fence(void)
{
	pmix_info_t info;
	bool collect = true;
	int rc;

	if (PMIx_Commit() != PMIX_SUCCESS)
		return -EIO;
	PMIX_INFO_LOAD(&info, PMIX_COLLECT_DATA, &collect, PMIX_BOOL);
	rc = PMIx_Fence(NULL, 0, &info, 1) == PMIX_SUCCESS ? 0 : -EIO;
	PMIX_INFO_DESTRUCT(&info);
	return rc;
}

int xos__launch_get(uint32_t rank, const char *key, void *buf, size_t len, size_t *ret_len)
{
	pmix_proc_t p;
	pmix_value_t *val = NULL;
	int rc = -EPROTO;

	PMIX_LOAD_PROCID(&p, me.nspace, rank);
	if (PMIx_Get(&p, key, NULL, 0, &val) != PMIX_SUCCESS || !val)
		return -ENOENT;
	if (val->type == PMIX_BYTE_OBJECT && val->data.bo.size <= len) {
		memcpy(buf, val->data.bo.bytes, val->data.bo.size);
		*ret_len = val->data.bo.size;
		rc = 0;
	}
	PMIX_VALUE_RELEASE(val);
	return rc;
}

int xos__launch_hostname(uint32_t rank, char *buf, size_t len)
{
	pmix_proc_t p;
	pmix_value_t *val = NULL;
	int rc = -ENOENT;

	PMIX_LOAD_PROCID(&p, me.nspace, rank);
	if (PMIx_Get(&p, PMIX_HOSTNAME, NULL, 0, &val) == PMIX_SUCCESS && val) {
		if (val->type == PMIX_STRING && val->data.string) {
			snprintf(buf, len, "%s", val->data.string);
			rc = 0;
		}
		PMIX_VALUE_RELEASE(val);
	}
	return rc;
}

void xos__launch_fini(void)
{
	if (joined)
		PMIx_Finalize(NULL, 0);
	joined = false;
}

#else /* no PMIx: a launch of one */

int xos__launch_init(uint32_t *ret_rank, uint32_t *ret_size)
{
	(void)ret_rank;
	(void)ret_size;
	return -ENOENT;
}

int xos__launch_put(const char *key, const void *val, size_t len)
{
	(void)key, (void)val, (void)len;
	return -ENOENT;
}

int xos__launch_fence(void)
{
	return -ENOENT;
}

int xos__launch_get(uint32_t rank, const char *key, void *buf, size_t len, size_t *ret_len)
{
	(void)rank, (void)key, (void)buf, (void)len, (void)ret_len;
	return -ENOENT;
}

int xos__launch_hostname(uint32_t rank, char *buf, size_t len)
{
	(void)rank, (void)buf, (void)len;
	return -ENOENT;
}

void xos__launch_fini(void)
{
}
#endif
