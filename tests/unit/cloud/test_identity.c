/* The identity logic on a real database: bootstrap, password and token
 * authentication with every scope, implied roles, the catalog, revocation,
 * disabled users and lockout. SQLite always; PostgreSQL as well when
 * STRATA_TEST_PG_URL is set (tests/integration/cloud/test_cloud_db.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "cloud/identity/identity.h"
#include "cloud/identity/identity_db.h"
#include "cloud/identity/identity_ops.h"

static char url[256], state_dir[64];

struct fixture {
	struct db *db;
	struct identity id;
};

static const char *const drop[] = {
	"revocation_event", "application_credential_role", "application_credential", "endpoint",
	"service", "region", "assignment", "implied_role", "role", "group_member", "groups",
	"users", "project", "domain", "schema_version",
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct st_err err = {0};
	if (db__open(url, &f->db, &err) < 0) {
		err__print(&err);
		return -1;
	}
	for (size_t i = 0; i < ST_ARRAY_SIZE(drop); i++) {
		char sql[128];
		snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", drop[i]);
		db__exec(f->db, sql, NULL, 0, NULL);
	}
	struct identity_bootstrap b = {.admin_password = "secret", .public_url = "http://c:5000/"};
	if (identity__init(&f->id, f->db, state_dir, &err) < 0 ||
	    identity__bootstrap(&f->id, &b, &err) < 0 || identity__bootstrap(&f->id, &b, &err) < 0) {
		err__print(&err);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	identity__fini(&f->id);
	db__close(f->db);
	free(f);
	return 0;
}

static json_t *password_auth(const char *user, const char *password, json_t *scope)
{
	json_t *auth = json_pack("{s:{s:[s],s:{s:{s:s,s:{s:s},s:s}}}}", "identity", "methods",
				 "password", "password", "user", "name", user, "domain", "name",
				 "Default", "password", password);
	if (scope)
		json_object_set_new(auth, "scope", scope);
	return auth;
}

static json_t *admin_project(void)
{
	return json_pack("{s:{s:s,s:{s:s}}}", "project", "name", "admin", "domain", "id", "default");
}

static int authenticate(struct fixture *f, json_t *auth, struct token *t, struct st_err *err)
{
	int rc = identity__authenticate(&f->id, auth, t, err);
	json_decref(auth);
	return rc;
}

static void bootstrap_is_idempotent(void **state)
{
	struct fixture *f = *state;
	json_t *list;
	assert_int_equal(identity_db__list(f->db, IDENTITY_USER, NULL, &list, NULL), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_null(json_object_get(json_array_get(list, 0), "password_hash"));
	json_decref(list);
	/* identity's, compute's, image's and network's three endpoints, once each after two bootstraps */
	assert_int_equal(identity_db__list(f->db, IDENTITY_ENDPOINT, NULL, &list, NULL), 0);
	assert_int_equal(json_array_size(list), 12);
	int identity = 0, compute = 0, image = 0, network = 0;
	for (size_t i = 0; i < json_array_size(list); i++) {
		const char *u = json_string_value(json_object_get(json_array_get(list, i), "url"));
		identity += !strcmp(u, "http://c:5000/identity");
		compute += !strcmp(u, "http://c:5000/compute/v2.1");
		image += !strcmp(u, "http://c:5000/image");
		network += !strcmp(u, "http://c:5000/networking");
	}
	assert_int_equal(identity, 3);
	assert_int_equal(compute, 3);
	assert_int_equal(image, 3);
	assert_int_equal(network, 3);
	json_decref(list);
	assert_int_equal(identity_db__list(f->db, IDENTITY_ROLE, NULL, &list, NULL), 0);
	assert_int_equal(json_array_size(list), 3);
	json_decref(list);
}

static void project_token_has_implied_roles_and_catalog(void **state)
{
	struct fixture *f = *state;
	struct token t, v;
	struct st_err err = {0};
	assert_int_equal(authenticate(f, password_auth("admin", "secret", admin_project()), &t, &err), 0);
	assert_int_equal(t.scope, TOKEN_PROJECT);
	char *text;
	assert_int_equal(identity__issue(&f->id, &t, &text, &err), 0);
	assert_int_equal(identity__validate(&f->id, text, &v, &err), 0);
	free(text);
	json_t *body;
	assert_int_equal(identity__token_body(&f->id, &v, 1, &body, &err), 0);
	json_t *tok = json_object_get(body, "token");
	assert_string_equal(json_string_value(json_object_get(json_object_get(tok, "project"), "name")), "admin");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(tok, "user"), "domain"), "name")), "Default");
	json_t *roles = json_object_get(tok, "roles");
	assert_int_equal(json_array_size(roles), 3); /* admin, member and reader through it */
	assert_string_equal(json_string_value(json_object_get(json_array_get(roles, 2), "name")), "reader");
	json_t *catalog = json_object_get(tok, "catalog");
	assert_int_equal(json_array_size(catalog), 4); /* identity, compute, image and network */
	for (size_t i = 0; i < 4; i++) {
		const char *type = json_string_value(json_object_get(json_array_get(catalog, i), "type"));
		assert_true(!strcmp(type, "identity") || !strcmp(type, "compute") || !strcmp(type, "image") ||
			    !strcmp(type, "network"));
		assert_int_equal(json_array_size(json_object_get(json_array_get(catalog, i), "endpoints")), 3);
	}
	assert_string_equal(json_string_value(json_array_get(json_object_get(tok, "methods"), 0)), "password");
	assert_non_null(json_string_value(json_object_get(tok, "expires_at")));
	json_decref(body);
}

static void bad_credentials_and_requests(void **state)
{
	struct fixture *f = *state;
	struct token t;
	struct st_err err = {0};
	assert_int_equal(authenticate(f, password_auth("admin", "wrong", admin_project()), &t, &err), -1);
	assert_int_equal(err.errnum, EACCES);
	assert_int_equal(authenticate(f, password_auth("nobody", "secret", NULL), &t, &err), -1);
	assert_int_equal(err.errnum, EACCES);
	assert_int_equal(authenticate(f, json_pack("{s:{s:[s]}}", "identity", "methods", "kerberos"), &t, &err), -1);
	assert_int_equal(err.errnum, EACCES);
	assert_int_equal(authenticate(f, json_pack("{s:{s:s}}", "identity", "methods", "password"), &t, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	/* a project the user has no role on */
	json_t *p = json_pack("{s:s,s:s,s:s}", "id", "0123456789abcdef0123456789abcdef", "name", "other", "domain_id", "default");
	assert_int_equal(identity_db__insert(f->db, IDENTITY_PROJECT, p, &err), 0);
	assert_int_equal(identity_db__insert(f->db, IDENTITY_PROJECT, p, &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	json_decref(p);
	json_t *scope = json_pack("{s:{s:s}}", "project", "id", "0123456789abcdef0123456789abcdef");
	assert_int_equal(authenticate(f, password_auth("admin", "secret", scope), &t, &err), -1);
	assert_int_equal(err.errnum, EACCES);
	/* the domain: no role on it either (bootstrap gives project and system) */
	scope = json_pack("{s:{s:s}}", "domain", "id", "default");
	assert_int_equal(authenticate(f, password_auth("admin", "secret", scope), &t, &err), -1);
	scope = json_pack("{s:{s:b}}", "system", "all", 1);
	assert_int_equal(authenticate(f, password_auth("admin", "secret", scope), &t, &err), 0);
	assert_int_equal(t.scope, TOKEN_SYSTEM);
}

static void rescope_and_revoke(void **state)
{
	struct fixture *f = *state;
	struct token unscoped, scoped, v;
	struct st_err err = {0};
	char *text, *child;
	assert_int_equal(authenticate(f, password_auth("admin", "secret", NULL), &unscoped, &err), 0);
	assert_int_equal(unscoped.scope, TOKEN_UNSCOPED);
	assert_int_equal(identity__issue(&f->id, &unscoped, &text, &err), 0);
	json_t *auth = json_pack("{s:{s:[s],s:{s:s}},s:o}", "identity", "methods", "token", "token",
				 "id", text, "scope", admin_project());
	assert_int_equal(authenticate(f, auth, &scoped, &err), 0);
	assert_int_equal(scoped.scope, TOKEN_PROJECT);
	assert_int_equal(scoped.methods, TOKEN_METHOD_PASSWORD | TOKEN_METHOD_TOKEN);
	assert_int_equal(scoped.n_audit_ids, 2);
	assert_string_equal(scoped.audit_ids[1], unscoped.audit_ids[0]);
	assert_int_equal(scoped.expires_at, unscoped.expires_at);
	assert_int_equal(identity__issue(&f->id, &scoped, &child, &err), 0);
	assert_int_equal(identity__validate(&f->id, child, &v, &err), 0);
	/* revoking the first token takes its re-scoped child with it */
	assert_int_equal(identity__revoke(&f->id, &unscoped, &err), 0);
	assert_int_equal(identity__validate(&f->id, text, &v, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_int_equal(identity__validate(&f->id, child, &v, &err), -1);
	free(text);
	free(child);
}

static void disabled_user_and_lockout(void **state)
{
	struct fixture *f = *state;
	struct token t, v;
	struct st_err err = {0};
	char *text;
	f->id.lockout_failures = 3;
	assert_int_equal(authenticate(f, password_auth("admin", "secret", admin_project()), &t, &err), 0);
	assert_int_equal(identity__issue(&f->id, &t, &text, &err), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(authenticate(f, password_auth("admin", "bad", NULL), &t, &err), -1);
	/* locked out: the right password no longer works, the old token neither */
	assert_int_equal(authenticate(f, password_auth("admin", "secret", NULL), &t, &err), -1);
	assert_int_equal(err.errnum, EACCES);
	assert_int_equal(identity__validate(&f->id, text, &v, &err), -1);
	free(text);
	/* bootstrap again re-enables and resets the password */
	struct identity_bootstrap b = {.admin_password = "new", .public_url = "http://c:5000"};
	assert_int_equal(identity__bootstrap(&f->id, &b, &err), 0);
	assert_int_equal(authenticate(f, password_auth("admin", "new", NULL), &t, &err), 0);
}

static const char *query_of(void *ctx, const char *key)
{
	const char *const *kv = ctx;
	for (; kv[0]; kv += 2)
		if (!strcmp(kv[0], key))
			return kv[1];
	return NULL;
}

static void caller_of(struct fixture *f, const char *user, const char *password, json_t *scope,
		      struct identity_caller *c)
{
	struct token t;
	char *text;
	assert_int_equal(authenticate(f, password_auth(user, password, scope), &t, NULL), 0);
	assert_int_equal(identity__issue(&f->id, &t, &text, NULL), 0);
	assert_int_equal(identity__caller(&f->id, text, c, NULL), 0);
	free(text);
}

static void crud_grants_and_policy(void **state)
{
	struct fixture *f = *state;
	struct identity_caller admin, member;
	struct st_err err = {0};
	json_t *out, *list;
	caller_of(f, "admin", "secret", admin_project(), &admin);
	assert_true(admin.admin);
	json_t *body = json_pack("{s:{s:s,s:s}}", "project", "name", "demo", "description", "d");
	assert_int_equal(identity_ops__create(&f->id, &admin, IDENTITY_PROJECT, body, &out, &err), 0);
	char project[33];
	snprintf(project, sizeof(project), "%s", json_string_value(json_object_get(out, "id")));
	assert_string_equal(json_string_value(json_object_get(out, "domain_id")), "default");
	assert_string_equal(json_string_value(json_object_get(out, "parent_id")), "default");
	json_decref(out);
	assert_int_equal(identity_ops__create(&f->id, &admin, IDENTITY_PROJECT, body, &out, &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	json_decref(body);
	/* 10k-character names and wrong types are refused, nothing is created */
	char *longname = calloc(1, 10001);
	memset(longname, 'x', 10000);
	body = json_pack("{s:{s:s}}", "user", "name", longname);
	assert_int_equal(identity_ops__create(&f->id, &admin, IDENTITY_USER, body, &out, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	json_decref(body);
	free(longname);
	body = json_pack("{s:{s:s,s:i}}", "user", "name", "bob", "enabled", 3);
	assert_int_equal(identity_ops__create(&f->id, &admin, IDENTITY_USER, body, &out, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	json_decref(body);

	body = json_pack("{s:{s:s,s:s}}", "user", "name", "bob", "password", "pw");
	assert_int_equal(identity_ops__create(&f->id, &admin, IDENTITY_USER, body, &out, &err), 0);
	json_decref(body);
	assert_null(json_object_get(out, "password"));
	assert_null(json_object_get(out, "password_hash"));
	char bob[33];
	snprintf(bob, sizeof(bob), "%s", json_string_value(json_object_get(out, "id")));
	json_decref(out);
	assert_int_equal(identity_ops__list(&f->id, &admin, IDENTITY_ROLE, query_of,
					    (const char *[]){"name", "member", NULL}, NULL, &list, &err), 0);
	assert_int_equal(json_array_size(list), 1);
	char role[33];
	snprintf(role, sizeof(role), "%s", json_string_value(json_object_get(json_array_get(list, 0), "id")));
	json_decref(list);

	/* pages of 2 in the database (keyset marker, LIMIT) add up to the whole list */
	json_t *all;
	assert_int_equal(identity_ops__list(&f->id, &admin, IDENTITY_ROLE, NULL, NULL, NULL, &all, &err), 0);
	assert_true(json_array_size(all) >= 3);
	char marker[33] = "";
	size_t seen = 0;
	for (bool more = true; more;) {
		struct identity_page page = {.marker = *marker ? marker : NULL, .limit = 2};
		assert_int_equal(identity_ops__list(&f->id, &admin, IDENTITY_ROLE, NULL, NULL, &page, &list, &err), 0);
		assert_true(json_array_size(list) <= 2);
		for (size_t i = 0; i < json_array_size(list); i++, seen++)
			assert_true(json_equal(json_array_get(list, i), json_array_get(all, seen)));
		more = page.truncated;
		assert_true(!more || json_array_size(list) == 2);
		if (json_array_size(list))
			snprintf(marker, sizeof(marker), "%s",
				 json_string_value(json_object_get(json_array_get(list, json_array_size(list) - 1), "id")));
		json_decref(list);
	}
	assert_int_equal(seen, json_array_size(all));
	json_decref(all);
	assert_int_equal(identity_ops__role_grant(&f->id, &admin, 'P', "projects", project, "users", bob, role, &err), 0);
	assert_int_equal(identity_ops__role_grant(&f->id, &admin, 'P', "projects", project, "users", bob, "nope", &err), -1);
	assert_int_equal(err.errnum, ENOENT);

	/* bob, a member of demo: reads his project, not the others; writes nothing */
	json_t *scope = json_pack("{s:{s:s}}", "project", "id", project);
	caller_of(f, "bob", "pw", scope, &member);
	assert_false(member.admin);
	assert_int_equal(identity_ops__get(&f->id, &member, IDENTITY_PROJECT, project, &out, &err), 0);
	json_decref(out);
	assert_int_equal(identity_ops__list(&f->id, &member, IDENTITY_PROJECT, NULL, NULL, NULL, &list, &err), -1);
	assert_int_equal(err.errnum, EPERM);
	body = json_pack("{s:{s:s}}", "project", "name", "mine");
	assert_int_equal(identity_ops__create(&f->id, &member, IDENTITY_PROJECT, body, &out, &err), -1);
	assert_int_equal(err.errnum, EPERM);
	json_decref(body);
	assert_int_equal(identity_ops__auth_targets(&f->id, &member, IDENTITY_PROJECT, &list, &err), 0);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);

	/* role assignment list --names --effective: member implies reader */
	const char *q[] = {"user.id", bob, "include_names", "True", "effective", "", NULL};
	assert_int_equal(identity_ops__role_assignments(&f->id, &admin, query_of, q, &list, &err), 0);
	assert_int_equal(json_array_size(list), 2);
	json_t *a = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(a, "user"), "name")), "bob");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(a, "scope"), "project"), "name")), "demo");
	json_decref(list);

	/* deleting the project takes its assignments with it */
	assert_int_equal(identity_ops__delete(&f->id, &admin, IDENTITY_PROJECT, project, &err), 0);
	assert_int_equal(identity_ops__delete(&f->id, &admin, IDENTITY_PROJECT, project, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_int_equal(identity_ops__role_assignments(&f->id, &admin, query_of, q, &list, &err), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	assert_int_equal(identity_ops__delete(&f->id, &admin, IDENTITY_DOMAIN, "default", &err), -1);
	assert_int_equal(err.errnum, EPERM);
}

static int run_suite(const char *name)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(bootstrap_is_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(project_token_has_implied_roles_and_catalog, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_credentials_and_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(rescope_and_revoke, setup, teardown),
		cmocka_unit_test_setup_teardown(disabled_user_and_lockout, setup, teardown),
		cmocka_unit_test_setup_teardown(crud_grants_and_policy, setup, teardown),
	};
	printf("backend: %s\n", name);
	fflush(stdout);
	return _cmocka_run_group_tests(name, tests, ST_ARRAY_SIZE(tests), NULL, NULL);
}

int main(void)
{
	snprintf(state_dir, sizeof(state_dir), "/tmp/strata-identity-XXXXXX");
	if (!mkdtemp(state_dir))
		return 1;
	snprintf(url, sizeof(url), "sqlite:%s/cloud.db", state_dir);
	int failed = run_suite("sqlite");
	const char *pg = getenv("STRATA_TEST_PG_URL");
	if (pg && *pg) {
		snprintf(url, sizeof(url), "%s", pg);
		failed += run_suite("postgresql");
	} else {
		printf("SKIP: postgresql half (STRATA_TEST_PG_URL unset; tests/integration/cloud runs it)\n");
	}
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", state_dir);
	if (system(cmd) != 0)
		failed++;
	return failed ? 1 : 0;
}
