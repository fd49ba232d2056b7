/* Domain definitions: the JSON form stratad stores and serves. domdef__check
 * takes what a client sent (already parsed JSON) and returns the normalized
 * definition (defaults filled, uuid and MACs generated), or fails with one
 * line naming the offending field. Unknown fields are refused. */
#ifndef STRATA_HOST_DOMDEF_H
#define STRATA_HOST_DOMDEF_H

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"

#define DOMDEF_NAME_MAX 64
#define DOMDEF_DISKS_MAX 8 /* strata-vm's limit */
#define DOMDEF_SERIAL_MAX 20 /* a disk's serial: virtio-blk's GET_ID */
#define DOMDEF_VCPUS_MAX 64

/* Resolves a disk given as {"pool": P, "volume": V} to a file path
 * (malloc'd) and the volume's recorded format ("raw"/"qcow2", static), or
 * fails. A disk's format must be its volume's. */
typedef int (*domdef_volume_fn)(void *ctx, const char *pool, const char *volume, char **path, const char **format,
				struct st_err *err);

int domdef__check(const json_t *in, domdef_volume_fn resolve, void *ctx, json_t **out, struct st_err *err);

/* One disk as in a definition's "disks" (for a hot attach): the normalized
 * object, with dflt_target where the input names none. */
int domdef__check_disk(const json_t *in, const char *dflt_target, domdef_volume_fn resolve, void *ctx,
		       json_t **out, struct st_err *err);

/* Names of domains, pools, volumes and networks: 1..64 of [A-Za-z0-9_.+-],
 * not starting with '.' or '-' (so never "..", never a path). */
bool domdef__name_ok(const char *name);
bool domdef__uuid_ok(const char *uuid);
int domdef__uuid_generate(char out[37], struct st_err *err);

#endif
