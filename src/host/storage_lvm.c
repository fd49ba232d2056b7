/* Logical (LVM) pools: a volume group whose logical volumes are the pool's
 * (raw) volumes, at /dev/VG/NAME; the store keeps /dev/VG as the pool's
 * path. stratad runs lvm2's commands (lvs, vgs, lvcreate, lvresize,
 * lvremove) the way libvirt does, with --lvm-config prepended when given
 * (device filters, or activation off on hosts without device-mapper); lvs
 * and vgs report JSON (--reportformat json, sizes in bytes). The volume
 * group itself is the administrator's: defining or undefining the pool
 * never creates or removes it. */
#include "host/storage_backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "host/domdef.h"
#include "host/helper.h"

/* Runs an lvm2 command with the daemon's --lvm-config (if any) first. */
static int lvm_run(const struct host *h, const char *cmd, const char *const *args, char **out, struct st_err *err)
{
	const char *argv[24];
	size_t n = 0;
	argv[n++] = cmd;
	if (h->lvm_config) {
		argv[n++] = "--config";
		argv[n++] = h->lvm_config;
	}
	for (size_t i = 0; args[i] && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return helper__run(argv, out, err);
}

/* The rows of an lvs/vgs JSON report ({"report": [{KEY: [...]}]}), new ref. */
static json_t *report_rows(const char *text, const char *key)
{
	json_t *j = json_loads(text, 0, NULL);
	json_t *rows = json_incref(json_object_get(json_array_get(json_object_get(j, "report"), 0), key));
	json_decref(j);
	return json_is_array(rows) ? rows : (json_decref(rows), NULL);
}

static json_int_t num(const json_t *row, const char *key)
{
	const char *v = json_string_value(json_object_get(row, key));
	return v ? strtoll(v, NULL, 10) : 0;
}

static int lvm_pool_usage(struct host *h, const char *vg, json_t *info, struct st_err *err)
{
	const char *args[] = {"--reportformat", "json", "--units", "b", "--nosuffix", "-o", "vg_name,vg_size,vg_free", vg,
			      NULL};
	cleanup_free char *text = NULL;
	if (lvm_run(h, "vgs", args, &text, err) < 0)
		return err__class(err, EINVAL, err__prefix(err, "volume group '%s'", vg));
	json_t *rows = report_rows(text, "vg");
	json_t *row = json_array_get(rows, 0);
	if (!row) {
		json_decref(rows);
		return err__fail_class(err, EINVAL, "volume group '%s' not found", vg);
	}
	json_int_t size = num(row, "vg_size"), avail = num(row, "vg_free");
	json_object_set_new(info, "capacity", json_integer(size));
	json_object_set_new(info, "available", json_integer(avail));
	json_object_set_new(info, "allocation", json_integer(size - avail));
	json_decref(rows);
	return 0;
}

/* The volume group of a logical pool, whose path is /dev/VG. */
static const char *vg_of(const struct storage_pool *p)
{
	return p->path + strlen("/dev/");
}

static int lvm_define(struct host *h, const json_t *in, char path[PATH_MAX], struct st_err *err)
{
	const char *vg = json_string_value(json_object_get(in, "vg"));
	if (json_string_value(json_object_get(in, "path")) || !vg || !domdef__name_ok(vg))
		return err__fail_class(err, EINVAL, "a logical pool names its volume group: {\"vg\": NAME}, no \"path\"");
	json_t *probe = json_object();
	int rc = lvm_pool_usage(h, vg, probe, err);
	json_decref(probe);
	if (rc < 0)
		return -1;
	snprintf(path, PATH_MAX, "/dev/%s", vg);
	return 0;
}

static void lvm_describe(const struct storage_pool *p, json_t *info)
{
	json_object_set_new(info, "vg", json_string(vg_of(p)));
	json_object_set_new(info, "state",
			    json_string(lvm_pool_usage(p->host, vg_of(p), info, NULL) == 0 ? "active" : "inaccessible"));
}

static int lvm_volume_list(const struct storage_pool *p, json_t **out, struct st_err *err)
{
	const char *args[] = {"--reportformat", "json", "--units", "b", "--nosuffix", "-o", "lv_name,lv_size,lv_path",
			      vg_of(p), NULL};
	cleanup_free char *text = NULL;
	if (lvm_run(p->host, "lvs", args, &text, err) < 0)
		return err__prefix(err, "volume group '%s'", vg_of(p));
	json_t *rows = report_rows(text, "lv");
	if (!rows)
		return err__fail(err, EIO, "lvs: unreadable report");
	*out = json_array();
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row) {
		json_int_t size = num(row, "lv_size");
		json_array_append_new(*out, json_pack("{s:s?, s:s?, s:s, s:I, s:I}", "name",
						      json_string_value(json_object_get(row, "lv_name")), "path",
						      json_string_value(json_object_get(row, "lv_path")), "format", "raw",
						      "capacity", size, "allocation", size));
	}
	json_decref(rows);
	return 0;
}

static int lvm_volume_info(const struct storage_pool *p, const char *vol, json_t **out, struct st_err *err)
{
	json_t *list;
	if (lvm_volume_list(p, &list, err) < 0)
		return -1;
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		if (name && !strcmp(name, vol)) {
			*out = json_incref(v);
			json_decref(list);
			return 0;
		}
	}
	json_decref(list);
	return err__fail_class(err, ENOENT, "no volume '%s' in pool '%s'", vol, p->name);
}

static int lvm_volume_create(const struct storage_pool *p, const char *vol, const char *fmt, uint64_t bytes,
			     struct st_err *err)
{
	if (strcmp(fmt, "raw"))
		return err__fail_class(err, EINVAL, "logical volumes are raw");
	json_t *existing;
	if (lvm_volume_info(p, vol, &existing, NULL) == 0) {
		json_decref(existing);
		return err__fail_class(err, EEXIST, "volume '%s' in pool '%s' already exists", vol, p->name);
	}
	char size[32];
	snprintf(size, sizeof(size), "%llub", (unsigned long long)bytes);
	const char *args[] = {"-y", "-n", vol, "-L", size, vg_of(p), NULL};
	if (lvm_run(p->host, "lvcreate", args, NULL, err) < 0)
		return err__class(err, EINVAL, err__prefix(err, "lvcreate"));
	return 0;
}

static int lvm_volume_resize(const struct storage_pool *p, const char *vol, const json_t *info, uint64_t bytes,
			     struct st_err *err)
{
	(void)info;
	char size[32], lv[256];
	snprintf(size, sizeof(size), "%llub", (unsigned long long)bytes);
	snprintf(lv, sizeof(lv), "%s/%s", vg_of(p), vol);
	const char *args[] = {"-f", "-L", size, lv, NULL};
	if (lvm_run(p->host, "lvresize", args, NULL, err) < 0)
		return err__class(err, EINVAL, err__prefix(err, "lvresize"));
	return 0;
}

static int lvm_volume_delete(const struct storage_pool *p, const char *vol, struct st_err *err)
{
	json_t *info;
	if (lvm_volume_info(p, vol, &info, err) < 0)
		return -1; /* ENOENT for a volume that is not there */
	json_decref(info);
	char lv[256];
	snprintf(lv, sizeof(lv), "%s/%s", vg_of(p), vol);
	const char *args[] = {"-f", lv, NULL};
	if (lvm_run(p->host, "lvremove", args, NULL, err) < 0)
		return err__prefix(err, "lvremove");
	return 0;
}

static const char *const lvm_keys[] = {"vg", NULL};

/* No clone, upload or download: storage.c refuses them for logical pools. */
const struct storage_backend storage_lvm__backend = {
	.type = "logical",
	.keys = lvm_keys,
	.define = lvm_define,
	.describe = lvm_describe,
	.volume_list = lvm_volume_list,
	.volume_info = lvm_volume_info,
	.volume_create = lvm_volume_create,
	.volume_resize = lvm_volume_resize,
	.volume_delete = lvm_volume_delete,
};
