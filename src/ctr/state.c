#include "ctr/state.h"
#include "ctr/cgroup.h"
#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int state__check_id(const char *id, struct st_err *err)
{
	size_t len = strlen(id);
	if (!len || len > 1024)
		return err__fail(err, 0, "invalid container id '%s': empty or too long", id);
	if (!strcmp(id, ".") || !strcmp(id, ".."))
		return err__fail(err, 0, "invalid container id '%s'", id);
	for (const char *p = id; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9') &&
		    !strchr("_+-.", *p))
			return err__fail(err, 0, "invalid container id '%s': only letters, digits and _+-. are allowed",
				       id);
	return 0;
}

void state__path(const char *root, const char *id, const char *file, char *out, size_t size)
{
	snprintf(out, size, "%s/%s%s%s", root, id, file ? "/" : "", file ? file : "");
}

int state__create_dir(const char *root, const char *id, struct st_err *err)
{
	char path[4096];
	if (state__check_id(id, err) < 0)
		return -1;
	if (mkdir(root, 0711) < 0 && errno != EEXIST) {
		/* --root may name a directory whose parents are missing. */
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s", root);
		for (char *p = tmp + 1; (p = strchr(p, '/')); p++) {
			*p = 0;
			mkdir(tmp, 0755);
			*p = '/';
		}
		if (mkdir(root, 0711) < 0 && errno != EEXIST)
			return err__fail_errno(err, "create state root %s", root);
	}
	state__path(root, id, NULL, path, sizeof(path));
	if (mkdir(path, 0711) < 0) {
		if (errno == EEXIST)
			return err__fail(err, 0, "container '%s' already exists", id);
		return err__fail_errno(err, "create %s", path);
	}
	return 0;
}

void state__remove_dir(const char *root, const char *id)
{
	char path[4096];
	static const char *const files[] = {"state.json", "exec.fifo", "state.json.tmp"};
	for (size_t i = 0; i < ST_ARRAY_SIZE(files); i++) {
		state__path(root, id, files[i], path, sizeof(path));
		unlink(path);
	}
	state__path(root, id, NULL, path, sizeof(path));
	rmdir(path);
}

int state__write(const char *root, const char *id, json_t *state, struct st_err *err)
{
	char tmp[4096], path[4096];
	state__path(root, id, "state.json.tmp", tmp, sizeof(tmp));
	state__path(root, id, "state.json", path, sizeof(path));
	if (json_dump_file(state, tmp, JSON_COMPACT) < 0)
		return err__fail(err, errno, "write %s", tmp);
	if (rename(tmp, path) < 0)
		return err__fail_errno(err, "rename %s", tmp);
	return 0;
}

int state__load(const char *root, const char *id, json_t **out, struct st_err *err)
{
	char path[4096];
	json_error_t jerr;
	if (state__check_id(id, err) < 0)
		return -1;
	state__path(root, id, "state.json", path, sizeof(path));
	if (access(path, F_OK) < 0)
		return err__fail(err, 0, "container '%s' does not exist", id);
	*out = json_load_file(path, 0, &jerr);
	json_t *s = *out;
	if (!json_is_object(s) || !json_is_string(json_object_get(s, "id")) ||
	    !json_is_integer(json_object_get(s, "pid")) || !json_is_string(json_object_get(s, "bundle")) ||
	    !json_is_string(json_object_get(s, "rootfs")) || !json_is_string(json_object_get(s, "created"))) {
		json_decref(s);
		*out = NULL;
		return err__fail(err, 0, "%s is corrupt%s%s", path, s ? "" : ": ", s ? "" : jerr.text);
	}
	return 0;
}

unsigned long long state__proc_starttime(pid_t pid)
{
	return util__proc_starttime(pid);
}

bool state__alive(json_t *state)
{
	pid_t pid = (pid_t)json_integer_value(json_object_get(state, "pid"));
	unsigned long long want = json_integer_value(json_object_get(state, "starttime"));
	return pid > 0 && state__proc_starttime(pid) == want && want;
}

const char *state__status(const char *root, json_t *state)
{
	if (!state__alive(state))
		return "stopped";
	char path[4096];
	const char *id = json_string_value(json_object_get(state, "id"));
	state__path(root, id ? id : "", "exec.fifo", path, sizeof(path));
	if (access(path, F_OK) == 0)
		return "created";
	struct ctr_cgroup cg;
	json_t *cgj = json_object_get(state, "cgroup");
	if (cgj && cgroup__from_json(cgj, &cg, NULL) == 0) {
		int frozen = cgroup__is_frozen(&cg);
		cgroup__free(&cg);
		if (frozen)
			return "paused";
	}
	return "running";
}

json_t *state__oci(json_t *state, const char *status)
{
	bool live = strcmp(status, "stopped") != 0;
	json_t *o = json_pack("{s:s, s:O, s:s, s:i, s:O, s:O, s:O, s:s}", "ociVersion", "1.0.2", "id",
			      json_object_get(state, "id"), "status", status, "pid",
			      live ? (int)json_integer_value(json_object_get(state, "pid")) : 0, "bundle",
			      json_object_get(state, "bundle"), "rootfs", json_object_get(state, "rootfs"),
			      "created", json_object_get(state, "created"), "owner", "");
	json_t *ann = json_object_get(state, "annotations");
	if (ann && json_object_size(ann))
		json_object_set(o, "annotations", ann);
	return o;
}

char *state__oci_string(const char *id, const char *status, pid_t pid, const char *bundle,
			json_t *annotations)
{
	cleanup_json json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s}", "ociVersion", "1.0.2", "id", id,
					   "status", status, "pid", (int)pid, "bundle", bundle);
	if (annotations && json_object_size(annotations))
		json_object_set(o, "annotations", annotations);
	return json_dumps(o, JSON_COMPACT);
}
