/* strata's commands that change a domain's definition or resources, as
 * virsh's: edit (with $VISUAL or $EDITOR), setmem, setvcpus, create. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"

/* A raw request's body, or the API's error as err. */
static int request(struct cli *c, const char *method, const char *path, const char *ctype, const char *body,
		   size_t len, char **out, size_t *out_len, struct st_err *err)
{
	struct http_client_resp r = {0};
	if (http_client__request(&c->target, method, path, ctype, body, len, &r, err) < 0)
		return -1;
	if (r.status >= 300) {
		cli__reply_fail(r.body, r.len, method, err);
		free(r.body);
		return -1;
	}
	*out = r.body;
	if (out_len)
		*out_len = r.len;
	return 0;
}

/* Runs the user's editor on file and waits for it. */
static int run_editor(const char *file, struct st_err *err)
{
	const char *editor = getenv("VISUAL");
	if (!editor || !*editor)
		editor = getenv("EDITOR");
	if (!editor || !*editor)
		editor = "vi";
	cleanup_free char *script = NULL;
	/* through the shell, as virsh does: EDITOR may carry its own options */
	if (asprintf(&script, "%s \"$1\"", editor) < 0)
		return err__fail(err, ENOMEM, "edit");
	pid_t pid = fork();
	if (pid < 0)
		return err__fail_errno(err, "fork");
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", script, "sh", file, (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return err__fail_errno(err, "waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return err__fail(err, 0, "the editor (%s) failed: nothing changed", editor);
	return 0;
}

/* Asks on a terminal whether to edit again after a refused change. */
static bool again(const char *msg)
{
	if (!isatty(STDIN_FILENO))
		return false;
	fprintf(stderr, "error: %s\nFailed. Try again? [y,n]: ", msg);
	char line[16];
	return fgets(line, sizeof(line), stdin) && (line[0] == 'y' || line[0] == 'Y');
}

static int cmd_edit(struct cli *c, struct st_err *err)
{
	cleanup_free char *xml_path = cli__object_path("domains", c->argv[0], "/xml");
	cleanup_free char *def_path = cli__object_path("domains", c->argv[0], "");
	cleanup_free char *orig = NULL;
	size_t orig_len;
	if (!xml_path || !def_path)
		return err__fail(err, ENOMEM, "edit");
	if (request(c, "GET", xml_path, NULL, NULL, 0, &orig, &orig_len, err) < 0)
		return -1;
	const char *tmp = getenv("TMPDIR");
	char file[512];
	snprintf(file, sizeof(file), "%s/strata-edit-XXXXXX.xml", tmp && *tmp ? tmp : "/tmp");
	cleanup_close int fd = mkstemps(file, 4);
	if (fd < 0)
		return err__fail_errno(err, "%s", file);
	int rc = util__write_all(fd, orig, orig_len, err);
	for (;;) {
		cleanup_free char *text = NULL, *reply = NULL;
		size_t len;
		if (rc < 0 || (rc = run_editor(file, err)) < 0 || (rc = util__read_file(file, 1 << 20, &text, &len, err)) < 0)
			break;
		if (len == orig_len && !memcmp(text, orig, len)) {
			printf("Domain '%s' XML configuration not changed.\n", c->argv[0]);
			break;
		}
		rc = request(c, "PUT", def_path, "application/xml", text, len, &reply, NULL, err);
		if (rc == 0) {
			printf("Domain '%s' XML configuration edited.\n", c->argv[0]);
			break;
		}
		if (!again(err->msg))
			break;
		rc = 0;
	}
	unlink(file);
	return rc;
}

/* The domain's state ("running", ...) into buf. */
static int domain_state(struct cli *c, char *buf, size_t len, struct st_err *err)
{
	cleanup_free char *path = cli__object_path("domains", c->argv[0], "");
	json_t *r;
	if (!path)
		return err__fail(err, ENOMEM, "state");
	if (http_client__json(&c->target, "GET", path, NULL, &r, err) < 0)
		return -1;
	snprintf(buf, len, "%s", output__str(r, "state"));
	json_decref(r);
	return 0;
}

static int put_number(struct cli *c, const char *suffix, const char *key, uint64_t v, struct st_err *err)
{
	cleanup_free char *path = cli__object_path("domains", c->argv[0], suffix);
	json_t *body = json_pack("{s:I}", key, (json_int_t)v);
	int rc = cli__call(c, "PUT", path, body, NULL, err);
	json_decref(body);
	return rc;
}

/* setmem NAME SIZE: a running guest's balloon (SIZE in KiB unless it says) */
static int cmd_setmem(struct cli *c, struct st_err *err)
{
	uint64_t bytes;
	if (cli__has(c, "--config"))
		return cli__usage_fail(err, "setmem --config is not supported: a domain's memory is its definition's "
					    "(strata edit); setmem changes a running guest's");
	if (util__parse_size(c->argv[1], 1024, &bytes, err) < 0)
		return err__class(err, CLI_EUSAGE, err__prefix(err, "size"));
	return put_number(c, "/memory", "kib", bytes / 1024, err);
}

/* setvcpus NAME COUNT: the next start's vCPUs (--config, or a shut-off domain's) */
static int cmd_setvcpus(struct cli *c, struct st_err *err)
{
	uint64_t n;
	if (util__parse_u64(c->argv[1], 1024, &n, err) < 0)
		return err__class(err, CLI_EUSAGE, err__prefix(err, "count"));
	if (cli__has(c, "--live") || cli__has(c, "--guest"))
		return cli__usage_fail(err, "vCPUs cannot change while a guest runs: use --config (the next start's)");
	char state[16];
	if (!cli__has(c, "--config") && domain_state(c, state, sizeof(state), err) < 0)
		return -1;
	if (!cli__has(c, "--config") && strcmp(state, "shutoff"))
		return err__fail(err, 0, "domain '%s' is %s: vCPUs change for the next start with --config", c->argv[0],
				 state);
	return put_number(c, "/vcpus", "vcpus", n, err);
}

/* create FILE: defines, starts, and undefines again when the start fails */
static int cmd_create(struct cli *c, struct st_err *err)
{
	cleanup_free char *text = NULL, *reply = NULL;
	size_t len;
	if (util__read_file(c->argv[0], 1 << 20, &text, &len, err) < 0)
		return -1;
	const char *ctype = text[strspn(text, " \t\r\n")] == '<' ? "application/xml" : "application/json";
	if (request(c, "POST", "/v1/domains?transient=1&start=1", ctype, text, len, &reply, NULL, err) < 0)
		return -1;
	json_t *j = json_loads(reply, 0, NULL);
	cli__print(c, j, NULL);
	if (!c->json)
		printf("Domain '%s' created from %s\n", output__str(j, "name"), c->argv[0]);
	json_decref(j);
	return 0;
}

static const struct cli_cmd cmds[] = {
	{.name = "edit", .run = cmd_edit, .args = "NAME", .min_args = 1, .max_args = 1,
	 .help = "edits a shut-off domain's XML with $VISUAL or $EDITOR; checked as a define's before it is kept"},
	{.name = "setmem", .run = cmd_setmem, .args = "NAME SIZE [--live]", .min_args = 2, .max_args = 2,
	 .help = "a running guest's memory through its balloon (SIZE in KiB, or with k/M/G)",
	 .opts = "--live --current --config"},
	{.name = "setvcpus", .run = cmd_setvcpus, .args = "NAME COUNT [--config]", .min_args = 2, .max_args = 2,
	 .help = "the vCPU count of the domain's next start", .opts = "--config --current --live --guest"},
	{.name = "create", .run = cmd_create, .args = "FILE", .min_args = 1, .max_args = 1,
	 .help = "defines and starts a transient domain (undefined when it stops) from JSON or libvirt XML"},
};

const struct cli_group cmd_domedit_group = {"Domain changes", cmds, ST_ARRAY_SIZE(cmds)};
