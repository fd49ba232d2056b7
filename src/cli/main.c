/* strata: the command line for stratad, virsh-like. Human tables by
 * default, --json for scripts. Exit status: 0 done, 1 the operation failed
 * (one line on stderr), 2 bad usage. */
#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/token_file.h"
#include "common/util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
"Usage: strata [--socket PATH | --connect HOST:PORT --token-file FILE] [--json] COMMAND [ARGS]\n"
"\n"
"Domains:   list [--all] [--state running|paused|shutoff] [--autostart] [--name GLOB]\n"
"           define FILE (JSON or libvirt XML)     undefine NAME [--remove-all-storage]\n"
"           start NAME   shutdown NAME [--timeout S] [--wait]   destroy NAME   reboot NAME\n"
"           suspend NAME   resume NAME   dominfo NAME   domifaddr NAME   dumpxml NAME   console NAME\n"
"           autostart NAME [--disable]   event [--domain NAME] [--count N] [--timeout S]\n"
"           attach-disk NAME SOURCE [TARGET] [--pool POOL] [--format raw|qcow2] [--readonly]\n"
"           detach-disk NAME TARGET   domblklist NAME\n"
"Storage:   pool-list   pool-define FILE   pool-define-as NAME dir PATH|logical VG   pool-info POOL\n"
"           pool-undefine POOL   vol-list POOL   vol-info VOL --pool POOL   vol-path VOL --pool POOL\n"
"           vol-create-as POOL NAME CAPACITY [--format raw|qcow2]   vol-delete VOL --pool POOL\n"
"           vol-clone VOL NEWNAME --pool POOL [--overlay]   vol-resize VOL CAPACITY --pool POOL [--shrink]\n"
"           vol-upload VOL FILE --pool POOL   vol-download VOL FILE --pool POOL\n"
"Networks:  net-list   net-define FILE   net-undefine NET   net-start NET   net-destroy NET\n"
"           net-info NET   net-autostart NET [--disable]   net-dhcp-leases NET\n"
"Other:     version   audit [--limit N]\n"
"\n"
"The socket defaults to $STRATA_SOCKET, else /var/lib/strata/stratad.sock.\n");
}

const char *cli__flag(struct cli *c, const char *name, bool has_value)
{
	for (int i = 0; i < c->argc; i++) {
		if (strcmp(c->argv[i], name))
			continue;
		const char *v = "";
		int take = 1;
		if (has_value) {
			if (i + 1 >= c->argc)
				return NULL;
			v = c->argv[i + 1];
			take = 2;
		}
		memmove(&c->argv[i], &c->argv[i + take], sizeof(char *) * (size_t)(c->argc - i - take));
		c->argc -= take;
		return v;
	}
	return NULL;
}

int cli__usage_fail(struct st_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->errnum = CLI_EUSAGE;
	return -1;
}

int cli__positionals(struct cli *c, int min, int max, const char *usage_text, struct st_err *err)
{
	for (int i = 0; i < c->argc; i++)
		if (!strncmp(c->argv[i], "--", 2) && c->argv[i][2])
			return cli__usage_fail(err, "unknown option %s (usage: %s)", c->argv[i], usage_text);
	if (c->argc < min || c->argc > max)
		return cli__usage_fail(err, "usage: %s", usage_text);
	return 0;
}

char *cli__escape(const char *s)
{
	char *out = malloc(strlen(s) * 3 + 1), *p = out;
	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || strchr("-_.~+", ch))
			*p++ = (char)ch;
		else
			p += sprintf(p, "%%%02X", ch);
	}
	*p = 0;
	return out;
}

int cli__call(struct cli *c, const char *method, const char *path, const json_t *body,
	      void (*human)(json_t *reply), struct st_err *err)
{
	json_t *reply;
	if (http__json(&c->target, method, path, body, &reply, err) < 0)
		return -1;
	if (c->json) {
		char *text = json_dumps(reply, JSON_INDENT(2) | JSON_ENCODE_ANY);
		puts(text ? text : "null");
		free(text);
	} else if (human) {
		human(reply);
	}
	json_decref(reply);
	return 0;
}

void cli__table(const char *const *headers, json_t *rows)
{
	size_t ncol = 0, width[16] = {0};
	while (headers[ncol] && ncol < 16) {
		width[ncol] = strlen(headers[ncol]);
		ncol++;
	}
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
		for (size_t k = 0; k < ncol; k++) {
			const char *v = json_string_value(json_array_get(row, k));
			if (v && strlen(v) > width[k])
				width[k] = strlen(v);
		}
	size_t total = 0;
	for (size_t k = 0; k < ncol; k++) {
		printf(" %-*s%s", (int)width[k], headers[k], k + 1 < ncol ? "  " : "");
		total += width[k] + 3;
	}
	printf("\n");
	for (size_t k = 0; k < total; k++)
		putchar('-');
	printf("\n");
	json_array_foreach(rows, i, row) {
		for (size_t k = 0; k < ncol; k++) {
			const char *v = json_string_value(json_array_get(row, k));
			printf(" %-*s", (int)width[k], v ? v : "");
			if (k + 1 < ncol)
				printf("  ");
		}
		printf("\n");
	}
}

const char *cli__size(json_int_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)bytes;
	int u = 0;
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.2f %s" : "%.0f %s", v, units[u]);
	return buf;
}

static void print_version(json_t *r)
{
	printf("stratad %s (schema %lld), %lld domains, %lld active; you are uid %lld with %s access\n",
	       json_string_value(json_object_get(r, "version")),
	       (long long)json_integer_value(json_object_get(r, "schema")),
	       (long long)json_integer_value(json_object_get(r, "domains")),
	       (long long)json_integer_value(json_object_get(r, "active")),
	       (long long)json_integer_value(json_object_get(r, "uid")),
	       json_is_true(json_object_get(r, "write_access")) ? "full" : "read-only");
}

static void print_audit(json_t *r)
{
	json_t *rows = json_array();
	size_t i;
	json_t *e;
	json_array_foreach(r, i, e) {
		char ts[32], uid[16], st[8];
		snprintf(ts, sizeof(ts), "%lld", (long long)json_integer_value(json_object_get(e, "time")));
		snprintf(uid, sizeof(uid), "%lld", (long long)json_integer_value(json_object_get(e, "uid")));
		snprintf(st, sizeof(st), "%lld", (long long)json_integer_value(json_object_get(e, "status")));
		json_array_append_new(rows, json_pack("[s, s, s, s, s]", ts, uid,
			json_string_value(json_object_get(e, "method")), json_string_value(json_object_get(e, "path")), st));
	}
	static const char *const h[] = {"Time", "Uid", "Method", "Path", "Status", NULL};
	cli__table(h, rows);
	json_decref(rows);
}

int main(int argc, char **argv)
{
	st_set_progname("strata");
	struct cli c = {.target = {.unix_path = getenv("STRATA_SOCKET")}};
	if (!c.target.unix_path)
		c.target.unix_path = "/var/lib/strata/stratad.sock";
	cleanup_free char *token = NULL;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json"))
			c.json = true;
		else if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			c.target.unix_path = argv[++i];
		else if (!strcmp(argv[i], "--connect") && i + 1 < argc)
			c.target.tcp = argv[++i];
		else if (!strcmp(argv[i], "--token-file") && i + 1 < argc) {
			struct st_err err = {0};
			if (token_file__read(argv[++i], 0, &token, &err) < 0) {
				st_err_print(&err);
				return 1;
			}
			c.target.token = token;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "strata: unknown option %s (see --help)\n", argv[i]);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[i];
	c.argc = argc - i - 1;
	c.argv = argv + i + 1;
	if (!c.json && cli__flag(&c, "--json", false))
		c.json = true;
	struct st_err err = {0};
	int rc;
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	} else if (!strcmp(cmd, "version")) {
		rc = cli__positionals(&c, 0, 0, "strata version", &err);
		if (rc == 0)
			rc = cli__call(&c, "GET", "/v1/host", NULL, print_version, &err);
	} else if (!strcmp(cmd, "audit")) {
		const char *limit = cli__flag(&c, "--limit", true);
		char path[64];
		snprintf(path, sizeof(path), "/v1/audit?limit=%d", limit ? atoi(limit) : 50);
		rc = cli__positionals(&c, 0, 0, "strata audit [--limit N]", &err);
		if (rc == 0)
			rc = cli__call(&c, "GET", path, NULL, print_audit, &err);
	} else if (!strncmp(cmd, "pool-", 5) || !strncmp(cmd, "vol-", 4)) {
		rc = cli__storage_command(&c, cmd, &err);
	} else if (!strncmp(cmd, "net-", 4)) {
		rc = cli__network_command(&c, cmd, &err);
	} else {
		rc = cli__domain_command(&c, cmd, &err);
	}
	if (rc < 0) {
		fprintf(stderr, "strata: error: %s\n", err.msg);
		return err.errnum == CLI_EUSAGE ? 2 : 1;
	}
	return 0;
}
