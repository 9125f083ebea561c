# SPDX-License-Identifier: MIT
# Man pages (included from Makefile.am).
dist_man_MANS += \
	man/man1/xos-run.1 \
	man/man3/xos_com_list.3 \
	man/man3/xos_com_register.3 \
	man/man3/xos_ef_attr_init.3 \
	man/man3/xos_ef_create.3 \
	man/man3/xos_ef_exit.3 \
	man/man3/xos_ef_icf.3 \
	man/man3/xos_ef_id.3 \
	man/man3/xos_ef_join.3 \
	man/man3/xos_ef_name.3 \
	man/man3/xos_ef_self.3 \
	man/man3/xos_ic_run.3 \
	man/man3/xos_ic_fork.3 \
	man/man3/xos_ef_domain_leave.3 \
	man/man3/xos_ef_image_write.3 \
	man/man3/xos_ef_image_read.3 \
	man/man3/xos_ef_pivot_take.3 \
	man/man3/xos_ef_pivot_drop.3 \
	man/man3/xos_ef_pivot_give.3 \
	man/man3/xos_ef_ended_elsewhere.3 \
	man/man3/xos_icf_force.3 \
	man/man3/xos_icf_list.3 \
	man/man3/xos_icf_register.3 \
	man/man3/xos_icf_unregister.3 \
	man/man3/xos_isolation_name.3 \
	man/man3/xos_policy_get.3 \
	man/man3/xos_policy_set.3 \
	man/man7/xos-icf.7 \
	man/man7/xos.7
# mutate, dump, restore: moving an EF between ICFs and through an image
dist_man_MANS += \
	man/man3/xos_aligned_alloc.3 \
	man/man3/xos_calloc.3 \
	man/man3/xos_ef_dump.3 \
	man/man3/xos_image_error.3 \
	man/man3/xos_image_match.3 \
	man/man3/xos_ef_fd_attach.3 \
	man/man3/xos_ef_fd_detach.3 \
	man/man3/xos_ef_mutate.3 \
	man/man3/xos_ef_restore.3 \
	man/man3/xos_ef_yield.3 \
	man/man3/xos_free.3 \
	man/man3/xos_image_check.3 \
	man/man3/xos_malloc.3 \
	man/man3/xos_realloc.3
