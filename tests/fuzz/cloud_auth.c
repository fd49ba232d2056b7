/* libFuzzer: strata-cloud's auth request parser, POST /v3/auth/tokens's body
 * as the route reads it (JSON, then "auth" through identity__authenticate:
 * methods, password and token identities, scope), against a bootstrapped
 * SQLite cloud in a temporary directory. Whatever authenticates must issue a
 * token that validates back to the same user and scope. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cloud/db/db.h"
#include "cloud/identity/identity.h"

static struct identity id;
static char dir[] = "/tmp/strata-fuzz-auth-XXXXXX";

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* libFuzzer ends with exit(): the temporary cloud goes with it */
static void remove_dir(void)
{
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void)
{
	char url[128];
	struct db *db;
	if (!mkdtemp(dir))
		return -1;
	atexit(remove_dir);
	snprintf(url, sizeof(url), "sqlite:%s/cloud.db", dir);
	if (db__open(url, &db, NULL) < 0 || identity__init(&id, db, dir, NULL) < 0)
		return -1;
	struct identity_bootstrap b = {.admin_password = "fuzz-admin", .public_url = "http://127.0.0.1:5000"};
	if (identity__bootstrap(&id, &b, NULL) < 0)
		return -1;
	/* no lockout: a run of wrong passwords must not change what later inputs meet */
	id.lockout_failures = 0;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready = -1;
	if (ready < 0)
		ready = setup() == 0;
	if (!ready)
		abort();
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	json_t *auth = json_object_get(body, "auth");
	struct token t, back;
	char *text = NULL;
	if (json_is_object(auth) && identity__authenticate(&id, auth, &t, NULL) == 0) {
		t.issued_at = (uint64_t)time(NULL);
		if (identity__issue(&id, &t, &text, NULL) < 0 || identity__validate(&id, text, &back, NULL) < 0)
			abort();
		if (strcmp(back.user_id, t.user_id) || back.scope != t.scope || strcmp(back.project_id, t.project_id) ||
		    strcmp(back.domain_id, t.domain_id))
			abort();
	}
	free(text);
	json_decref(body);
	return 0;
}
