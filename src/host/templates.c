#include "host/templates.h"

#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "host/domains.h"
#include "host/domdef.h"
#include "host/storage.h"
#include "host/store.h"

#define DESCRIPTION_MAX 1024

static const char *const DOMAIN_KEYS[] = {"memory_mib", "vcpus", "os", "interfaces", "on_reboot", "on_crash", NULL};

static int check_recipe_disk(struct host *h, const json_t *d, size_t idx, json_t *out, json_t *path_disks,
			     struct st_err *err)
{
	static const char *const keys[] = {"pool", "capacity", "format", "base", "mode", "path", "readonly", NULL};
	char where[32];
	snprintf(where, sizeof(where), "disks[%zu]", idx);
	if (!json_is_object(d))
		return err__fail_class(err, EINVAL, "%s must be an object", where);
	if (json_util__check_keys(d, where, keys, err) < 0)
		return err__class(err, EINVAL, -1);
	const char *pool, *format, *base, *mode;
	if (json_util__string(d, where, "pool", false, &pool, err) < 0 ||
	    json_util__string(d, where, "format", false, &format, err) < 0 ||
	    json_util__string(d, where, "base", false, &base, err) < 0 ||
	    json_util__string(d, where, "mode", false, &mode, err) < 0)
		return err__class(err, EINVAL, -1);
	if (json_object_get(d, "path")) {
		if (pool || format || base || mode || json_object_get(d, "capacity"))
			return err__fail_class(err, EINVAL, "%s: a \"path\" disk has no pool, base, capacity or format", where);
		json_array_append(path_disks, (json_t *)d);
		json_array_append_new(out, json_deep_copy(d));
		return 0;
	}
	if (!pool)
		return err__fail_class(err, EINVAL, "%s: \"pool\" (or \"path\") is required", where);
	cleanup_json json_t *info = NULL;
	/* a name in the body that is not there is a bad body (400), not a missing URL */
	if (storage__pool_info(h, pool, &info, err) < 0)
		return err__class(err, EINVAL, err__prefix(err, "%s", where));
	if (base) {
		if (format || json_object_get(d, "capacity"))
			return err__fail_class(err, EINVAL, "%s: a disk from a base has no capacity or format", where);
		if (mode && strcmp(mode, "copy") && strcmp(mode, "overlay"))
			return err__fail_class(err, EINVAL, "%s: mode \"%s\" is not copy or overlay", where, mode);
		cleanup_json json_t *vol = NULL;
		if (storage__volume_info(h, pool, base, &vol, err) < 0)
			return err__class(err, EINVAL, err__prefix(err, "%s: base", where));
		json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "pool", pool, "base", base, "mode",
						     mode ? mode : "copy"));
		return 0;
	}
	if (mode)
		return err__fail_class(err, EINVAL, "%s: \"mode\" goes with a \"base\"", where);
	if (format && strcmp(format, "raw") && strcmp(format, "qcow2"))
		return err__fail_class(err, EINVAL, "%s: format \"%s\" is not raw or qcow2", where, format);
	json_t *cap = json_object_get(d, "capacity");
	if (!cap || !(json_is_string(cap) || (json_is_integer(cap) && json_integer_value(cap) > 0)))
		return err__fail_class(err, EINVAL, "%s: \"capacity\" is required: bytes, or a size like \"10G\"", where);
	json_array_append_new(out, json_pack("{s:s, s:O, s:s}", "pool", pool, "capacity", cap, "format",
					     format ? format : "qcow2"));
	return 0;
}

/* The recipe of in (a template's body without its name) checked and
 * normalized: the guest-wide part through domdef__check, as a domain. */
static int check_recipe(struct host *h, const char *name, const json_t *in, json_t **out, struct st_err *err)
{
	static const char *const keys[] = {"name", "description", "memory_mib", "vcpus", "os", "disks",
					   "interfaces", "on_reboot", "on_crash", NULL};
	if (!json_is_object(in))
		return err__fail_class(err, EINVAL, "a template is a JSON object");
	if (json_util__check_keys(in, "template", keys, err) < 0)
		return err__class(err, EINVAL, -1);
	if (!domdef__name_ok(name))
		return err__fail_class(err, EINVAL, "template name \"%s\" is invalid (1-%d of A-Z a-z 0-9 _ . + -, not "
				      "starting with . or -)", name, DOMDEF_NAME_MAX);
	const char *desc;
	if (json_util__string(in, "template", "description", false, &desc, err) < 0)
		return err__class(err, EINVAL, -1);
	if (desc && strlen(desc) > DESCRIPTION_MAX)
		return err__fail_class(err, EINVAL, "template: \"description\" is longer than %d bytes", DESCRIPTION_MAX);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(in, "interfaces"), i, v) {
		if (json_object_get(v, "mac"))
			return err__fail_class(err, EINVAL, "interfaces[%zu]: a template has no MAC (each guest gets its own)", i);
	}
	cleanup_json json_t *dom = json_pack("{s:s}", "name", name), *disks = json_array(), *path_disks = json_array();
	for (const char *const *k = DOMAIN_KEYS; *k; k++)
		if (json_object_get(in, *k))
			json_object_set(dom, *k, json_object_get(in, *k));
	json_t *din = json_object_get(in, "disks");
	if (din && (!json_is_array(din) || json_array_size(din) > DOMDEF_DISKS_MAX))
		return err__fail_class(err, EINVAL, "\"disks\" must be an array of at most %d", DOMDEF_DISKS_MAX);
	json_array_foreach(din, i, v) {
		if (check_recipe_disk(h, v, i, disks, path_disks, err) < 0)
			return -1;
	}
	json_object_set(dom, "disks", path_disks); /* files are checked as a domain's are */
	cleanup_json json_t *norm = NULL;
	if (domdef__check(dom, NULL, NULL, &norm, err) < 0)
		return err__class(err, EINVAL, -1);
	json_t *t = json_pack("{s:s, s:s}", "name", name, "description", desc ? desc : "");
	for (const char *const *k = DOMAIN_KEYS; *k; k++)
		json_object_set(t, *k, json_object_get(norm, *k));
	json_array_foreach(json_object_get(t, "interfaces"), i, v)
		json_object_del(v, "mac");
	json_object_set(t, "disks", disks);
	*out = t;
	return 0;
}

json_t *templates__list(struct host *h)
{
	json_t *list = store__template_list(h->store), *out = json_array(), *row;
	size_t i;
	json_array_foreach(list, i, row) {
		json_t *t = json_object_get(row, "def");
		json_object_set(t, "created", json_object_get(row, "created"));
		json_object_set(t, "updated", json_object_get(row, "updated"));
		json_array_append(out, t);
	}
	json_decref(list);
	return out;
}

static json_t *find(struct host *h, const char *name)
{
	cleanup_json json_t *list = templates__list(h);
	size_t i;
	json_t *t;
	json_array_foreach(list, i, t) {
		if (!strcmp(json_string_value(json_object_get(t, "name")), name))
			return json_incref(t);
	}
	return NULL;
}

int templates__get(struct host *h, const char *name, json_t **out, struct st_err *err)
{
	if (!(*out = find(h, name)))
		return err__fail_class(err, ENOENT, "template '%s' not found", name);
	return 0;
}

static int store_new(struct host *h, const char *name, const json_t *recipe, json_t **out, struct st_err *err)
{
	cleanup_json json_t *t = NULL;
	if (check_recipe(h, name, recipe, &t, err) < 0)
		return -1;
	if (store__template_put(h->store, name, t, true, err) < 0)
		return err->errnum == EEXIST ? err__fail_class(err, EEXIST, "template '%s' already exists", name) : -1;
	return templates__get(h, name, out, err);
}

int templates__define(struct host *h, const json_t *in, json_t **out, struct st_err *err)
{
	const char *name;
	if (!json_is_object(in))
		return err__fail_class(err, EINVAL, "a template is a JSON object");
	if (json_util__string(in, "template", "name", true, &name, err) < 0)
		return err__class(err, EINVAL, -1);
	return store_new(h, name, in, out, err);
}

int templates__update(struct host *h, const char *name, const json_t *in, json_t **out, struct st_err *err)
{
	cleanup_json json_t *old = NULL, *t = NULL;
	const char *named = NULL;
	if (templates__get(h, name, &old, err) < 0)
		return -1;
	if (json_is_object(in) && json_util__string(in, "template", "name", false, &named, err) < 0)
		return err__class(err, EINVAL, -1);
	if (named && strcmp(named, name))
		return err__fail_class(err, EINVAL, "template: \"name\" is %s, not %s (a template is not renamed)", named, name);
	if (check_recipe(h, name, in, &t, err) < 0 || store__template_put(h->store, name, t, false, err) < 0)
		return -1;
	return templates__get(h, name, out, err);
}

int templates__delete(struct host *h, const char *name, struct st_err *err)
{
	cleanup_json json_t *old = NULL;
	if (templates__get(h, name, &old, err) < 0)
		return -1;
	return store__template_delete(h->store, name, err);
}

int templates__from_guest(struct host *h, const json_t *in, json_t **out, struct st_err *err)
{
	static const char *const keys[] = {"name", "guest", "description", NULL};
	const char *name, *guest, *desc;
	if (!json_is_object(in) || json_util__check_keys(in, "template", keys, err) < 0 ||
	    json_util__string(in, "template", "name", true, &name, err) < 0 ||
	    json_util__string(in, "template", "guest", true, &guest, err) < 0 ||
	    json_util__string(in, "template", "description", false, &desc, err) < 0)
		return json_is_object(in) ? err__class(err, EINVAL, -1)
					  : err__fail_class(err, EINVAL, "the body is {\"name\", \"guest\"}");
	struct dom *d = domains__find(h, guest, err);
	if (!d)
		return -1;
	cleanup_json json_t *recipe = json_object(), *disks = json_array();
	for (const char *const *k = DOMAIN_KEYS; *k; k++)
		json_object_set_new(recipe, *k, json_deep_copy(json_object_get(d->def, *k)));
	if (desc)
		json_object_set_new(recipe, "description", json_string(desc));
	size_t i;
	json_t *disk;
	json_array_foreach(json_object_get(d->def, "disks"), i, disk) {
		json_t *pool = json_object_get(disk, "pool");
		if (pool)
			json_array_append_new(disks, json_pack("{s:O, s:O, s:s}", "pool", pool, "base",
							       json_object_get(disk, "volume"), "mode", "copy"));
		else
			json_array_append_new(disks, json_pack("{s:O, s:O}", "path", json_object_get(disk, "path"),
							       "readonly", json_object_get(disk, "readonly")));
	}
	json_object_set(recipe, "disks", disks);
	json_array_foreach(json_object_get(recipe, "interfaces"), i, disk)
		json_object_del(disk, "mac");
	return store_new(h, name, recipe, out, err);
}
