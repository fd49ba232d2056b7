/* libFuzzer: the policy engine's parsers (oslo.policy's check language and
 * an operator's policy file) and the evaluation of what they accept.
 * Odd first byte: the rest is a policy file (YAML or JSON) loaded over
 * Keystone's default identity rules, then a few rules are checked for two
 * personas. Even first byte: the rest is one check string; validating and
 * setting it must agree, a refused one must leave the rule as it was, and
 * one that references no rule must evaluate as the negation of its "not". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cloud/identity/identity.h"
#include "cloud/policy/policy.h"

static const char *const rules[] = {
	"identity:get_user", "identity:list_users", "identity:create_project", "identity:list_projects",
	"identity:create_grant", "identity:get_domain", "admin_required", "default", "fuzz",
};

static json_t *creds[2], *target;

static void setup(void)
{
	creds[0] = json_pack("{s:s,s:s,s:n,s:s,s:s,s:n,s:[s,s,s],s:{s:{s:s}}}", "user_id", "u1",
			     "user_domain_id", "default", "project_id", "project_domain_id", "default",
			     "system_scope", "all", "domain_id", "roles", "admin", "member", "reader",
			     "token", "user", "id", "u1");
	creds[1] = json_pack("{s:s,s:s,s:s,s:s,s:n,s:n,s:[s],s:{s:{s:s}}}", "user_id", "u2",
			     "user_domain_id", "d2", "project_id", "p2", "project_domain_id", "d2",
			     "system_scope", "domain_id", "roles", "member", "token", "user", "id", "u2");
	target = json_pack("{s:{s:{s:s,s:s,s:b}},s:s,s:i,s:n}", "target", "user", "domain_id", "d2",
			   "id", "u2", "enabled", 1, "user_id", "u2", "n", 7, "none");
}

static void check_string(struct policy *p, const char *s)
{
	struct st_err err = {0}, verr = {0};
	if (policy__set(p, "fuzz", "!", &err) < 0)
		abort();
	int valid = policy__validate(s, &verr) == 0;
	if (valid != (policy__set(p, "fuzz", s, &err) == 0))
		abort();
	if (!valid) {
		if (!verr.msg[0] || !err.msg[0] || policy__check(p, "fuzz", creds[0], target))
			abort(); /* refused with a message, the rule still "!" */
		return;
	}
	if (policy__set(p, "negated", "not rule:fuzz", &err) < 0)
		abort();
	for (int i = 0; i < 2; i++) {
		bool yes = policy__check(p, "fuzz", creds[i], target);
		if (!strstr(s, "rule:") && policy__check(p, "negated", creds[i], target) == yes)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!target)
		setup();
	if (size < 1)
		return 0;
	struct policy *p;
	if (policy__new(&p, NULL) < 0)
		return 0;
	if (policy__add_defaults(p, identity__policy_rules, identity__n_policy_rules, NULL) < 0)
		abort(); /* Keystone's defaults always parse */
	if (data[0] & 1) {
		struct st_err err = {0};
		if (policy__load_text(p, (const char *)data + 1, size - 1, "fuzz.yaml", &err) < 0 &&
		    !err.msg[0])
			abort();
		for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++)
			for (int i = 0; i < 2; i++)
				policy__check(p, rules[r], creds[i], target);
	} else {
		char *s = malloc(size);
		if (s) {
			memcpy(s, data + 1, size - 1);
			s[size - 1] = '\0';
			check_string(p, s);
			free(s);
		}
	}
	policy__free(p);
	return 0;
}
