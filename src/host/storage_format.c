/* Volume formats: recorded in the store's volumes table, never probed.
 *
 * The rule for a volume without a record (made before stratad recorded
 * formats, or put there by hand): the format a domain definition declares
 * for it (the administrator said so, and strata-vm has opened it that way);
 * else qcow2 only when its name ends in ".qcow2", it opens as a qcow2 image,
 * and its backing file, if any, is a volume of the same pool (what stratad's
 * own create, copy and overlay make); else raw. The result is recorded at
 * once, so later content changes cannot move it. */
#include "host/storage_format.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "host/domdef.h"
#include "host/storage_img.h"

static const char *known(const char *fmt)
{
	if (fmt && !strcmp(fmt, "qcow2"))
		return "qcow2";
	if (fmt && !strcmp(fmt, "raw"))
		return "raw";
	return NULL;
}

int storage_format__parse(const char *in, const char **fmt, struct st_err *err)
{
	*fmt = in ? known(in) : "raw";
	if (!*fmt)
		return err__fail_class(err, EINVAL, "format \"%s\" is not raw or qcow2", in);
	return 0;
}

/* What the domain definitions say about pool/vol (or its path): NULL when
 * none names it, or when they disagree. */
static const char *declared(const struct storage_pool *p, const char *vol, const char *path)
{
	const char *fmt = NULL;
	for (struct dom *d = p->host->doms; d; d = d->next) {
		size_t i;
		json_t *disk;
		json_array_foreach(json_object_get(d->def, "disks"), i, disk) {
			const char *dp = json_string_value(json_object_get(disk, "pool"));
			const char *dv = json_string_value(json_object_get(disk, "volume"));
			const char *dpath = json_string_value(json_object_get(disk, "path"));
			bool same = (dp && dv && !strcmp(dp, p->name) && !strcmp(dv, vol)) || (dpath && !strcmp(dpath, path));
			if (!same)
				continue;
			const char *f = known(json_string_value(json_object_get(disk, "format")));
			if (fmt && f != fmt)
				return NULL;
			fmt = f;
		}
	}
	return fmt;
}

/* A qcow2 image stratad could have made: its backing file (if any) is
 * another volume of this pool. */
static bool own_qcow2(const struct storage_pool *p, const char *vol, const char *path)
{
	size_t n = strlen(vol), plen = strlen(p->path);
	if (n <= 6 || strcmp(vol + n - 6, ".qcow2"))
		return false;
	json_t *info;
	if (storage_img__info(path, "qcow2", &info, NULL) < 0)
		return false;
	const char *b = json_string_value(json_object_get(info, "backing-filename"));
	bool ok = !b || (!strncmp(b, p->path, plen) && b[plen] == '/' && domdef__name_ok(b + plen + 1));
	json_decref(info);
	return ok;
}

const char *storage_format__get(const struct storage_pool *p, const char *vol)
{
	char buf[16];
	if (store__volume_format_get(p->host->store, p->name, vol, buf, sizeof(buf)) == 0 && known(buf))
		return known(buf);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", p->path, vol);
	const char *fmt = declared(p, vol, path);
	if (!fmt)
		fmt = own_qcow2(p, vol, path) ? "qcow2" : "raw";
	struct st_err err = {0};
	if (storage_format__set(p, vol, fmt, &err) < 0)
		log__warn("volume %s/%s: %s", p->name, vol, err.msg);
	else
		log__info("volume %s/%s had no recorded format: recorded as %s", p->name, vol, fmt);
	return fmt;
}

int storage_format__set(const struct storage_pool *p, const char *vol, const char *fmt, struct st_err *err)
{
	return store__volume_format_set(p->host->store, p->name, vol, fmt, err);
}

void storage_format__forget(const struct storage_pool *p, const char *vol)
{
	struct st_err err = {0};
	if (store__volume_format_delete(p->host->store, p->name, vol, &err) < 0)
		log__warn("volume %s/%s: %s", p->name, vol, err.msg);
}
