/* ps [--format table|json] ID: the processes in the container's cgroup. */
#include "ctr/ctr_cmd.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "ctr/container.h"

/* /proc/PID/cmdline with its NULs as spaces (empty when gone). */
static void cmdline(pid_t pid, char *out, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t len = fd >= 0 ? read(fd, out, size - 1) : 0;
	for (ssize_t j = 0; j < len - 1; j++)
		if (!out[j])
			out[j] = ' ';
	out[len > 0 ? len : 0] = 0;
}

static int cmd_ps(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err)
{
	int json = ctr_cmd__format_json(argc, argv, NULL, err);
	if (json < 0)
		return json;
	if (ctr_cmd__need_id(argc, argv, err) < 0)
		return -1;
	cleanup_free pid_t *pids = NULL;
	size_t n = 0;
	if (container__pids(g->root, argv[optind], &pids, &n, err) < 0)
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
		char cmd[4096];
		cmdline(pids[i], cmd, sizeof(cmd));
		printf("%-8d %s\n", pids[i], cmd);
	}
	return 0;
}

const struct ctr_cmd ctr_cmd__ps = {"ps", cmd_ps};
