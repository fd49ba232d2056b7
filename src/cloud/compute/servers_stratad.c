/* A server on its host, through stratad's /v1 API only: its image (and the
 * kernel and ramdisk the image names) go into the host's image cache,
 * fetched by stratad from this cloud's signed URL once per host and
 * checked against the image's SHA-512; the server's disk is a qcow2
 * overlay on the cached base in the host's instance pool (Nova's libvirt
 * image cache), the kernel and ramdisk are the cached files themselves;
 * then the domain is defined over them and started. The domain is named instance-XXXXXXXX after the
 * server's integer id (Nova's instance_name), its uuid is the server's. */
#include "cloud/compute/servers_worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/http_client.h"
#include "common/util.h"
#include "cloud/compute/servers_configdrive.h"
#include "cloud/compute/servers_nics.h"

#define DEFAULT_CMDLINE "console=ttyS0 root=/dev/vda rw"

static const char *prop(const json_t *row, const char *key)
{
	const json_t *image = json_object_get(json_object_get(row, "request_spec"), "image");
	return json_string_value(json_object_get(json_object_get(image, "properties"), key));
}

static const char *image_field(const json_t *row, const char *key)
{
	const json_t *image = json_object_get(json_object_get(row, "request_spec"), "image");
	return json_string_value(json_object_get(image, key));
}

int servers_stratad__bootable(const json_t *row, struct st_err *err)
{
	const char *fmt = image_field(row, "disk_format");
	if (!prop(row, "kernel_id"))
		return err__fail_class(err, EINVAL, "Image %s has no kernel_id: a strata host boots a "
				       "guest's kernel (set the image properties kernel_id and ramdisk_id)",
				       image_field(row, "id"));
	if (!fmt || (strcmp(fmt, "raw") && strcmp(fmt, "qcow2")))
		return err__fail_class(err, EINVAL, "Image %s is %s: a strata host takes raw or qcow2 disks",
				       image_field(row, "id"), fmt ? fmt : "of no disk format");
	if (!image_field(row, "os_hash_value"))
		return err__fail_class(err, EINVAL, "Image %s has no SHA-512 (os_hash_value)",
				       image_field(row, "id"));
	return 0;
}

static void domain_name(const json_t *row, char out[32])
{
	snprintf(out, 32, "instance-%08llx", (long long)json_integer_value(json_object_get(row, "id")));
}

static void volume_name(const json_t *row, const char *what, char out[64])
{
	snprintf(out, 64, "%s-%s", json_string_value(json_object_get(row, "uuid")), what);
}

/* A volume's fetch answers when the download is done: far longer than
 * hosts.h's per-call timeout. */
#define FETCH_TIMEOUT_MS (3600 * 1000)

static struct http_client_target target(const struct servers_host *h)
{
	struct http_client_target t;
	hosts__target(&h->ep, &t);
	return t;
}

/* The host's cached base of an image (stratad's image cache: fetched once
 * per host, keyed by its SHA-512). With vol, the server's disk: a qcow2
 * overlay named vol on the base in the instance pool; without, *path (when
 * asked) is the base itself (a kernel or ramdisk the VMM reads). */
static int cached_image(struct servers *s, const struct servers_host *h, const char *vol,
			const char *image, const char *sha512, const char *format, long long disk_gb,
			char **path, struct st_err *err)
{
	char url[SERVERS_URL_MAX + 256], api[300];
	struct http_client_target t = target(h);
	cleanup_json json_t *out = NULL;
	t.timeout_ms = FETCH_TIMEOUT_MS;
	if (servers__fetch_url(s, image, url, sizeof(url), err) < 0)
		return -1;
	json_t *src = json_pack("{s:s, s:s, s:s}", "url", url, "sha512", sha512, "format", format);
	cleanup_json json_t *body = vol ? json_pack("{s:s, s:o}", "name", vol, "image", src) : src;
	/* the flavor's root disk size, as Nova grows the disk to it */
	if (vol && disk_gb > 0)
		json_object_set_new(body, "capacity", json_integer(disk_gb << 30));
	if (vol)
		snprintf(api, sizeof(api), "/v1/pools/%s/volumes", h->pool);
	if (http_client__json(&t, "POST", vol ? api : "/v1/images", body, &out, err) < 0)
		return err__prefix(err, "%s from image %s", vol ? vol : "caching", image);
	if (!path)
		return 0;
	const char *p = json_string_value(json_object_get(out, "path"));
	if (!p)
		return err__fail(err, EIO, "image %s: stratad gave no path", image);
	*path = strdup(p);
	return *path ? 0 : err__fail(err, ENOMEM, "out of memory");
}

/* A kernel or ramdisk image's cached base: its SHA-512 from the image service. */
static int fetch_boot_file(struct servers *s, const struct servers_host *h, const char *what,
			   const char *image, char **path, struct st_err *err)
{
	cleanup_json json_t *rec = NULL;
	struct images_caller admin = {.admin = true, .member = true};
	if (images__visible(s->images, &admin, image, &rec, err) < 0)
		return err__prefix(err, "%s image %s", what, image);
	const char *sha = json_string_value(json_object_get(rec, "os_hash_value"));
	if (!sha)
		return err__fail(err, EINVAL, "%s image %s has no data", what, image);
	return cached_image(s, h, NULL, image, sha, "raw", 0, path, err);
}

static int define_and_start(const struct servers_host *h, const json_t *row, const char *kernel,
			    const char *initrd, const char *config, struct st_err *err)
{
	char name[32], disk[64], api[128];
	struct http_client_target t = target(h);
	domain_name(row, name);
	volume_name(row, "disk", disk);
	const char *cmdline = prop(row, "os_command_line");
	json_t *os = json_pack("{s:s, s:s}", "kernel", kernel, "cmdline", cmdline ? cmdline : DEFAULT_CMDLINE);
	if (initrd)
		json_object_set_new(os, "initrd", json_string(initrd));
	cleanup_json json_t *def = json_pack(
		"{s:s, s:O, s:I, s:I, s:o, s:[{s:s, s:s, s:s, s:s}]}", "name", name, "uuid",
		json_object_get(row, "uuid"), "memory_mib", json_integer_value(json_object_get(row, "memory_mb")),
		"vcpus", json_integer_value(json_object_get(row, "vcpus")), "os", os, "disks", "pool", h->pool,
		"volume", disk, "format", "qcow2", "target", "vda");
	/* the config drive: read-only, as Nova attaches disk.config */
	if (config)
		json_array_append_new(json_object_get(def, "disks"),
				      json_pack("{s:s, s:s, s:s, s:s, s:b}", "pool", h->pool, "volume", config, "format",
						"raw", "target", "vdb", "readonly", 1));
	cleanup_json json_t *out = NULL, *started = NULL;
	json_t *ifaces;
	if (servers_nics__host_setup(h, row, &ifaces, err) < 0)
		return -1;
	json_object_set_new(def, "interfaces", ifaces);
	if (http_client__json(&t, "POST", "/v1/domains", def, &out, err) < 0) {
		servers_nics__host_clean(h, row);
		return err__prefix(err, "defining %s", name);
	}
	snprintf(api, sizeof(api), "/v1/domains/%s/start", name);
	if (http_client__json(&t, "POST", api, NULL, &started, err) < 0)
		return err__prefix(err, "starting %s", name);
	return 0;
}

int servers_stratad__build(struct servers *s, const struct servers_host *h, const json_t *row,
			   char *fault, size_t size)
{
	struct st_err err = {0};
	char disk[64];
	cleanup_free char *kernel = NULL, *initrd = NULL;
	const char *ramdisk_id = prop(row, "ramdisk_id");
	volume_name(row, "disk", disk);
	int rc = cached_image(s, h, disk, image_field(row, "id"), image_field(row, "os_hash_value"),
			      image_field(row, "disk_format"), json_integer_value(json_object_get(row, "disk_gb")),
			      NULL, &err);
	if (rc == 0)
		rc = fetch_boot_file(s, h, "kernel", prop(row, "kernel_id"), &kernel, &err);
	if (rc == 0 && ramdisk_id)
		rc = fetch_boot_file(s, h, "ramdisk", ramdisk_id, &initrd, &err);
	char config[64];
	volume_name(row, "config", config);
	bool drive = servers_configdrive__wanted(row);
	if (rc == 0 && drive)
		rc = servers_configdrive__put(s, h, row, config, &err);
	if (rc == 0)
		rc = define_and_start(h, row, kernel, initrd, drive ? config : NULL, &err);
	if (rc < 0)
		snprintf(fault, size, "host %s: %s", h->name, err.msg);
	return rc;
}

/* A call whose 404 (already gone) is fine. */
static int call_gone_ok(const struct servers_host *h, const char *method, const char *api,
			struct st_err *err)
{
	struct http_client_target t = target(h);
	struct http_client_resp r = {0};
	int rc = http_client__request(&t, method, api, "application/json", NULL, 0, &r, err);
	if (rc == 0 && r.status >= 300 && r.status != 404) {
		cleanup_json json_t *j = json_loadb(r.body, r.len, 0, NULL);
		const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
		rc = err__fail(err, 0, "%u %s", r.status, msg ? msg : "request failed");
	}
	http_client__resp_free(&r);
	return rc;
}

int servers_stratad__clean(const struct servers_host *h, const json_t *row, struct st_err *err)
{
	char name[32], api[256], vol[64];
	struct st_err ignored = {0};
	domain_name(row, name);
	servers_nics__host_clean(h, row);
	/* a domain that runs (or failed half-way) is stopped first; its state
	 * may make this refuse, the undefine below says what matters */
	snprintf(api, sizeof(api), "/v1/domains/%s/destroy", name);
	call_gone_ok(h, "POST", api, &ignored);
	snprintf(api, sizeof(api), "/v1/domains/%s", name);
	if (call_gone_ok(h, "DELETE", api, err) < 0)
		return err__prefix(err, "removing %s", name);
	static const char *const vols[] = {"disk", "config", "kernel", "ramdisk"};
	for (size_t i = 0; i < ST_ARRAY_SIZE(vols); i++) {
		volume_name(row, vols[i], vol);
		snprintf(api, sizeof(api), "/v1/pools/%s/volumes/%s", h->pool, vol);
		if (call_gone_ok(h, "DELETE", api, err) < 0)
			return err__prefix(err, "removing volume %s", vol);
	}
	return 0;
}
