/* spec [--bundle B] [--rootless]: write a default config.json (never over one). */
#include "ctr/ctr_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "ctr/config.h"

static int cmd_spec(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err)
{
	(void)g;
	static const struct option opts[] = {{"bundle", required_argument, NULL, 'b'},
					     {"rootless", no_argument, NULL, 'R'},
					     {NULL, 0, NULL, 0}};
	const char *bundle = ".";
	bool rootless = false;
	int c;
	while ((c = ctr_cmd__getopt(argc, argv, "b:", opts)) != -1) {
		if (c == 'b')
			bundle = optarg;
		else if (c == 'R')
			rootless = true;
		else
			return ctr_cmd__bad_option(argv, c, err);
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return err__fail_errno(err, "create %s", path);
	cleanup_free char *text = config__default_spec(rootless);
	if (!text)
		return err__fail(err, ENOMEM, "spec: out of memory");
	return util__write_all(fd, text, strlen(text), err);
}

const struct ctr_cmd ctr_cmd__spec = {"spec", cmd_spec};
