/* The policy engine: oslo.policy's check language (precedence, literals,
 * target substitution, lists in credentials), rule references and loops,
 * the "default" fallback, policy files in YAML and JSON with their errors,
 * and Keystone's identity defaults for the personas. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cloud/identity/identity.h"
#include "cloud/policy/policy.h"

static struct policy *with(const char *name, const char *check)
{
	struct policy *p;
	assert_int_equal(policy__new(&p, NULL), 0);
	struct st_err err = {0};
	if (policy__set(p, name, check, &err) < 0)
		fail_msg("%s", err.msg);
	return p;
}

/* check against creds and target given as JSON text. */
static bool allows(const char *check, const char *creds, const char *target)
{
	struct policy *p = with("r", check);
	json_t *c = json_loads(creds, 0, NULL), *t = target ? json_loads(target, 0, NULL) : NULL;
	assert_non_null(c);
	bool ok = policy__check(p, "r", c, t);
	json_decref(c);
	json_decref(t);
	policy__free(p);
	return ok;
}

static void test_language(void **state)
{
	(void)state;
	const char *member = "{\"user_id\": \"u1\", \"roles\": [\"Member\", \"reader\"],"
			     " \"system_scope\": null, \"project_id\": \"p1\","
			     " \"token\": {\"project\": {\"domain\": {\"id\": \"d1\"}}}}";
	assert_true(allows("", member, NULL));
	assert_true(allows("@", member, NULL));
	assert_false(allows("!", member, NULL));
	assert_true(allows("role:member", member, NULL)); /* roles compare without case */
	assert_false(allows("role:admin", member, NULL));
	assert_true(allows("role:admin or role:reader", member, NULL));
	assert_false(allows("role:admin and role:reader", member, NULL));
	assert_true(allows("not role:admin", member, NULL));
	/* and binds tighter than or; not tighter than and */
	assert_true(allows("role:reader or role:admin and !", member, NULL));
	assert_false(allows("(role:reader or role:admin) and !", member, NULL));
	assert_false(allows("not role:reader and role:member", member, NULL));
	assert_true(allows("((role:reader))", member, NULL));
	/* KEY:%(target)s, dotted credentials, top-level or nested targets */
	assert_true(allows("user_id:%(user_id)s", member, "{\"user_id\": \"u1\"}"));
	assert_false(allows("user_id:%(user_id)s", member, "{\"user_id\": \"u2\"}"));
	assert_false(allows("user_id:%(user_id)s", member, "{}")); /* the target lacks it */
	assert_true(allows("token.project.domain.id:%(target.domain.id)s", member,
			   "{\"target\": {\"domain\": {\"id\": \"d1\"}}}"));
	assert_true(allows("token.project.domain.id:%(target.domain.id)s", member,
			   "{\"target.domain.id\": \"d1\"}"));
	assert_false(allows("token.domain.id:%(target.domain.id)s", member,
			    "{\"target\": {\"domain\": {\"id\": \"d1\"}}}"));
	/* literal right sides, Python's str() of None and booleans */
	assert_true(allows("project_id:p1", member, NULL));
	assert_false(allows("system_scope:all", member, NULL));
	assert_true(allows("system_scope:None", member, NULL));
	assert_true(allows("None:%(target.role.domain_id)s", member,
			   "{\"target\": {\"role\": {\"domain_id\": null}}}"));
	assert_false(allows("None:%(target.role.domain_id)s", member,
			    "{\"target\": {\"role\": {\"domain_id\": \"d1\"}}}"));
	assert_true(allows("True:%(enabled)s", member, "{\"enabled\": true}"));
	assert_true(allows("'u1':%(user_id)s", member, "{\"user_id\": \"u1\"}"));
	assert_true(allows("1:%(n)s", member, "{\"n\": 1}"));
	/* a list in the credentials matches when any element does */
	assert_true(allows("roles:reader", member, NULL));
	assert_false(allows("roles:admin", member, NULL));
	/* a key the credentials lack */
	assert_false(allows("is_admin:1", member, NULL));
}

static void test_rules(void **state)
{
	(void)state;
	struct policy *p = with("admin_required", "role:admin");
	assert_int_equal(policy__set(p, "a", "rule:admin_required or rule:missing", NULL), 0);
	assert_int_equal(policy__set(p, "loop", "rule:loop", NULL), 0);
	json_t *admin = json_pack("{s:[s]}", "roles", "admin");
	json_t *nobody = json_pack("{s:[]}", "roles");
	assert_true(policy__check(p, "a", admin, NULL));
	assert_false(policy__check(p, "a", nobody, NULL));
	assert_false(policy__check(p, "loop", admin, NULL)); /* a loop denies, it does not hang */
	/* an unknown rule: denied, then the "default" rule decides */
	assert_false(policy__check(p, "no:such", admin, NULL));
	assert_int_equal(policy__set(p, "default", "@", NULL), 0);
	assert_true(policy__check(p, "no:such", nobody, NULL));
	/* defaults do not replace a rule that is there; set does */
	struct policy_rule defaults[] = {{"a", "!"}, {"b", "@"}};
	assert_int_equal(policy__add_defaults(p, defaults, 2, NULL), 0);
	assert_true(policy__check(p, "a", admin, NULL));
	assert_true(policy__check(p, "b", nobody, NULL));
	struct st_err err = {0};
	assert_int_equal(policy__enforce(p, "loop", admin, NULL, &err), -1);
	assert_int_equal(err.errnum, EPERM);
	assert_non_null(strstr(err.msg, "loop"));
	json_decref(admin);
	json_decref(nobody);
	policy__free(p);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	const char *bad[] = {"(role:a", "role:a)", "role:a or", "and role:a", "role:a role:b",
			     "nocolon", ":x", "not", "http://x", "()"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct st_err err = {0};
		if (policy__validate(bad[i], &err) == 0)
			fail_msg("'%s' parsed", bad[i]);
		assert_int_equal(err.errnum, EINVAL);
		assert_non_null(strstr(err.msg, "check string"));
	}
	assert_int_equal(policy__validate("  ", NULL), 0);
	assert_int_equal(policy__validate("role:a AND NOT (role:b Or role:c)", NULL), 0);
}

static char *write_file(const char *text)
{
	char *path = strdup("/tmp/strata-policy-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static int load(struct policy *p, const char *text, struct st_err *err)
{
	char *path = write_file(text);
	int rc = policy__load_file(p, path, err);
	unlink(path);
	free(path);
	return rc;
}

static void test_files(void **state)
{
	(void)state;
	struct policy *p = with("x", "!");
	json_t *creds = json_pack("{s:[s]}", "roles", "reader");
	struct st_err err = {0};
	assert_int_equal(load(p, "# Keystone's policy.yaml\n\"x\": \"role:reader\"\ny: '!'\n", &err), 0);
	assert_true(policy__check(p, "x", creds, NULL));
	assert_false(policy__check(p, "y", creds, NULL));
	assert_int_equal(load(p, "{\"x\": \"!\", \"z\": \"@\"}", &err), 0); /* JSON */
	assert_false(policy__check(p, "x", creds, NULL));
	assert_true(policy__check(p, "z", creds, NULL));
	assert_int_equal(load(p, "", &err), 0); /* empty: nothing changes */
	const char *bad[] = {"x: [1, 2]\n", "- x\n", "x: \"(role:a\"\n", "x: 'a\n", "{\"x\": \"@\","};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = (struct st_err){0};
		if (load(p, bad[i], &err) == 0)
			fail_msg("'%s' loaded", bad[i]);
		assert_non_null(strstr(err.msg, "policy file"));
		assert_non_null(strstr(err.msg, "line"));
	}
	assert_int_equal(policy__load_file(p, "/nonexistent/policy.yaml", &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	json_decref(creds);
	policy__free(p);
}

/* Keystone's defaults: the personas on a few identity rules. */
static void test_identity_defaults(void **state)
{
	(void)state;
	struct policy *p;
	assert_int_equal(policy__new(&p, NULL), 0);
	struct st_err err = {0};
	if (policy__add_defaults(p, identity__policy_rules, identity__n_policy_rules, &err) < 0)
		fail_msg("%s", err.msg);
	json_t *sys_reader = json_pack("{s:s,s:s,s:[s]}", "user_id", "r", "system_scope", "all", "roles",
				       "reader");
	json_t *dom_reader = json_pack("{s:s,s:s,s:[s],s:{s:{s:s}}}", "user_id", "d", "domain_id", "d1",
				       "roles", "reader", "token", "domain", "id", "d1");
	json_t *member = json_pack("{s:s,s:s,s:[s,s]}", "user_id", "m", "project_id", "p1", "roles",
				   "member", "reader");
	json_t *admin = json_pack("{s:s,s:s,s:[s]}", "user_id", "a", "project_id", "p0", "roles", "admin");
	json_t *user_d1 = json_pack("{s:{s:{s:s,s:s}},s:s}", "target", "user", "id", "x", "domain_id",
				    "d1", "user_id", "x");
	json_t *self = json_pack("{s:{s:{s:s,s:s}},s:s}", "target", "user", "id", "m", "domain_id", "d2",
				 "user_id", "m");
	json_t *list_d1 = json_pack("{s:{s:s}}", "target", "domain_id", "d1");
	assert_true(policy__check(p, "identity:get_user", sys_reader, user_d1));
	assert_true(policy__check(p, "identity:get_user", dom_reader, user_d1));
	assert_false(policy__check(p, "identity:get_user", dom_reader, self));
	assert_false(policy__check(p, "identity:get_user", member, user_d1));
	assert_true(policy__check(p, "identity:get_user", member, self));
	assert_true(policy__check(p, "identity:list_users", dom_reader, list_d1));
	assert_false(policy__check(p, "identity:list_users", member, list_d1));
	assert_false(policy__check(p, "identity:create_user", sys_reader, user_d1));
	assert_true(policy__check(p, "identity:create_user", admin, user_d1));
	json_decref(sys_reader);
	json_decref(dom_reader);
	json_decref(member);
	json_decref(admin);
	json_decref(user_d1);
	json_decref(self);
	json_decref(list_d1);
	policy__free(p);
}

/* A hostile policy file cannot make a check run away: rules doubling their
 * work 31 times over (2^31 evaluations before the step limit: the test ran
 * out of its time), a "not" over such a rule (it must not turn the cut-off
 * into an allow), and check strings nested or chained past the parser's
 * limits (a stack overflow before: 100000 parentheses). */
static void test_runaway_policies(void **state)
{
	(void)state;
	struct policy *p;
	struct st_err err = {0};
	char name[16], check[64];
	assert_int_equal(policy__new(&p, NULL), 0);
	for (int i = 0; i < 31; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		snprintf(check, sizeof(check), "rule:r%d or rule:r%d", i + 1, i + 1);
		assert_int_equal(policy__set(p, name, check, &err), 0);
	}
	assert_int_equal(policy__set(p, "r31", "role:nobody-has-this", &err), 0);
	assert_int_equal(policy__set(p, "denied", "not rule:r0", &err), 0);
	assert_int_equal(policy__set(p, "shallow", "rule:r28 or role:admin", &err), 0);
	json_t *creds = json_pack("{s:[s]}", "roles", "admin");
	assert_false(policy__check(p, "r0", creds, NULL));
	assert_false(policy__check(p, "denied", creds, NULL));
	/* a rule within the budget still answers: r28 is 8 evaluations of r31 */
	assert_true(policy__check(p, "shallow", creds, NULL));
	json_decref(creds);

	size_t deep = 100000;
	char *nested = malloc(2 * deep + 32);
	memset(nested, '(', deep);
	strcpy(nested + deep, "role:admin");
	memset(nested + deep + 10, ')', deep);
	nested[2 * deep + 10] = 0;
	assert_int_equal(policy__set(p, "nested", nested, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	deep = 200; /* within the tokens allowed, past the nesting */
	memset(nested, '(', deep);
	strcpy(nested + deep, "role:admin");
	memset(nested + deep + 10, ')', deep);
	nested[2 * deep + 10] = 0;
	assert_int_equal(policy__set(p, "nested", nested, &err), -1);
	assert_non_null(strstr(err.msg, "nested too deep"));
	deep = 100000;
	char *nots = malloc(4 * deep + 32);
	nots[0] = 0;
	for (size_t i = 0; i < deep; i++)
		memcpy(nots + 4 * i, "not ", 4);
	strcpy(nots + 4 * deep, "@");
	assert_int_equal(policy__set(p, "nots", nots, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	char *chain = malloc(14 * deep + 32), *w = chain;
	for (size_t i = 0; i < deep; i++)
		w += sprintf(w, "%srole:r%zu", i ? " or " : "", i % 10);
	assert_int_equal(policy__set(p, "chain", chain, &err), -1);
	assert_non_null(strstr(err.msg, "tokens"));
	/* a file with one such rule is refused */
	char *file = malloc(strlen(nested) + 32);
	int n = sprintf(file, "{\"nested\": \"%s\"}", nested);
	assert_int_equal(policy__load_text(p, file, (size_t)n, "hostile.json", &err), -1);
	assert_non_null(strstr(err.msg, "nested too deep"));
	free(file);
	free(nested);
	free(nots);
	free(chain);
	policy__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_language),       cmocka_unit_test(test_rules),
		cmocka_unit_test(test_syntax_errors),  cmocka_unit_test(test_files),
		cmocka_unit_test(test_identity_defaults),
		cmocka_unit_test(test_runaway_policies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
