/* Each volume's format (raw or qcow2) as stratad recorded it when the volume
 * was created, cloned or uploaded: the only source of a format for every
 * operation (info, clone, overlay, resize, a domain's disk). A guest writes
 * whatever it likes into a raw volume, a qcow2 header naming a host file
 * included, so a format is never guessed from a volume's content.
 *
 * Volumes from before stratad recorded formats (or files put into a pool
 * directory by hand) get one at first sight, once, by the rule in
 * storage_format.c (docs/host.md, "Volume formats"). */
#ifndef STRATA_HOST_STORAGE_FORMAT_H
#define STRATA_HOST_STORAGE_FORMAT_H

#include "common/err.h"
#include "host/storage_backend.h"

/* "raw" or "qcow2" (static strings). */
const char *storage_format__get(const struct storage_pool *p, const char *vol);
int storage_format__set(const struct storage_pool *p, const char *vol, const char *fmt, struct st_err *err);
void storage_format__forget(const struct storage_pool *p, const char *vol);
/* "raw" or "qcow2" from a request's "format" (NULL: raw); EINVAL otherwise. */
int storage_format__parse(const char *in, const char **fmt, struct st_err *err);

#endif
