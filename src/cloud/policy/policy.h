/* Authorization rules as OpenStack writes them (oslo.policy's language):
 * every service asks policy__check(policy, "identity:get_user", creds,
 * target) before it acts. One struct policy serves the whole daemon; each
 * service adds its default rules, an operator's policy file overrides them.
 *
 * Check strings: "" or "@" (always), "!" (never), "rule:NAME", "role:NAME"
 * (case-insensitive, in creds "roles"), "KEY:VALUE" (creds' dotted KEY,
 * lists fan out, equals VALUE as text; KEY may be a literal 'x', 1, True,
 * None), combined with "and", "or", "not" and parentheses. VALUE may hold
 * %(name)s, replaced by the target's "name" (a top-level key, else a dotted
 * path through nested objects; Python's str(): true -> True, null -> None);
 * a name the target lacks fails the check. Read-only after set-up, so any
 * thread may check. */
#ifndef STRATA_CLOUD_POLICY_H
#define STRATA_CLOUD_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/err.h"

struct policy;

/* A default rule: a service's table of these is its built-in policy. */
struct policy_rule {
	const char *name;
	const char *check;
};

int policy__new(struct policy **out, struct st_err *err);
void policy__free(struct policy *p);

/* Adds the rules whose names the policy lacks (an operator's rule, loaded
 * before or after, wins). A check string that does not parse is an error. */
int policy__add_defaults(struct policy *p, const struct policy_rule *rules, size_t n,
			 struct st_err *err);
/* Sets one rule, replacing any with that name. */
int policy__set(struct policy *p, const char *name, const char *check, struct st_err *err);
/* An operator's policy file, as Keystone reads it: a YAML or JSON mapping
 * of rule name to check string; each one replaces the rule of that name. */
int policy__load_file(struct policy *p, const char *path, struct st_err *err);
/* The same of a file's len bytes of text; name says where they came from
 * in errors. */
int policy__load_text(struct policy *p, const char *text, size_t len, const char *name,
		      struct st_err *err);

/* Whether the rule allows creds on target (target may be NULL). An unknown
 * rule falls back to the rule "default", and is denied without one. */
bool policy__check(const struct policy *p, const char *rule, json_t *creds, json_t *target);
/* policy__check, failing with EPERM (403) and Keystone's message. */
int policy__enforce(const struct policy *p, const char *rule, json_t *creds, json_t *target,
		    struct st_err *err);

/* Whether a check string parses (what the policy file loader applies). */
int policy__validate(const char *check, struct st_err *err);

#endif
