/* strata's volume commands: vol-list, vol-create-as, vol-info, vol-path,
 * vol-create-from, vol-delete, vol-clone, vol-resize, vol-upload, vol-download. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"

static json_t *vol_row(json_t *v)
{
	char cap[32], alloc[32];
	return json_pack("[s, s, s, s, s]", output__str(v, "name"), output__str(v, "format"),
		output__size_of(v, "capacity", cap, sizeof(cap)),
		output__size_of(v, "allocation", alloc, sizeof(alloc)),
		output__str(v, "path"));
}

static void print_vols(json_t *r)
{
	static const char *const h[] = {"Name", "Format", "Capacity", "Allocation", "Path", NULL};
	output__list(h, r, vol_row);
}

static void print_vol(json_t *v)
{
	static const struct output_field f[] = {
		{"Name:", "name", OUTPUT_STR, 0},
		{"Path:", "path", OUTPUT_STR, 0},
		{"Format:", "format", OUTPUT_STR, 0},
		{"Capacity:", "capacity", OUTPUT_SIZE, 0},
		{"Allocation:", "allocation", OUTPUT_SIZE, 0},
		{"Backing:", "backing", OUTPUT_STR, 1},
		{0}};
	output__fields(v, 12, f);
}

static void print_vol_path(json_t *v)
{
	puts(output__str(v, "path"));
}

/* /v1/pools/POOL/volumes[/VOL]SUFFIX */
static char *vol_path(const char *pool, const char *vol, const char *suffix)
{
	cleanup_free char *p = cli__escape(pool), *v = vol ? cli__escape(vol) : NULL;
	char *out;
	if (!p || (vol && !v) || asprintf(&out, "/v1/pools/%s/volumes%s%s%s", p, v ? "/" : "", v ? v : "", suffix) < 0)
		return NULL;
	return out;
}

/* The volume commands but vol-list and vol-create-as name VOL and --pool. */
static int need_pool(struct cli *c, const char **pool, struct st_err *err)
{
	*pool = cli__opt(c, "--pool");
	if (!*pool)
		return cli__usage_fail(err, "--pool POOL is required");
	return 0;
}

static int transfer(struct cli *c, bool upload, struct st_err *err)
{
	const char *pool;
	if (need_pool(c, &pool, err) < 0)
		return -1;
	const char *fmt = upload ? cli__opt(c, "--format") : NULL;
	cleanup_free char *esc = fmt ? cli__escape(fmt) : NULL, *query = NULL;
	if (fmt && (!esc || asprintf(&query, "/data?format=%s", esc) < 0))
		return err__fail(err, ENOMEM, "request");
	cleanup_free char *path = vol_path(pool, c->argv[0], query ? query : "/data");
	struct http_client_resp r = {0};
	int rc;
	bool progress = isatty(STDERR_FILENO) || getenv("STRATA_PROGRESS");
	if (upload) {
		cleanup_close int fd = open(c->argv[1], O_RDONLY | O_CLOEXEC);
		struct stat sb;
		if (fd < 0 || fstat(fd, &sb) < 0)
			return err__fail_errno(err, "%s", c->argv[1]);
		rc = http_client__transfer(&c->target, "PUT", path, fd, (uint64_t)sb.st_size, NULL, progress, &r, err);
	} else {
		cleanup_free char *info = vol_path(pool, c->argv[0], "");
		json_t *v;
		if (http_client__json(&c->target, "GET", info, NULL, &v, err) < 0)
			return -1;
		uint64_t size = (uint64_t)json_integer_value(json_object_get(v, "capacity"));
		json_decref(v);
		FILE *f = fopen(c->argv[1], "we");
		if (!f)
			return err__fail_errno(err, "%s", c->argv[1]);
		rc = http_client__transfer(&c->target, "GET", path, -1, size, f, progress, &r, err);
		if (fclose(f) != 0 && rc == 0)
			rc = err__fail_errno(err, "%s", c->argv[1]);
	}
	cleanup_free char *body = r.body;
	if (rc == 0 && r.status >= 300) {
		rc = cli__reply_fail(body, r.len, "transfer failed", err);
		if (!upload)
			unlink(c->argv[1]);
	}
	return rc;
}

static int cmd_upload(struct cli *c, struct st_err *err)
{
	return transfer(c, true, err);
}

static int cmd_download(struct cli *c, struct st_err *err)
{
	return transfer(c, false, err);
}

/* vol-list POOL, or virsh's vol-list --pool POOL */
static int cmd_vol_list(struct cli *c, struct st_err *err)
{
	const char *pool = cli__opt(c, "--pool");
	if ((pool != NULL) == (c->argc == 1)) {
		char usage[256];
		cli__usage_line(c->cmd, usage, sizeof(usage));
		return cli__usage_fail(err, "usage: %s", usage);
	}
	cleanup_free char *path = vol_path(pool ? pool : c->argv[0], NULL, "");
	return cli__call(c, "GET", path, NULL, print_vols, err);
}

static int cmd_vol_create_as(struct cli *c, struct st_err *err)
{
	const char *fmt = cli__opt(c, "--format");
	cleanup_free char *path = vol_path(c->argv[0], NULL, "");
	json_t *body = json_pack("{s:s, s:s, s:s}", "name", c->argv[1], "capacity", c->argv[2], "format",
				 fmt ? fmt : "raw");
	int rc = cli__call(c, "POST", path, body, NULL, err);
	json_decref(body);
	if (rc == 0 && !c->json)
		printf("Vol %s created\n", c->argv[1]);
	return rc;
}

/* vol-create-from POOL NAME --url URL --sha512 HEX: stratad fetches it;
 * with --cache, into its image cache, and the volume is a qcow2 overlay on it */
static int cmd_vol_create_from(struct cli *c, struct st_err *err)
{
	const char *url = cli__opt(c, "--url"), *sha = cli__opt(c, "--sha512"), *fmt = cli__opt(c, "--format");
	const char *cap = cli__opt(c, "--capacity");
	bool cache = cli__has(c, "--cache");
	if (!url || !sha)
		return cli__usage_fail(err, "--url URL and --sha512 HEX are required");
	if (cap && !cache)
		return cli__usage_fail(err, "--capacity goes with --cache (an overlay may be larger than its image)");
	cleanup_free char *path = vol_path(c->argv[0], NULL, "");
	/* a cached image's format is the image's (the volume is qcow2); a fetched volume's is the volume's */
	json_t *src = json_pack("{s:s, s:s}", "url", url, "sha512", sha);
	json_t *body = json_pack("{s:s, s:o}", "name", c->argv[1], cache ? "image" : "source", src);
	json_object_set_new(cache ? src : body, "format", json_string(fmt ? fmt : "raw"));
	if (cap)
		json_object_set_new(body, "capacity", json_string(cap));
	int rc = cli__call(c, "POST", path, body, NULL, err);
	json_decref(body);
	if (rc == 0 && !c->json)
		printf("Vol %s created from %s\n", c->argv[1], url);
	return rc;
}

/* vol-info, vol-path, vol-delete: one request on the volume */
static int cmd_vol(struct cli *c, struct st_err *err)
{
	const char *pool;
	if (need_pool(c, &pool, err) < 0)
		return -1;
	cleanup_free char *path = vol_path(pool, c->argv[0], c->cmd->suffix);
	if (cli__call(c, c->cmd->method, path, NULL, c->cmd->human, err) < 0)
		return -1;
	if (!strcmp(c->cmd->method, "DELETE") && !c->json)
		printf("Vol %s deleted\n", c->argv[0]);
	return 0;
}

static int cmd_vol_clone(struct cli *c, struct st_err *err)
{
	const char *pool;
	if (need_pool(c, &pool, err) < 0)
		return -1;
	cleanup_free char *path = vol_path(pool, c->argv[0], "/clone");
	json_t *body = json_pack("{s:s, s:s}", "name", c->argv[1], "mode", cli__has(c, "--overlay") ? "overlay" : "copy");
	int rc = cli__call(c, "POST", path, body, NULL, err);
	json_decref(body);
	if (rc == 0 && !c->json)
		printf("Vol %s cloned from %s\n", c->argv[1], c->argv[0]);
	return rc;
}

static int cmd_vol_resize(struct cli *c, struct st_err *err)
{
	const char *pool;
	if (need_pool(c, &pool, err) < 0)
		return -1;
	cleanup_free char *path = vol_path(pool, c->argv[0], "/resize");
	json_t *body = json_pack("{s:s, s:b}", "capacity", c->argv[1], "shrink", cli__has(c, "--shrink"));
	int rc = cli__call(c, "POST", path, body, NULL, err);
	json_decref(body);
	if (rc == 0 && !c->json)
		printf("Size of volume '%s' successfully changed to %s\n", c->argv[0], c->argv[1]);
	return rc;
}

static const struct cli_cmd cmds[] = {
	{.name = "vol-list", .run = cmd_vol_list, .args = "POOL | --pool POOL", .max_args = 1,
	 .help = "a pool's volumes", .opts = "--pool="},
	{.name = "vol-info", .run = cmd_vol, .args = "VOL --pool POOL", .min_args = 1, .max_args = 1,
	 .help = "a volume's path, format and sizes", .opts = "--pool=", .method = "GET", .suffix = "",
	 .human = print_vol},
	{.name = "vol-path", .run = cmd_vol, .args = "VOL --pool POOL", .min_args = 1, .max_args = 1,
	 .help = "a volume's path", .opts = "--pool=", .method = "GET", .suffix = "", .human = print_vol_path},
	{.name = "vol-create-as", .run = cmd_vol_create_as, .args = "POOL NAME CAPACITY [--format raw|qcow2]",
	 .min_args = 3, .max_args = 3, .help = "creates a volume", .opts = "--format="},
	{.name = "vol-create-from", .run = cmd_vol_create_from,
	 .args = "POOL NAME --url URL --sha512 HEX [--format raw|qcow2] [--cache [--capacity SIZE]]", .min_args = 2,
	 .max_args = 2,
	 .help = "creates a volume from an HTTP(S) URL, checked against its SHA-512; --cache: a qcow2 overlay on the "
		 "host's cached copy (fetched once)",
	 .opts = "--url= --sha512= --format= --cache --capacity="},
	{.name = "vol-delete", .run = cmd_vol, .args = "VOL --pool POOL", .min_args = 1, .max_args = 1,
	 .help = "deletes a volume", .opts = "--pool=", .method = "DELETE", .suffix = ""},
	{.name = "vol-clone", .run = cmd_vol_clone, .args = "VOL NEWNAME --pool POOL [--overlay]", .min_args = 2,
	 .max_args = 2, .help = "copies a volume, or makes a qcow2 overlay on it", .opts = "--pool= --overlay"},
	{.name = "vol-resize", .run = cmd_vol_resize, .args = "VOL CAPACITY --pool POOL [--shrink]", .min_args = 2,
	 .max_args = 2, .help = "changes a volume's capacity", .opts = "--pool= --shrink"},
	{.name = "vol-upload", .run = cmd_upload, .args = "VOL FILE --pool POOL [--format raw|qcow2]", .min_args = 2,
	 .max_args = 2, .help = "replaces a volume's content with a file's (raw unless --format says)",
	 .opts = "--pool= --format="},
	{.name = "vol-download", .run = cmd_download, .args = "VOL FILE --pool POOL", .min_args = 2, .max_args = 2,
	 .help = "reads a volume into a file", .opts = "--pool="},
};

const struct cli_group cmd_volume_group = {"Volumes", cmds, ST_ARRAY_SIZE(cmds)};
