#include "host/domdef.h"
#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define MEMORY_MIB_MAX (1u << 20)
#define VCPUS_MAX DOMDEF_VCPUS_MAX
#define NICS_MAX 8

bool domdef__name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > DOMDEF_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.+-", name[i]))
			return false;
	return true;
}

bool domdef__uuid_ok(const char *u)
{
	if (strlen(u) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (u[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)u[i])) {
			return false;
		}
	}
	return true;
}

int domdef__uuid_generate(char out[37], struct st_err *err)
{
	uint8_t b[16];
	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		return err__fail_errno(err, "getrandom");
	b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

static int check_file(const char *where, const char *path, struct st_err *err)
{
	struct stat sb;
	if (path[0] != '/')
		return err__fail(err, 0, "%s: \"%s\" is not an absolute path", where, path);
	if (stat(path, &sb) < 0)
		return err__fail(err, errno, "%s: %s", where, path);
	if (!S_ISREG(sb.st_mode) && !S_ISBLK(sb.st_mode))
		return err__fail(err, 0, "%s: %s is not a regular file or block device", where, path);
	return 0;
}

static int check_os(const json_t *os, json_t *out, struct st_err *err)
{
	static const char *const keys[] = {"kernel", "initrd", "cmdline", NULL};
	if (!json_is_object(os))
		return err__fail(err, 0, "\"os\" must be an object with \"kernel\"");
	if (json_util__check_keys(os, "os", keys, err) < 0)
		return -1;
	const char *kernel, *initrd, *cmdline;
	if (json_util__string(os, "os", "kernel", true, &kernel, err) < 0 ||
	    json_util__string(os, "os", "initrd", false, &initrd, err) < 0 ||
	    json_util__string(os, "os", "cmdline", false, &cmdline, err) < 0)
		return -1;
	if (check_file("os.kernel", kernel, err) < 0 || (initrd && check_file("os.initrd", initrd, err) < 0))
		return -1;
	if (cmdline && strlen(cmdline) > 65535)
		return err__fail(err, 0, "os.cmdline is longer than 64 KiB");
	json_t *o = json_pack("{s:s}", "kernel", kernel);
	if (initrd)
		json_object_set_new(o, "initrd", json_string(initrd));
	json_object_set_new(o, "cmdline", json_string(cmdline ? cmdline : ""));
	json_object_set_new(out, "os", o);
	return 0;
}

/* What the guest reads as the disk's serial (virtio-blk's GET_ID, at most 20
 * bytes: a longer one would be cut); qemu's (and so libvirt's) characters,
 * and never strata-vm's option separator. */
static int check_serial(const char *where, const char *serial, struct st_err *err)
{
	if (!serial)
		return 0;
	size_t n = strlen(serial);
	if (n == 0 || n > DOMDEF_SERIAL_MAX)
		return err__fail(err, 0, "%s: serial \"%.40s\" is not 1..%d bytes (virtio-blk's disk id)", where, serial,
				 DOMDEF_SERIAL_MAX);
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)serial[i]) && !strchr("-_ .+", serial[i]))
			return err__fail(err, 0, "%s: serial \"%.40s\" has a character other than A-Z a-z 0-9 - _ . + "
					 "and space", where, serial);
	return 0;
}

static int check_disk(const json_t *d, const char *where, const char *dflt_target, domdef_volume_fn resolve,
		      void *ctx, json_t *list, struct st_err *err)
{
	static const char *const keys[] = {"path", "pool", "volume", "format", "bus", "target", "readonly", "serial",
					   NULL};
	if (!json_is_object(d))
		return err__fail(err, 0, "%s must be an object", where);
	if (json_util__check_keys(d, where, keys, err) < 0)
		return -1;
	const char *path, *pool, *volume, *format, *bus, *target, *serial;
	if (json_util__string(d, where, "serial", false, &serial, err) < 0 || check_serial(where, serial, err) < 0 ||
	    json_util__string(d, where, "path", false, &path, err) < 0 ||
	    json_util__string(d, where, "pool", false, &pool, err) < 0 ||
	    json_util__string(d, where, "volume", false, &volume, err) < 0 ||
	    json_util__string(d, where, "format", false, &format, err) < 0 ||
	    json_util__string(d, where, "bus", false, &bus, err) < 0 ||
	    json_util__string(d, where, "target", false, &target, err) < 0)
		return -1;
	json_t *ro = json_object_get(d, "readonly");
	if (ro && !json_is_boolean(ro))
		return err__fail(err, 0, "%s: \"readonly\" must be true or false", where);
	if (format && strcmp(format, "raw") && strcmp(format, "qcow2"))
		return err__fail(err, 0, "%s: format \"%s\" is not raw or qcow2", where, format);
	if (bus && strcmp(bus, "virtio"))
		return err__fail(err, 0, "%s: bus \"%s\" is not supported (virtio)", where, bus);
	if (target && (strncmp(target, "vd", 2) || strlen(target) != 3 || !islower((unsigned char)target[2])))
		return err__fail(err, 0, "%s: target \"%s\" is not vda..vdz", where, target);
	json_t *o = json_object();
	if (pool || volume) {
		if (path || !pool || !volume) {
			json_decref(o);
			return err__fail(err, 0, "%s: give either \"path\" or both \"pool\" and \"volume\"", where);
		}
		cleanup_free char *resolved = NULL;
		const char *vfmt = NULL;
		if (!resolve || resolve(ctx, pool, volume, &resolved, &vfmt, err) < 0) {
			json_decref(o);
			return resolve ? err__prefix(err, "%s", where) : err__fail(err, 0, "%s: no pools", where);
		}
		if (format && strcmp(format, vfmt)) {
			json_decref(o);
			return err__fail(err, 0, "%s: volume %s of pool %s is %s, not %s", where, volume, pool, vfmt, format);
		}
		format = vfmt;
		json_object_set_new(o, "pool", json_string(pool));
		json_object_set_new(o, "volume", json_string(volume));
		json_object_set_new(o, "path", json_string(resolved));
	} else if (path) {
		if (check_file(where, path, err) < 0) {
			json_decref(o);
			return -1;
		}
		json_object_set_new(o, "path", json_string(path));
	} else {
		json_decref(o);
		return err__fail(err, 0, "%s: \"path\" (or \"pool\" and \"volume\") is required", where);
	}
	/* strata-vm's --disk takes PATH,OPTIONS: a comma would split the path */
	if (strchr(json_string_value(json_object_get(o, "path")), ',')) {
		json_decref(o);
		return err__fail(err, 0, "%s: disk paths cannot contain ','", where);
	}
	json_object_set_new(o, "format", json_string(format ? format : "raw"));
	json_object_set_new(o, "bus", json_string("virtio"));
	json_object_set_new(o, "target", json_string(target ? target : dflt_target));
	json_object_set_new(o, "readonly", json_boolean(ro && json_is_true(ro)));
	/* kept only apart from the target, which is the default (and what dumpxml shows) */
	if (serial && strcmp(serial, json_string_value(json_object_get(o, "target"))))
		json_object_set_new(o, "serial", json_string(serial));
	json_array_append_new(list, o);
	return 0;
}

static bool mac_ok(const char *m)
{
	unsigned b[6];
	char tail;
	return strlen(m) == 17 &&
	       sscanf(m, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) == 6 &&
	       !(b[0] & 1);
}

static int check_nic(const json_t *n, size_t idx, json_t *list, struct st_err *err)
{
	static const char *const keys[] = {"type", "source", "mac", "model", NULL};
	char where[48];
	snprintf(where, sizeof(where), "interfaces[%zu]", idx);
	if (!json_is_object(n))
		return err__fail(err, 0, "%s must be an object", where);
	if (json_util__check_keys(n, where, keys, err) < 0)
		return -1;
	const char *type, *source, *mac, *model;
	if (json_util__string(n, where, "type", true, &type, err) < 0 ||
	    json_util__string(n, where, "source", true, &source, err) < 0 ||
	    json_util__string(n, where, "mac", false, &mac, err) < 0 ||
	    json_util__string(n, where, "model", false, &model, err) < 0)
		return -1;
	if (strcmp(type, "network") && strcmp(type, "bridge") && strcmp(type, "direct"))
		return err__fail(err, 0, "%s: type \"%s\" is not network, bridge or direct", where, type);
	if (!domdef__name_ok(source) || strlen(source) > 15)
		return err__fail(err, 0, "%s: source \"%s\" is not a valid network or interface name", where, source);
	if (model && strcmp(model, "virtio"))
		return err__fail(err, 0, "%s: model \"%s\" is not supported (virtio)", where, model);
	char gen[18];
	if (mac) {
		if (!mac_ok(mac))
			return err__fail(err, 0, "%s: \"%s\" is not a unicast MAC address", where, mac);
	} else {
		uint8_t r[3];
		if (getrandom(r, sizeof(r), 0) != sizeof(r))
			return err__fail_errno(err, "getrandom");
		snprintf(gen, sizeof(gen), "52:54:00:%02x:%02x:%02x", r[0], r[1], r[2]);
		mac = gen;
	}
	json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "type", type, "source", source, "mac", mac,
					      "model", "virtio"));
	return 0;
}

static int check_list(const json_t *in, const char *key, size_t max, json_t *out,
		      int (*each)(const json_t *item, size_t idx, void *ctx, json_t *list, struct st_err *err),
		      void *ctx, struct st_err *err)
{
	json_t *arr = json_object_get(in, key);
	json_t *list = json_array();
	json_object_set_new(out, key, list);
	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return err__fail(err, 0, "\"%s\" must be an array", key);
	if (json_array_size(arr) > max)
		return err__fail(err, 0, "\"%s\": at most %zu entries", key, max);
	size_t i;
	json_t *item;
	json_array_foreach(arr, i, item) {
		if (each(item, i, ctx, list, err) < 0)
			return -1;
	}
	return 0;
}

struct disk_ctx {
	domdef_volume_fn resolve;
	void *ctx;
};

static int each_disk(const json_t *item, size_t idx, void *ctx, json_t *list, struct st_err *err)
{
	struct disk_ctx *dc = ctx;
	char where[48], dflt_target[8] = {'v', 'd', (char)('a' + idx % 26), 0};
	snprintf(where, sizeof(where), "disks[%zu]", idx);
	return check_disk(item, where, dflt_target, dc->resolve, dc->ctx, list, err);
}

static int each_nic(const json_t *item, size_t idx, void *ctx, json_t *list, struct st_err *err)
{
	(void)ctx;
	return check_nic(item, idx, list, err);
}

int domdef__check_disk(const json_t *in, const char *dflt_target, domdef_volume_fn resolve, void *ctx,
		       json_t **out, struct st_err *err)
{
	json_t *list = json_array();
	if (!list)
		return err__fail(err, ENOMEM, "disk");
	if (check_disk(in, "disk", dflt_target, resolve, ctx, list, err) < 0) {
		json_decref(list);
		return -1;
	}
	*out = json_incref(json_array_get(list, 0));
	json_decref(list);
	return 0;
}

static int check_targets_unique(const json_t *disks, struct st_err *err)
{
	for (size_t i = 0; i < json_array_size(disks); i++)
		for (size_t j = i + 1; j < json_array_size(disks); j++) {
			const char *a = json_string_value(json_object_get(json_array_get(disks, i), "target"));
			const char *b = json_string_value(json_object_get(json_array_get(disks, j), "target"));
			if (!strcmp(a, b))
				return err__fail(err, 0, "disks: target %s is used twice", a);
		}
	return 0;
}

int domdef__check(const json_t *in, domdef_volume_fn resolve, void *ctx, json_t **out, struct st_err *err)
{
	static const char *const keys[] = {"name", "uuid", "memory_mib", "vcpus", "os", "disks",
					   "interfaces", "on_reboot", "on_crash", "balloon", NULL};
	if (!json_is_object(in))
		return err__fail(err, 0, "a domain definition is a JSON object");
	if (json_util__check_keys(in, "domain", keys, err) < 0)
		return -1;
	const char *name, *uuid, *on_reboot, *on_crash;
	if (json_util__string(in, "domain", "name", true, &name, err) < 0 ||
	    json_util__string(in, "domain", "uuid", false, &uuid, err) < 0 ||
	    json_util__string(in, "domain", "on_reboot", false, &on_reboot, err) < 0 ||
	    json_util__string(in, "domain", "on_crash", false, &on_crash, err) < 0)
		return -1;
	if (!domdef__name_ok(name))
		return err__fail(err, 0, "domain name \"%s\" is invalid (1-%d of A-Z a-z 0-9 _ . + -, not starting "
			       "with . or -)", name, DOMDEF_NAME_MAX);
	char gen[37];
	if (uuid && !domdef__uuid_ok(uuid))
		return err__fail(err, 0, "uuid \"%s\" is not of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", uuid);
	if (!uuid) {
		if (domdef__uuid_generate(gen, err) < 0)
			return -1;
		uuid = gen;
	}
	if (on_reboot && strcmp(on_reboot, "restart") && strcmp(on_reboot, "destroy"))
		return err__fail(err, 0, "on_reboot \"%s\" is not restart or destroy", on_reboot);
	if (on_crash && strcmp(on_crash, "restart") && strcmp(on_crash, "destroy"))
		return err__fail(err, 0, "on_crash \"%s\" is not restart or destroy", on_crash);
	json_int_t mem = 0, vcpus = 0;
	if (json_util__int(in, "domain", "memory_mib", 8, MEMORY_MIB_MAX, 64, &mem, err) < 0 ||
	    json_util__int(in, "domain", "vcpus", 1, VCPUS_MAX, 1, &vcpus, err) < 0)
		return -1;
	json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s}", "name", name, "uuid", uuid, "memory_mib", mem,
			      "vcpus", vcpus, "on_reboot", on_reboot ? on_reboot : "restart", "on_crash",
			      on_crash ? on_crash : "destroy");
	/* a memory balloon (setmem, dommemstat) unless "balloon": false; kept only then */
	json_t *balloon = json_object_get(in, "balloon");
	if (balloon && !json_is_boolean(balloon)) {
		json_decref(o);
		return err__fail(err, 0, "domain: \"balloon\" must be true or false");
	}
	if (json_is_false(balloon))
		json_object_set_new(o, "balloon", json_false());
	/* uuids are stored lower-case so lookups need not fold case */
	char lower[37];
	for (int i = 0; i < 37; i++)
		lower[i] = (char)tolower((unsigned char)uuid[i]);
	json_object_set_new(o, "uuid", json_string(lower));
	json_t *os = json_object_get(in, "os");
	struct disk_ctx dc = {resolve, ctx};
	if (!os) {
		json_decref(o);
		return err__fail(err, 0, "domain: \"os\" with a \"kernel\" is required");
	}
	if (check_os(os, o, err) < 0 || check_list(in, "disks", DOMDEF_DISKS_MAX, o, each_disk, &dc, err) < 0 ||
	    check_targets_unique(json_object_get(o, "disks"), err) < 0 ||
	    check_list(in, "interfaces", NICS_MAX, o, each_nic, NULL, err) < 0) {
		json_decref(o);
		return -1;
	}
	*out = o;
	return 0;
}
