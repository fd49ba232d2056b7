/* list [-q] [--format table|json]: every container under --root. */
#include "ctr/ctr_cmd.h"

#include <dirent.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "ctr/container.h"
#include "ctr/state.h"

/* The owner of the container's state directory, by name when it has one. */
static void owner_of(const char *root, const char *id, char *owner, size_t size)
{
	char dir[4096];
	struct stat st;
	snprintf(owner, size, "?");
	state__path(root, id, NULL, dir, sizeof(dir));
	if (stat(dir, &st) < 0)
		return;
	struct passwd *pw = getpwuid(st.st_uid);
	if (pw)
		snprintf(owner, size, "%s", pw->pw_name);
	else
		snprintf(owner, size, "%u", st.st_uid);
}

static int cmd_list(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err)
{
	bool quiet = false;
	int json = ctr_cmd__format_json(argc, argv, &quiet, err);
	if (json < 0)
		return json;
	cleanup_dir DIR *d = opendir(g->root);
	cleanup_json json_t *arr = json_array();
	if (!quiet && !json)
		printf("%-20s %-8s %-10s %-40s %-31s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
	for (struct dirent *e; d && (e = readdir(d));) {
		cleanup_json json_t *state = NULL;
		const char *status;
		if (e->d_name[0] == '.' || container__load(g->root, e->d_name, &state, &status, NULL) < 0)
			continue;
		json_t *oci = state__oci(state, status);
		char owner[32];
		owner_of(g->root, e->d_name, owner, sizeof(owner));
		json_object_set_new(oci, "owner", json_string(owner));
		if (quiet)
			puts(e->d_name);
		else if (!json)
			printf("%-20s %-8d %-10s %-40s %-31s %s\n", e->d_name,
			       (int)json_integer_value(json_object_get(oci, "pid")), status,
			       json_string_value(json_object_get(oci, "bundle")),
			       json_string_value(json_object_get(oci, "created")), owner);
		json_array_append_new(arr, oci);
	}
	if (json && !quiet) {
		char *s = json_dumps(arr, JSON_INDENT(2));
		puts(s);
		free(s);
	}
	return 0;
}

const struct ctr_cmd ctr_cmd__list = {"list", cmd_list};
