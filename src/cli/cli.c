/* The strata CLI's shared layer: options against the command table,
 * usage errors, requests to stratad's API. */
#include "cli/cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/token_file.h"
#include "common/util.h"

int cli__usage_fail(struct st_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->errnum = CLI_EUSAGE;
	return -1;
}

int cli__report(const struct st_err *err)
{
	fprintf(stderr, "strata: error: %s\n", err->msg);
	return err->errnum == CLI_EUSAGE ? 2 : 1;
}

static int take_value(int argc, char **argv, int *i, const char **out, struct st_err *err)
{
	if (*i + 1 >= argc)
		return cli__usage_fail(err, "option %s needs a value (see strata help)", argv[*i]);
	*out = argv[++*i];
	return 0;
}

int cli__global_options(struct cli *c, int argc, char **argv, int *next, bool *help, char **token,
			struct st_err *err)
{
	int i = 1;
	*help = false;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i], *token_file = NULL;
		if (!strcmp(a, "--json")) {
			c->json = true;
		} else if (!strcmp(a, "--socket")) {
			if (take_value(argc, argv, &i, &c->target.unix_path, err) < 0)
				return -1;
		} else if (!strcmp(a, "--connect")) {
			if (take_value(argc, argv, &i, &c->target.tcp, err) < 0)
				return -1;
		} else if (!strcmp(a, "--token-file")) {
			if (take_value(argc, argv, &i, &token_file, err) < 0)
				return -1;
			free(*token);
			*token = NULL;
			if (token_file__read(token_file, 0, token, err) < 0)
				return -1;
			c->target.token = *token;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			*help = true;
		} else {
			return cli__usage_fail(err, "unknown option %s (see strata help)", a);
		}
	}
	*next = i;
	return 0;
}

/* The index of --name in cmd->opts (its value follows with '='), or -1. */
static int opt_index(const struct cli_cmd *cmd, const char *name, size_t name_len, bool *has_value)
{
	const char *p = cmd->opts ? cmd->opts : "";
	for (int k = 0; *p; k++) {
		size_t len = strcspn(p, " =");
		*has_value = p[len] == '=';
		if (len == name_len && !strncmp(p, name, len))
			return k;
		p += len + *has_value;
		p += strspn(p, " ");
	}
	return -1;
}

void cli__usage_line(const struct cli_cmd *cmd, char *buf, size_t len)
{
	snprintf(buf, len, "strata %s%s%s", cmd->name, *cmd->args ? " " : "", cmd->args);
}

static int parse_option(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, int *i,
			const char *usage, struct st_err *err)
{
	const char *a = argv[*i];
	bool has_value;
	if (!strcmp(a, "--json")) {
		c->json = true;
		return 0;
	}
	int k = opt_index(cmd, a, strlen(a), &has_value);
	if (k < 0 || k >= CLI_OPTS_MAX)
		return cli__usage_fail(err, "unknown option %s (usage: %s)", a, usage);
	if (c->opt[k])
		return cli__usage_fail(err, "option %s given twice (usage: %s)", a, usage);
	if (!has_value) {
		c->opt[k] = "";
		return 0;
	}
	if (*i + 1 >= argc)
		return cli__usage_fail(err, "option %s needs a value (usage: %s)", a, usage);
	c->opt[k] = argv[++*i];
	return 0;
}

int cli__parse(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct st_err *err)
{
	char usage[256];
	cli__usage_line(cmd, usage, sizeof(usage));
	c->cmd = cmd;
	c->argv = argv;
	c->argc = 0;
	memset(c->opt, 0, sizeof(c->opt));
	/* options may stand anywhere; positionals keep their order, packed
	 * into argv's front (they never overtake the reading index) */
	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "--", 2) && argv[i][2]) {
			if (parse_option(c, cmd, argc, argv, &i, usage, err) < 0)
				return -1;
		} else {
			argv[c->argc++] = argv[i];
		}
	}
	if (c->argc < cmd->min_args || c->argc > cmd->max_args)
		return cli__usage_fail(err, "usage: %s", usage);
	return 0;
}

const char *cli__opt(const struct cli *c, const char *name)
{
	bool has_value;
	int k = opt_index(c->cmd, name, strlen(name), &has_value);
	return k >= 0 && k < CLI_OPTS_MAX ? c->opt[k] : NULL;
}

bool cli__has(const struct cli *c, const char *name)
{
	return cli__opt(c, name) != NULL;
}

char *cli__escape(const char *s)
{
	return util__url_escape(s);
}

char *cli__object_path(const char *collection, const char *name, const char *suffix)
{
	cleanup_free char *e = cli__escape(name);
	char *p;
	if (!e || asprintf(&p, "/v1/%s/%s%s", collection, e, suffix) < 0)
		return NULL;
	return p;
}

int cli__call(struct cli *c, const char *method, const char *path, const json_t *body,
	      void (*human)(json_t *reply), struct st_err *err)
{
	json_t *reply;
	if (!path)
		return err__fail(err, ENOMEM, "%s", c->cmd ? c->cmd->name : "request");
	if (http_client__json(&c->target, method, path, body, &reply, err) < 0)
		return -1;
	cli__print(c, reply, human);
	json_decref(reply);
	return 0;
}

void cli__print(const struct cli *c, json_t *reply, void (*human)(json_t *reply))
{
	if (c->json) {
		char *text = json_dumps(reply, JSON_INDENT(2) | JSON_ENCODE_ANY);
		puts(text ? text : "null");
		free(text);
	} else if (human) {
		human(reply);
	}
}

int cli__call_object(struct cli *c, const char *collection, struct st_err *err)
{
	cleanup_free char *path = cli__object_path(collection, c->argv[0], c->cmd->suffix);
	return cli__call(c, c->cmd->method, path, NULL, c->cmd->human, err);
}

int cli__list_active(struct cli *c, const char *path, void (*human)(json_t *list), struct st_err *err)
{
	bool all = cli__has(c, "--all"), inactive = cli__has(c, "--inactive");
	json_t *list, *item;
	if (all && inactive)
		return cli__usage_fail(err, "--all and --inactive exclude each other");
	if (http_client__json(&c->target, "GET", path, NULL, &list, err) < 0)
		return -1;
	json_t *shown = json_array();
	size_t i;
	json_array_foreach(list, i, item)
		if (all || json_is_true(json_object_get(item, "active")) != inactive)
			json_array_append(shown, item);
	json_decref(list);
	cli__print(c, shown, human);
	json_decref(shown);
	return 0;
}

int cli__reply_fail(const char *body, size_t len, const char *what, struct st_err *err)
{
	json_t *j = json_loadb(body, len, 0, NULL);
	const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	err__fail(err, 0, "%s", msg ? msg : what);
	json_decref(j);
	return -1;
}

int cli__read_json_file(const char *file, json_t **out, struct st_err *err)
{
	json_error_t jerr;
	*out = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
	if (!*out)
		return err__fail(err, 0, "%s: line %d: %s", file, jerr.line, jerr.text);
	return 0;
}

int cli__define_file(struct cli *c, const char *path, void (*human)(json_t *reply), struct st_err *err)
{
	cleanup_free char *text = NULL;
	size_t len;
	if (util__read_file(c->argv[0], 1 << 20, &text, &len, err) < 0)
		return -1;
	const char *p = text + strspn(text, " \t\r\n");
	if (*p != '<') {
		json_t *body;
		if (cli__read_json_file(c->argv[0], &body, err) < 0)
			return -1;
		int rc = cli__call(c, "POST", path, body, human, err);
		json_decref(body);
		return rc;
	}
	struct http_client_resp r = {0};
	if (http_client__request(&c->target, "POST", path, "application/xml", text, len, &r, err) < 0)
		return -1;
	cleanup_free char *body = r.body;
	if (r.status >= 300)
		return cli__reply_fail(body, r.len, "define failed", err);
	json_t *reply = json_loadb(body, r.len, 0, NULL);
	if (!reply)
		return err__fail(err, 0, "define: the reply is not JSON");
	if (c->json) {
		char *out = json_dumps(reply, JSON_INDENT(2));
		puts(out ? out : "null");
		free(out);
	} else if (human) {
		human(reply);
	}
	json_decref(reply);
	return 0;
}

int cli__print_body(struct cli *c, const char *path, struct st_err *err)
{
	struct http_client_resp r = {0};
	if (!path)
		return err__fail(err, ENOMEM, "%s", c->cmd ? c->cmd->name : "request");
	if (http_client__request(&c->target, "GET", path, NULL, NULL, 0, &r, err) < 0)
		return -1;
	cleanup_free char *body = r.body;
	if (r.status >= 300)
		return cli__reply_fail(body, r.len, "request failed", err);
	fwrite(body, 1, r.len, stdout);
	return 0;
}
