#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *str(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

static void print_pools(json_t *r)
{
	json_t *rows = json_array();
	size_t i;
	json_t *p;
	json_array_foreach(r, i, p) {
		char cap[32], avail[32], vols[16];
		snprintf(vols, sizeof(vols), "%lld", (long long)json_integer_value(json_object_get(p, "volumes")));
		json_array_append_new(rows, json_pack("[s, s, s, s, s, s]", str(p, "name"), str(p, "state"), str(p, "path"),
			vols, cli__size(json_integer_value(json_object_get(p, "capacity")), cap, sizeof(cap)),
			cli__size(json_integer_value(json_object_get(p, "available")), avail, sizeof(avail))));
	}
	static const char *const h[] = {"Name", "State", "Path", "Volumes", "Capacity", "Available", NULL};
	cli__table(h, rows);
	json_decref(rows);
}

static void print_pool(json_t *p)
{
	char b[32];
	printf("%-14s %s\n%-14s %s\n%-14s %s\n", "Name:", str(p, "name"), "State:", str(p, "state"), "Path:",
	       str(p, "path"));
	printf("%-14s %s\n", "Capacity:", cli__size(json_integer_value(json_object_get(p, "capacity")), b, sizeof(b)));
	printf("%-14s %s\n", "Allocation:", cli__size(json_integer_value(json_object_get(p, "allocation")), b, sizeof(b)));
	printf("%-14s %s\n", "Available:", cli__size(json_integer_value(json_object_get(p, "available")), b, sizeof(b)));
	printf("%-14s %lld\n", "Volumes:", (long long)json_integer_value(json_object_get(p, "volumes")));
}

static void print_vols(json_t *r)
{
	json_t *rows = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(r, i, v) {
		char cap[32], alloc[32];
		json_array_append_new(rows, json_pack("[s, s, s, s, s]", str(v, "name"), str(v, "format"),
			cli__size(json_integer_value(json_object_get(v, "capacity")), cap, sizeof(cap)),
			cli__size(json_integer_value(json_object_get(v, "allocation")), alloc, sizeof(alloc)), str(v, "path")));
	}
	static const char *const h[] = {"Name", "Format", "Capacity", "Allocation", "Path", NULL};
	cli__table(h, rows);
	json_decref(rows);
}

static void print_vol(json_t *v)
{
	char b[32];
	printf("%-12s %s\n%-12s %s\n%-12s %s\n", "Name:", str(v, "name"), "Path:", str(v, "path"), "Format:",
	       str(v, "format"));
	printf("%-12s %s\n", "Capacity:", cli__size(json_integer_value(json_object_get(v, "capacity")), b, sizeof(b)));
	printf("%-12s %s\n", "Allocation:", cli__size(json_integer_value(json_object_get(v, "allocation")), b, sizeof(b)));
	if (json_object_get(v, "backing"))
		printf("%-12s %s\n", "Backing:", str(v, "backing"));
}

static void print_vol_path(json_t *v)
{
	puts(str(v, "path"));
}

static void print_ok(json_t *r)
{
	(void)r;
}

static char *vol_path(const char *pool, const char *vol, const char *suffix)
{
	cleanup_free char *p = cli__escape(pool), *v = vol ? cli__escape(vol) : NULL;
	char *out;
	if (asprintf(&out, "/v1/pools/%s/volumes%s%s%s", p, v ? "/" : "", v ? v : "", suffix) < 0)
		return NULL;
	return out;
}

static int read_json_file(const char *file, json_t **out, struct st_err *err)
{
	json_error_t jerr;
	*out = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
	if (!*out)
		return st_fail(err, 0, "%s: line %d: %s", file, jerr.line, jerr.text);
	return 0;
}

static int transfer(struct cli *c, bool upload, struct st_err *err)
{
	const char *pool = cli__flag(c, "--pool", true);
	if (cli__positionals(c, 2, 2, upload ? "strata vol-upload VOL FILE --pool POOL"
					       : "strata vol-download VOL FILE --pool POOL", err) < 0)
		return -1;
	if (!pool)
		return cli__usage_fail(err, "--pool POOL is required");
	cleanup_free char *path = vol_path(pool, c->argv[0], "/data");
	struct http_resp r = {0};
	int rc;
	bool progress = isatty(STDERR_FILENO) || getenv("STRATA_PROGRESS");
	if (upload) {
		cleanup_close int fd = open(c->argv[1], O_RDONLY | O_CLOEXEC);
		struct stat sb;
		if (fd < 0 || fstat(fd, &sb) < 0)
			return st_fail_errno(err, "%s", c->argv[1]);
		rc = http__transfer(&c->target, "PUT", path, fd, (uint64_t)sb.st_size, NULL, progress, &r, err);
	} else {
		cleanup_free char *info = vol_path(pool, c->argv[0], "");
		json_t *v;
		if (http__json(&c->target, "GET", info, NULL, &v, err) < 0)
			return -1;
		uint64_t size = (uint64_t)json_integer_value(json_object_get(v, "capacity"));
		json_decref(v);
		FILE *f = fopen(c->argv[1], "we");
		if (!f)
			return st_fail_errno(err, "%s", c->argv[1]);
		rc = http__transfer(&c->target, "GET", path, -1, size, f, progress, &r, err);
		if (fclose(f) != 0 && rc == 0)
			rc = st_fail_errno(err, "%s", c->argv[1]);
	}
	if (rc == 0 && r.status >= 300) {
		json_t *j = json_loadb(r.body, r.len, 0, NULL);
		const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
		rc = st_fail(err, 0, "%s", msg ? msg : "transfer failed");
		json_decref(j);
		if (!upload)
			unlink(c->argv[1]);
	}
	free(r.body);
	return rc;
}

int cli__storage_command(struct cli *c, const char *cmd, struct st_err *err)
{
	if (!strcmp(cmd, "pool-list")) {
		if (cli__positionals(c, 0, 0, "strata pool-list", err) < 0)
			return -1;
		return cli__call(c, "GET", "/v1/pools", NULL, print_pools, err);
	}
	if (!strcmp(cmd, "pool-define-as") || !strcmp(cmd, "pool-create-as")) {
		if (cli__positionals(c, 3, 3, "strata pool-define-as NAME dir PATH | NAME logical VG", err) < 0)
			return -1;
		/* the third argument of a logical pool is its volume group */
		json_t *body = json_pack("{s:s, s:s, s:s}", "name", c->argv[0], "type", c->argv[1],
					 strcmp(c->argv[1], "logical") ? "path" : "vg", c->argv[2]);
		int rc = cli__call(c, "POST", "/v1/pools", body, print_ok, err);
		json_decref(body);
		if (rc == 0 && !c->json)
			printf("Pool %s defined\n", c->argv[0]);
		return rc;
	}
	if (!strcmp(cmd, "pool-define")) {
		json_t *body;
		if (cli__positionals(c, 1, 1, "strata pool-define FILE", err) < 0 || read_json_file(c->argv[0], &body, err) < 0)
			return -1;
		int rc = cli__call(c, "POST", "/v1/pools", body, print_pool, err);
		json_decref(body);
		return rc;
	}
	if (!strcmp(cmd, "pool-info") || !strcmp(cmd, "pool-undefine") || !strcmp(cmd, "vol-list")) {
		char usage[64];
		snprintf(usage, sizeof(usage), "strata %s POOL", cmd);
		if (cli__positionals(c, 1, 1, usage, err) < 0)
			return -1;
		cleanup_free char *p = cli__escape(c->argv[0]), *path = NULL;
		if (asprintf(&path, "/v1/pools/%s%s", p, !strcmp(cmd, "vol-list") ? "/volumes" : "") < 0)
			return st_fail(err, ENOMEM, "path");
		if (!strcmp(cmd, "pool-info"))
			return cli__call(c, "GET", path, NULL, print_pool, err);
		if (!strcmp(cmd, "vol-list"))
			return cli__call(c, "GET", path, NULL, print_vols, err);
		int rc = cli__call(c, "DELETE", path, NULL, print_ok, err);
		if (rc == 0 && !c->json)
			printf("Pool %s has been undefined\n", c->argv[0]);
		return rc;
	}
	if (!strcmp(cmd, "vol-create-as")) {
		const char *fmt = cli__flag(c, "--format", true);
		if (cli__positionals(c, 3, 3, "strata vol-create-as POOL NAME CAPACITY [--format raw|qcow2]", err) < 0)
			return -1;
		cleanup_free char *path = vol_path(c->argv[0], NULL, "");
		json_t *body = json_pack("{s:s, s:s, s:s}", "name", c->argv[1], "capacity", c->argv[2], "format",
					 fmt ? fmt : "raw");
		int rc = cli__call(c, "POST", path, body, print_ok, err);
		json_decref(body);
		if (rc == 0 && !c->json)
			printf("Vol %s created\n", c->argv[1]);
		return rc;
	}
	if (!strcmp(cmd, "vol-upload") || !strcmp(cmd, "vol-download"))
		return transfer(c, !strcmp(cmd, "vol-upload"), err);
	/* the rest name a volume and its --pool */
	const char *pool = cli__flag(c, "--pool", true);
	bool overlay = cli__flag(c, "--overlay", false) != NULL, shrink = cli__flag(c, "--shrink", false) != NULL;
	const char *second = !strcmp(cmd, "vol-clone") ? " NEWNAME" : !strcmp(cmd, "vol-resize") ? " CAPACITY" : "";
	int want = *second ? 2 : 1;
	char usage[96];
	snprintf(usage, sizeof(usage), "strata %.20s VOL%s --pool POOL", cmd, second);
	if (strcmp(cmd, "vol-info") && strcmp(cmd, "vol-path") && strcmp(cmd, "vol-delete") && strcmp(cmd, "vol-clone") &&
	    strcmp(cmd, "vol-resize"))
		return cli__usage_fail(err, "unknown command '%s' (see strata --help)", cmd);
	if (cli__positionals(c, want, want, usage, err) < 0)
		return -1;
	if (!pool)
		return cli__usage_fail(err, "--pool POOL is required");
	if (!strcmp(cmd, "vol-info") || !strcmp(cmd, "vol-path")) {
		cleanup_free char *path = vol_path(pool, c->argv[0], "");
		return cli__call(c, "GET", path, NULL, !strcmp(cmd, "vol-info") ? print_vol : print_vol_path, err);
	}
	if (!strcmp(cmd, "vol-delete")) {
		cleanup_free char *path = vol_path(pool, c->argv[0], "");
		int rc = cli__call(c, "DELETE", path, NULL, print_ok, err);
		if (rc == 0 && !c->json)
			printf("Vol %s deleted\n", c->argv[0]);
		return rc;
	}
	bool clone = !strcmp(cmd, "vol-clone");
	cleanup_free char *path = vol_path(pool, c->argv[0], clone ? "/clone" : "/resize");
	json_t *body = clone ? json_pack("{s:s, s:s}", "name", c->argv[1], "mode", overlay ? "overlay" : "copy")
			     : json_pack("{s:s, s:b}", "capacity", c->argv[1], "shrink", shrink);
	int rc = cli__call(c, "POST", path, body, print_ok, err);
	json_decref(body);
	if (rc == 0 && !c->json)
		printf(clone ? "Vol %s cloned from %s\n" : "Size of volume '%2$s' successfully changed to %1$s\n",
		       c->argv[1], c->argv[0]);
	return rc;
}

static void print_nets(json_t *r)
{
	json_t *rows = json_array();
	size_t i;
	json_t *n;
	json_array_foreach(r, i, n)
		json_array_append_new(rows, json_pack("[s, s, s, s, s]", str(n, "name"), str(n, "mode"), str(n, "bridge"),
			json_is_true(json_object_get(n, "active")) ? "active" : "inactive",
			json_integer_value(json_object_get(n, "autostart")) || json_is_true(json_object_get(n, "autostart"))
				? "yes" : "no"));
	static const char *const h[] = {"Name", "Mode", "Bridge", "State", "Autostart", NULL};
	cli__table(h, rows);
	json_decref(rows);
}

static void print_net(json_t *n)
{
	printf("%-12s %s\n%-12s %s\n%-12s %s\n%-12s %s\n%-12s %s\n", "Name:", str(n, "name"), "Mode:", str(n, "mode"),
	       "Bridge:", str(n, "bridge"), "Address:", str(n, "ip"), "Active:",
	       json_is_true(json_object_get(n, "active")) ? "yes" : "no");
}

static void print_leases(json_t *r)
{
	json_t *rows = json_array();
	size_t i;
	json_t *l;
	json_array_foreach(r, i, l) {
		/* dnsmasq writes the expiry as seconds since the epoch, 0 for never */
		char exp[32] = "never";
		time_t t = (time_t)json_integer_value(json_object_get(l, "expiry"));
		struct tm tm;
		if (t && localtime_r(&t, &tm))
			strftime(exp, sizeof(exp), "%Y-%m-%d %H:%M:%S", &tm);
		json_array_append_new(rows, json_pack("[s, s, s, s]", exp, str(l, "mac"), str(l, "ip"), str(l, "hostname")));
	}
	static const char *const h[] = {"Expiry", "MAC address", "IP address", "Hostname", NULL};
	cli__table(h, rows);
	json_decref(rows);
}

int cli__network_command(struct cli *c, const char *cmd, struct st_err *err)
{
	if (!strcmp(cmd, "net-list")) {
		if (cli__positionals(c, 0, 0, "strata net-list", err) < 0)
			return -1;
		return cli__call(c, "GET", "/v1/networks", NULL, print_nets, err);
	}
	if (!strcmp(cmd, "net-define")) {
		json_t *body;
		if (cli__positionals(c, 1, 1, "strata net-define FILE", err) < 0 || read_json_file(c->argv[0], &body, err) < 0)
			return -1;
		int rc = cli__call(c, "POST", "/v1/networks", body, print_net, err);
		json_decref(body);
		return rc;
	}
	static const struct {
		const char *cmd, *method, *suffix;
		void (*human)(json_t *);
	} simple[] = {
		{"net-info", "GET", "", print_net},           {"net-undefine", "DELETE", "", print_ok},
		{"net-start", "POST", "/start", print_net},   {"net-destroy", "POST", "/stop", print_net},
		{"net-dhcp-leases", "GET", "/leases", print_leases},
	};
	bool disable = cli__flag(c, "--disable", false) != NULL;
	for (size_t i = 0; i < ST_ARRAY_SIZE(simple) + 1; i++) {
		bool autostart = i == ST_ARRAY_SIZE(simple);
		if (strcmp(cmd, autostart ? "net-autostart" : simple[i].cmd))
			continue;
		char usage[64];
		snprintf(usage, sizeof(usage), "strata %s NET", cmd);
		if (cli__positionals(c, 1, 1, usage, err) < 0)
			return -1;
		cleanup_free char *n = cli__escape(c->argv[0]), *path = NULL;
		if (asprintf(&path, "/v1/networks/%s%s", n, autostart ? "/autostart" : simple[i].suffix) < 0)
			return st_fail(err, ENOMEM, "path");
		if (!autostart)
			return cli__call(c, simple[i].method, path, NULL, simple[i].human, err);
		json_t *body = json_pack("{s:b}", "autostart", !disable);
		int rc = cli__call(c, "PUT", path, body, print_net, err);
		json_decref(body);
		return rc;
	}
	return cli__usage_fail(err, "unknown command '%s' (see strata --help)", cmd);
}
