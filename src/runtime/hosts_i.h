/* SPDX-License-Identifier: MIT */
/*
 * Private to libxos: the hosts of a launch (hosts.c) and the launcher
 * interface under them (launch.c, PMIx).  Not installed.
 *
 * Without a launcher (or without PMIx in the build) there is one host and
 * every function here answers as if the program ran alone.
 */
#ifndef XOS_HOSTS_I_H
#define XOS_HOSTS_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xos_i.h"

/* ---- the launcher (launch.c) ----------------------------------------------- */
/* Started by a launcher?  Then join it: this process's rank and the launch's size.  -ENOENT: no launcher. */
int xos__launch_init(uint32_t *ret_rank, uint32_t *ret_size) XOS_HIDDEN;
/* Publish @key for the other ranks (visible after the next fence). */
int xos__launch_put(const char *key, const void *val, size_t len) XOS_HIDDEN;
/* Wait for every rank to have published, and collect what they did. */
int xos__launch_fence(void) XOS_HIDDEN;
/* What rank @rank published as @key: up to @len bytes in @buf, the length in *@ret_len. */
int xos__launch_get(uint32_t rank, const char *key, void *buf, size_t len, size_t *ret_len) XOS_HIDDEN;
/* The name the launcher gives the host of rank @rank. */
int xos__launch_hostname(uint32_t rank, char *buf, size_t len) XOS_HIDDEN;
/* Leave the launch (at exit). */
void xos__launch_fini(void) XOS_HIDDEN;

/* ---- hosts (hosts.c) ------------------------------------------------------- */
#define XOS_HOST_NAME_MAX 64

/*
 * Where an EF with @attr, created by this process, runs: *@ret_host -1 for
 * this host, else the index of another host.  @why says why in one line.
 * -ENOENT: attr.host names no host; -EHOSTDOWN: the named host is lost;
 * -EINVAL: malformed attr.host.
 */
int xos__hosts_place(const struct xos_ef_attr *attr, int *ret_host, char *why, size_t why_len) XOS_HIDDEN;
/* Start @ef (name, fn, arg filled in) on host @host with @attr; the ICF chosen there goes in @why. */
int xos__host_ef_create(struct xos_ef *ef, int host, const struct xos_ef_attr *attr, char *why,
			size_t why_len) XOS_HIDDEN;
/* Wait for remote @ef to end: how it did (XOS_EF_LOST when its host died); frees the remote part. */
int xos__host_ef_join(struct xos_ef *ef, struct xos_ef_exit *ret_exit) XOS_HIDDEN;
/* Wait until the host @ef last left has let it go (read its "left"), if not done yet. */
void xos__host_left_settle(struct xos_ef *ef) XOS_HIDDEN;
/* The ICF hosting remote @ef there, and the name of its host. */
const char *xos__host_ef_icf(const struct xos_ef *ef) XOS_HIDDEN;
const char *xos__host_ef_host(const struct xos_ef *ef) XOS_HIDDEN;
/* This host's name. */
const char *xos__host_self_name(void) XOS_HIDDEN;

#endif /* XOS_HOSTS_I_H */
