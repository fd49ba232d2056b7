/* A server's config drive (Nova's configdrive.py): the user_data, metadata
 * and public key the guest's cloud-init reads, in the OpenStack layout
 * (openstack/{2012-08-10,latest}/meta_data.json and user_data) on an ISO
 * 9660 image labelled config-2, made by genisoimage with Nova's own
 * arguments. It goes to the host as a raw volume uploaded into the
 * instance pool (stratad's PUT .../data, never inspected as an image) and
 * is attached to the domain read-only. */
#include "cloud/compute/servers_configdrive.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/cleanup.h"
#include "common/http_client.h"
#include "common/json_util.h"
#include "common/util.h"

#define GENISOIMAGE "genisoimage"
#define HOSTNAME_MAX 63

extern char **environ;

bool servers_configdrive__wanted(const json_t *row)
{
	const json_t *rs = json_object_get(row, "request_spec");
	const json_t *props = json_object_get(json_object_get(rs, "image"), "properties");
	const char *img = json_string_value(json_object_get(props, "img_config_drive"));
	return json_is_true(json_object_get(rs, "config_drive")) || (img && !strcmp(img, "mandatory"));
}

/* Nova's sanitize_hostname: lower case, letters digits '-' '.', at most 63. */
static void hostname_of(const char *name, const char *uuid, char out[HOSTNAME_MAX + 1])
{
	size_t n = 0;
	for (const char *p = name; p && *p && n < HOSTNAME_MAX; p++) {
		char c = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
		if (c == ' ' || c == '_')
			c = '-';
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')
			out[n++] = c;
	}
	out[n] = 0;
	while (n && (out[n - 1] == '-' || out[n - 1] == '.'))
		out[--n] = 0;
	size_t lead = strspn(out, "-.");
	memmove(out, out + lead, n - lead + 1);
	if (!*out)
		snprintf(out, HOSTNAME_MAX + 1, "server-%s", uuid);
}

/* meta_data.json as Nova's InstanceMetadata gives it at 2012-08-10 (latest
 * adds the keys of later versions). */
static json_t *meta_data(const json_t *row, const char *default_az, bool latest)
{
	const char *uuid = json_string_value(json_object_get(row, "uuid"));
	const char *key = json_string_value(json_object_get(row, "key_name"));
	const char *az = json_string_value(json_object_get(row, "availability_zone"));
	const json_t *meta = json_object_get(row, "metadata");
	char host[HOSTNAME_MAX + 1];
	hostname_of(json_string_value(json_object_get(row, "name")), uuid, host);
	json_t *m = json_pack("{s:s, s:s+, s:O, s:I, s:s, s:o, s:{}, s:[]}", "uuid", uuid, "hostname", host,
			      ".novalocal", "name", json_object_get(row, "name"), "launch_index",
			      json_integer_value(json_object_get(row, "launch_index")), "availability_zone",
			      az ? az : default_az, "meta", json_is_object(meta) ? json_incref((json_t *)meta) : json_object(), "public_keys",
			      "keys");
	if (m && key) {
		const char *data = json_string_value(json_object_get(row, "key_data"));
		json_object_set_new(json_object_get(m, "public_keys"), key, json_string(data ? data : ""));
		json_array_append_new(json_object_get(m, "keys"),
				      json_pack("{s:s, s:s, s:s}", "name", key, "type", "ssh", "data", data ? data : ""));
	}
	if (m && latest) {
		unsigned char seed[512];
		char text[700];
		RAND_bytes(seed, sizeof(seed));
		EVP_EncodeBlock((unsigned char *)text, seed, sizeof(seed));
		json_object_set_new(m, "random_seed", json_string(text));
		json_object_set(m, "project_id", json_object_get(row, "project_id"));
		json_object_set_new(m, "devices", json_array());
	}
	return m;
}

static int write_file(const char *dir, const char *name, const void *data, size_t len, struct st_err *err)
{
	char path[640];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || util__write_all(fd, data, len, err) < 0)
		return fd < 0 ? err__fail_errno(err, "config drive: %s", path) : -1;
	return 0;
}

/* The user_data as given (base64) decoded; NULL when there is none. */
static unsigned char *user_data(const json_t *row, size_t *len)
{
	const char *b64 = json_string_value(json_object_get(row, "user_data"));
	size_t n = b64 ? strlen(b64) : 0;
	unsigned char *out = n ? malloc(n) : NULL;
	int got = out ? EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n) : -1;
	if (got < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding's zero bytes */
	for (size_t i = n; i > 0 && b64[i - 1] == '='; i--)
		got--;
	*len = (size_t)got;
	return out;
}

/* The tree under root: openstack/VERSION/{meta_data.json,user_data}. */
static int write_tree(const char *root, const json_t *row, const char *default_az, struct st_err *err)
{
	static const char *const versions[] = {"2012-08-10", "latest"};
	size_t ud_len = 0;
	cleanup_free unsigned char *ud = user_data(row, &ud_len);
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/openstack", root);
	if (mkdir(dir, 0755) < 0)
		return err__fail_errno(err, "config drive: %s", dir);
	for (size_t i = 0; i < ST_ARRAY_SIZE(versions); i++) {
		snprintf(dir, sizeof(dir), "%s/openstack/%s", root, versions[i]);
		cleanup_json json_t *m = meta_data(row, default_az, i == 1);
		cleanup_free char *text = m ? json_dumps(m, JSON_COMPACT) : NULL;
		if (!text)
			return err__fail(err, ENOMEM, "config drive");
		if (mkdir(dir, 0755) < 0)
			return err__fail_errno(err, "config drive: %s", dir);
		if (write_file(dir, "meta_data.json", text, strlen(text), err) < 0 ||
		    (ud && write_file(dir, "user_data", ud, ud_len, err) < 0))
			return -1;
		if (i == 1 && write_file(dir, "vendor_data.json", "{}", 2, err) < 0)
			return -1;
	}
	return 0;
}

/* genisoimage as Nova runs it; its complaint (if any) in err. */
static int make_iso(const char *root, const char *iso, const char *log, struct st_err *err)
{
	char *const argv[] = {GENISOIMAGE, "-o", (char *)iso, "-ldots", "-allow-lowercase", "-allow-multidot", "-l",
			      "-publisher", "Strata", "-quiet", "-J", "-r", "-V", "config-2", (char *)root, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	pid_t pid;
	int rc = posix_spawnp(&pid, GENISOIMAGE, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return err__fail(err, rc, "config drive: running %s (Debian's genisoimage package): %s", GENISOIMAGE,
				 strerror(rc));
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return err__fail_errno(err, "config drive: waiting for %s", GENISOIMAGE);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	char said[300] = "";
	cleanup_close int fd = open(log, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, said, sizeof(said) - 1) : 0;
	said[n > 0 ? n : 0] = 0;
	said[strcspn(said, "\n")] = 0;
	return err__fail(err, EIO, "config drive: %s failed (status %d): %s", GENISOIMAGE, status, said);
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

/* The ISO in a fresh temporary directory; *fd its data, read-only. */
static int build(const json_t *row, const char *default_az, int *fd, uint64_t *size, struct st_err *err)
{
	const char *tmp = getenv("TMPDIR");
	char dir[200], root[256], iso[256], log[256];
	if (snprintf(dir, sizeof(dir), "%s/strata-configdrive-XXXXXX", tmp && *tmp ? tmp : "/tmp") >= (int)sizeof(dir))
		return err__fail(err, ENAMETOOLONG, "config drive: TMPDIR %s is too long", tmp);
	if (!mkdtemp(dir))
		return err__fail_errno(err, "config drive: mkdtemp in %s", tmp && *tmp ? tmp : "/tmp");
	snprintf(root, sizeof(root), "%s/root", dir);
	snprintf(iso, sizeof(iso), "%s/config.iso", dir);
	snprintf(log, sizeof(log), "%s/genisoimage.err", dir);
	int rc = mkdir(root, 0755) < 0 ? err__fail_errno(err, "config drive: %s", root) : 0;
	if (rc == 0)
		rc = write_tree(root, row, default_az, err);
	if (rc == 0)
		rc = make_iso(root, iso, log, err);
	struct stat sb;
	*fd = rc == 0 ? open(iso, O_RDONLY | O_CLOEXEC) : -1;
	if (rc == 0 && (*fd < 0 || fstat(*fd, &sb) < 0))
		rc = err__fail_errno(err, "config drive: %s", iso);
	if (rc == 0)
		*size = (uint64_t)sb.st_size;
	nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
	if (rc < 0 && *fd >= 0)
		close(*fd);
	return rc;
}

int servers_configdrive__put(struct servers *s, const struct servers_host *h, const json_t *row, const char *vol,
			     struct st_err *err)
{
	int fd = -1;
	uint64_t size = 0;
	if (build(row, s->sched->default_availability_zone, &fd, &size, err) < 0)
		return -1;
	char api[300];
	struct http_client_target t;
	struct http_client_resp r = {0};
	hosts__target(&h->ep, &t);
	/* no ?format=: raw bytes the host stores as they are */
	snprintf(api, sizeof(api), "/v1/pools/%s/volumes/%s/data", h->pool, vol);
	int rc = http_client__transfer(&t, "PUT", api, fd, size, NULL, 0, &r, err);
	close(fd);
	if (rc == 0 && r.status >= 300) {
		cleanup_json json_t *j = json_loadb(r.body, r.len, 0, NULL);
		const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
		rc = err__fail(err, EIO, "%u %s", r.status, msg ? msg : "upload refused");
	}
	http_client__resp_free(&r);
	return rc < 0 ? err__prefix(err, "uploading the config drive %s", vol) : 0;
}
