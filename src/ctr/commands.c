/* list, ps, update, spec, features. */
#include "ctr/cgroup.h"
#include "ctr/config.h"
#include "ctr/container.h"
#include "ctr/ctr_cmd.h"
#include "ctr/state.h"
#include "common/cleanup.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int want_json(int argc, char **argv, bool *quiet, struct st_err *err)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
					     {"quiet", no_argument, NULL, 'q'},
					     {NULL, 0, NULL, 0}};
	int c;
	bool json = false;
	while ((c = getopt_long(argc, argv, "+f:q", opts, NULL)) != -1) {
		if (c == 'f' && (!strcmp(optarg, "json") || !strcmp(optarg, "table")))
			json = !strcmp(optarg, "json");
		else if (c == 'q' && quiet)
			*quiet = true;
		else
			return err__fail(err, 0, "%s: bad option (--format table|json)", argv[0]);
	}
	return json;
}

int ctr_cmd__list(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err)
{
	bool quiet = false;
	int json = want_json(argc, argv, &quiet, err);
	if (json < 0)
		return -1;
	cleanup_dir DIR *d = opendir(g->root);
	json_t *arr = json_array();
	if (!quiet && !json)
		printf("%-20s %-8s %-10s %-40s %-31s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
	for (struct dirent *e; d && (e = readdir(d));) {
		json_t *state;
		const char *status;
		if (e->d_name[0] == '.' || container__load(g->root, e->d_name, &state, &status, NULL) < 0)
			continue;
		json_t *oci = state__oci(state, status);
		char dir[4096], owner[32] = "?";
		struct stat st;
		state__path(g->root, e->d_name, NULL, dir, sizeof(dir));
		if (stat(dir, &st) == 0) {
			struct passwd *pw = getpwuid(st.st_uid);
			snprintf(owner, sizeof(owner), "%s", pw ? pw->pw_name : "");
			if (!pw)
				snprintf(owner, sizeof(owner), "%u", st.st_uid);
		}
		json_object_set_new(oci, "owner", json_string(owner));
		if (quiet)
			puts(e->d_name);
		else if (!json)
			printf("%-20s %-8d %-10s %-40s %-31s %s\n", e->d_name,
			       (int)json_integer_value(json_object_get(oci, "pid")), status,
			       json_string_value(json_object_get(oci, "bundle")),
			       json_string_value(json_object_get(oci, "created")), owner);
		json_array_append_new(arr, oci);
		json_decref(state);
	}
	if (json && !quiet) {
		char *s = json_dumps(arr, JSON_INDENT(2));
		puts(s);
		free(s);
	}
	json_decref(arr);
	return 0;
}

static int load_cg(const struct ctr_cmd_global *g, const char *id, bool need_running, struct ctr_cgroup *cg,
		   struct st_err *err)
{
	json_t *state;
	const char *status;
	if (container__load(g->root, id, &state, &status, err) < 0)
		return -1;
	int r = 0;
	if (need_running && !strcmp(status, "stopped"))
		r = err__fail(err, 0, "container '%s' is not running", id);
	else
		r = cgroup__from_json(json_object_get(state, "cgroup"), cg, err);
	json_decref(state);
	return r;
}

int ctr_cmd__ps(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err)
{
	int json = want_json(argc, argv, NULL, err);
	if (json < 0 || ctr_cmd__need_id(argc, argv, err) < 0)
		return -1;
	struct ctr_cgroup cg;
	cleanup_free pid_t *pids = NULL;
	size_t n = 0;
	if (load_cg(g, argv[optind], true, &cg, err) < 0)
		return -1;
	int r = cgroup__pids(&cg, &pids, &n, err);
	cgroup__free(&cg);
	if (r < 0)
		return -1;
	if (json) {
		printf("[");
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", pids[i]);
		printf("]\n");
		return 0;
	}
	printf("%-8s %s\n", "PID", "CMD");
	for (size_t i = 0; i < n; i++) {
		char path[64], cmd[4096] = "";
		snprintf(path, sizeof(path), "/proc/%d/cmdline", pids[i]);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t len = fd >= 0 ? read(fd, cmd, sizeof(cmd) - 1) : 0;
		if (fd >= 0)
			close(fd);
		for (ssize_t j = 0; j < len - 1; j++)
			if (!cmd[j])
				cmd[j] = ' ';
		cmd[len > 0 ? len : 0] = 0;
		printf("%-8d %s\n", pids[i], cmd);
	}
	return 0;
}

int ctr_cmd__update(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err)
{
	static const struct option opts[] = {
		{"resources", required_argument, NULL, 'r'}, {"memory", required_argument, NULL, 'm'},
		{"memory-swap", required_argument, NULL, 's'}, {"pids-limit", required_argument, NULL, 'p'},
		{"cpu-quota", required_argument, NULL, 'q'}, {"cpu-period", required_argument, NULL, 'P'},
		{"cpu-share", required_argument, NULL, 'S'}, {"cpuset-cpus", required_argument, NULL, 'c'},
		{"cpuset-mems", required_argument, NULL, 'M'}, {"blkio-weight", required_argument, NULL, 'b'},
		{"memory-reservation", required_argument, NULL, 'R'}, {NULL, 0, NULL, 0}};
	struct ctr_config *cfg = config__new_empty();
	struct ctr_resources *res = &cfg->res;
	const char *file = NULL;
	int c, r = -1;
	uint64_t v;
	struct ctr_cgroup cg = {0};
	while ((c = getopt_long(argc, argv, "+r:", opts, NULL)) != -1) {
		if (c == 'r') {
			file = optarg;
			continue;
		}
		if (c == 'c' || c == 'M') {
			*(c == 'c' ? &res->cpus : &res->mems) = optarg;
			res->set |= c == 'c' ? RES_CPUS : RES_MEMS;
			continue;
		}
		if (c == '?')
			goto out;
		bool neg = !strcmp(optarg, "-1");
		if (!neg && util__parse_size(optarg, 1, &v, err) < 0) {
			err__prefix(err, "update --%s", opts[0].name);
			goto out;
		}
		int64_t sv = neg ? -1 : (int64_t)v;
		switch (c) {
		case 'm': res->mem_limit = sv; res->set |= RES_MEM_LIMIT; break;
		case 's': res->mem_swap = sv; res->set |= RES_MEM_SWAP; break;
		case 'R': res->mem_reservation = sv; res->set |= RES_MEM_RESERVATION; break;
		case 'p': res->pids_limit = sv; res->set |= RES_PIDS; break;
		case 'q': res->cpu_quota = sv; res->set |= RES_CPU_QUOTA; break;
		case 'P': res->cpu_period = v; res->set |= RES_CPU_PERIOD; break;
		case 'S': res->cpu_shares = v; res->set |= RES_CPU_SHARES; break;
		case 'b': res->blkio_weight = v; res->set |= RES_BLKIO_WEIGHT; break;
		}
	}
	if (ctr_cmd__need_id(argc, argv, err) < 0)
		goto out;
	if (file) {
		json_error_t jerr;
		cfg->json = !strcmp(file, "-") ? json_loadf(stdin, 0, &jerr) : json_load_file(file, 0, &jerr);
		if (!json_is_object(cfg->json)) {
			err__fail(err, 0, "%s: not a JSON object: %s", file, jerr.text);
			goto out;
		}
		if (config__parse_resources(cfg, cfg->json, err) < 0)
			goto out;
	}
	if (load_cg(g, argv[optind], true, &cg, err) < 0)
		goto out;
	r = cgroup__apply(&cg, res, err);
out:
	cgroup__free(&cg);
	config__free(cfg);
	return r;
}

/* runc's rootless defaults: a user namespace mapping our ids, no network
 * namespace (so /sys is bound, not mounted), no gid=5 on devpts, no limits. */
static json_t *rootless_spec(json_t *spec)
{
	json_t *lin = json_object_get(spec, "linux"), *ns = json_object_get(lin, "namespaces"), *m;
	size_t i;
	for (i = json_array_size(ns); i-- > 0;)
		if (!strcmp(json_string_value(json_object_get(json_array_get(ns, i), "type")), "network"))
			json_array_remove(ns, i);
	json_array_append_new(ns, json_pack("{s:s}", "type", "user"));
	json_object_set_new(lin, "uidMappings", json_pack("[{s:i, s:i, s:i}]", "containerID", 0, "hostID",
							  (int)geteuid(), "size", 1));
	json_object_set_new(lin, "gidMappings", json_pack("[{s:i, s:i, s:i}]", "containerID", 0, "hostID",
							  (int)getegid(), "size", 1));
	json_object_del(lin, "resources");
	json_array_foreach(json_object_get(spec, "mounts"), i, m) {
		const char *dest = json_string_value(json_object_get(m, "destination"));
		json_t *opts = json_object_get(m, "options");
		if (!strcmp(dest, "/sys")) {
			json_object_set_new(m, "type", json_string("none"));
			json_object_set_new(m, "source", json_string("/sys"));
			json_object_set_new(m, "options", json_pack("[s,s,s,s,s]", "rbind", "nosuid", "noexec", "nodev", "ro"));
		}
		for (size_t j = json_array_size(opts); j-- > 0;)
			if (!strcmp(json_string_value(json_array_get(opts, j)), "gid=5"))
				json_array_remove(opts, j);
	}
	return spec;
}

int ctr_cmd__spec(int argc, char **argv, struct st_err *err)
{
	static const struct option opts[] = {{"bundle", required_argument, NULL, 'b'},
					     {"rootless", no_argument, NULL, 'R'},
					     {NULL, 0, NULL, 0}};
	const char *bundle = ".";
	bool rootless = false;
	int c;
	while ((c = getopt_long(argc, argv, "+b:", opts, NULL)) != -1) {
		if (c == 'b')
			bundle = optarg;
		else if (c == 'R')
			rootless = true;
		else
			return err__fail(err, 0, "spec: unknown option");
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return err__fail_errno(err, "create %s", path);
	int r;
	if (rootless) {
		json_t *spec = rootless_spec(json_loads(ctr_cmd__default_spec, 0, NULL));
		char *text = json_dumps(spec, JSON_INDENT(2));
		r = util__write_all(fd, text, strlen(text), err);
		free(text);
		json_decref(spec);
	} else {
		r = util__write_all(fd, ctr_cmd__default_spec, strlen(ctr_cmd__default_spec), err);
	}
	close(fd);
	return r;
}

int ctr_cmd__features(struct st_err *err)
{
	(void)err;
	puts("{\n"
	     "  \"ociVersionMin\": \"1.0.0\",\n"
	     "  \"ociVersionMax\": \"1.1.0\",\n"
	     "  \"hooks\": [\"prestart\", \"createRuntime\", \"createContainer\", \"startContainer\", "
	     "\"poststart\", \"poststop\"],\n"
	     "  \"mountOptions\": [\"ro\", \"rw\", \"nosuid\", \"suid\", \"nodev\", \"dev\", \"noexec\", "
	     "\"exec\", \"bind\", \"rbind\", \"private\", \"rprivate\", \"shared\", \"rshared\", "
	     "\"slave\", \"rslave\", \"relatime\", \"noatime\", \"strictatime\"],\n"
	     "  \"linux\": {\n"
	     "    \"namespaces\": [\"cgroup\", \"ipc\", \"mount\", \"network\", \"pid\", \"user\", \"uts\"],\n"
	     "    \"cgroup\": {\"v1\": true, \"v2\": true, \"systemd\": false},\n"
	     "    \"seccomp\": {\"enabled\": true}\n"
	     "  }\n"
	     "}");
	return 0;
}
