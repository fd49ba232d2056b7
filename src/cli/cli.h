/* The strata CLI: shared state of one invocation and the helpers every
 * command uses. */
#ifndef STRATA_CLI_CLI_H
#define STRATA_CLI_CLI_H

#include <jansson.h>
#include <stdbool.h>

#include "cli/http.h"
#include "common/err.h"

/* errnum of usage errors: exit status 2 */
#define CLI_EUSAGE 100000

struct cli {
	struct http_target target;
	bool json;
	/* this command's arguments once the flags are taken out */
	int argc;
	char **argv;
};

/* Takes --name (and its value when has_value) out of c->argv; returns the
 * value, "" for a flag without value, or NULL when absent. */
const char *cli__flag(struct cli *c, const char *name, bool has_value);
/* After all flags were taken: exactly n positionals are left, and no
 * unknown --option. Fails with a usage message. */
int cli__positionals(struct cli *c, int min, int max, const char *usage, struct st_err *err);
int cli__usage_fail(struct st_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* URL-encodes one path segment or query value. */
char *cli__escape(const char *s);

/* Requests with JSON; prints the reply as JSON with --json, else calls
 * human(reply) (or prints nothing if human is NULL). */
int cli__call(struct cli *c, const char *method, const char *path, const json_t *body,
	      void (*human)(json_t *reply), struct st_err *err);

/* A table: headers, then rows of strings (NULL-terminated arrays). */
void cli__table(const char *const *headers, json_t *rows /* array of arrays of strings */);
const char *cli__size(json_int_t bytes, char *buf, size_t len);

int cli__domain_command(struct cli *c, const char *cmd, struct st_err *err);
int cli__storage_command(struct cli *c, const char *cmd, struct st_err *err);
int cli__network_command(struct cli *c, const char *cmd, struct st_err *err);

#endif
