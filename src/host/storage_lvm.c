/* Logical (LVM) pools through lvm2's commands, the way libvirt does it:
 * lvs/vgs report JSON (--reportformat json, sizes in bytes). */
#include "host/storage_lvm.h"
#include "common/cleanup.h"
#include "host/helper.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs an lvm2 command with the daemon's --lvm-config (if any) first. */
static int lvm__run(const struct host *h, const char *cmd, const char *const *args, char **out, struct st_err *err)
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

int lvm__pool_usage(struct host *h, const char *vg, json_t *info, struct st_err *err)
{
	const char *args[] = {"--reportformat", "json", "--units", "b", "--nosuffix", "-o", "vg_name,vg_size,vg_free", vg,
			      NULL};
	cleanup_free char *text = NULL;
	if (lvm__run(h, "vgs", args, &text, err) < 0)
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

int lvm__volume_list(struct host *h, const char *vg, json_t **out, struct st_err *err)
{
	const char *args[] = {"--reportformat", "json", "--units", "b", "--nosuffix", "-o", "lv_name,lv_size,lv_path", vg,
			      NULL};
	cleanup_free char *text = NULL;
	if (lvm__run(h, "lvs", args, &text, err) < 0)
		return err__prefix(err, "volume group '%s'", vg);
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

int lvm__volume_info(struct host *h, const char *pool, const char *vg, const char *vol, json_t **out,
		     struct st_err *err)
{
	json_t *list;
	if (lvm__volume_list(h, vg, &list, err) < 0)
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
	return err__fail_class(err, ENOENT, "no volume '%s' in pool '%s'", vol, pool);
}

int lvm__volume_create(struct host *h, const char *vg, const char *vol, uint64_t bytes, struct st_err *err)
{
	char size[32];
	snprintf(size, sizeof(size), "%llub", (unsigned long long)bytes);
	const char *args[] = {"-y", "-n", vol, "-L", size, vg, NULL};
	if (lvm__run(h, "lvcreate", args, NULL, err) < 0)
		return err__class(err, EINVAL, err__prefix(err, "lvcreate"));
	return 0;
}

int lvm__volume_resize(struct host *h, const char *vg, const char *vol, uint64_t bytes, struct st_err *err)
{
	char size[32], lv[256];
	snprintf(size, sizeof(size), "%llub", (unsigned long long)bytes);
	snprintf(lv, sizeof(lv), "%s/%s", vg, vol);
	const char *args[] = {"-f", "-L", size, lv, NULL};
	if (lvm__run(h, "lvresize", args, NULL, err) < 0)
		return err__class(err, EINVAL, err__prefix(err, "lvresize"));
	return 0;
}

int lvm__volume_delete(struct host *h, const char *pool, const char *vg, const char *vol, struct st_err *err)
{
	json_t *info;
	if (lvm__volume_info(h, pool, vg, vol, &info, err) < 0)
		return -1; /* ENOENT for a volume that is not there */
	json_decref(info);
	char lv[256];
	snprintf(lv, sizeof(lv), "%s/%s", vg, vol);
	const char *args[] = {"-f", lv, NULL};
	if (lvm__run(h, "lvremove", args, NULL, err) < 0)
		return err__prefix(err, "lvremove");
	return 0;
}
