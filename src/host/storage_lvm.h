/* Logical (LVM) pools: a volume group whose logical volumes are the pool's
 * (raw) volumes, at /dev/VG/NAME. stratad runs lvm2's commands (lvs, vgs,
 * lvcreate, lvresize, lvremove) with --lvm-config prepended when given
 * (device filters, or activation off on hosts without device-mapper). The
 * volume group itself is the administrator's: defining or undefining the
 * pool never creates or removes it. */
#ifndef STRATA_HOST_STORAGE_LVM_H
#define STRATA_HOST_STORAGE_LVM_H

#include <jansson.h>
#include <stdint.h>

#include "common/err.h"
#include "host/host.h"

/* Sets capacity, available and allocation of the volume group in info;
 * EINVAL when there is no such volume group. */
int lvm__pool_usage(struct host *h, const char *vg, json_t *info, struct st_err *err);
int lvm__volume_list(struct host *h, const char *vg, json_t **out, struct st_err *err);
int lvm__volume_info(struct host *h, const char *pool, const char *vg, const char *vol, json_t **out,
		     struct st_err *err);
int lvm__volume_create(struct host *h, const char *vg, const char *vol, uint64_t bytes, struct st_err *err);
int lvm__volume_resize(struct host *h, const char *vg, const char *vol, uint64_t bytes, struct st_err *err);
int lvm__volume_delete(struct host *h, const char *pool, const char *vg, const char *vol, struct st_err *err);

#endif
