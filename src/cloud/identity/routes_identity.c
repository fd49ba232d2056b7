/* Keystone v3's version discovery and /v3/auth/...: issuing, validating and
 * revoking tokens, and what a token may reach (projects, domains, catalog). */
#include "cloud/identity/routes_identity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/http_path.h"
#include "common/json_util.h"
#include "cloud/cloud.h"
#include "cloud/identity/identity_db.h"

struct identity *routes_identity__id(const struct http_request *r)
{
	return &((struct cloud *)http_request__app(r))->identity;
}

void routes_identity__base(const struct http_request *r, char *out, size_t size)
{
	const char *host = http_request__header(r, "Host");
	/* A Host header is the client's to choose: keep it to what a host
	 * name and port can hold so it cannot inject into the JSON's URLs
	 * beyond that. */
	if (!host || !*host || strlen(host) > 255 || strpbrk(host, "/\"\\ \t<>"))
		host = "localhost";
	snprintf(out, size, "http://%s/identity", host);
}

int routes_identity__caller(const struct http_request *r, struct identity_caller *c,
			    struct st_err *err)
{
	return identity__caller(routes_identity__id(r), http_request__header(r, "X-Auth-Token"), c,
				    err);
}

void routes_identity__links(const struct http_request *r, const char *collection, json_t *list)
{
	char base[320], self[512];
	routes_identity__base(r, base, sizeof(base));
	size_t i;
	json_t *obj;
	json_array_foreach(list, i, obj) {
		const char *oid = json_string_value(json_object_get(obj, "id"));
		snprintf(self, sizeof(self), "%s/v3/%s/%s", base, collection, oid ? oid : "");
		json_object_set_new(obj, "links", json_pack("{s:s}", "self", self));
	}
}

int routes_identity__page(const struct http_request *r, struct identity_page *p,
			  struct st_err *err)
{
	const char *limit = http_request__query(r, "limit");
	*p = (struct identity_page){.marker = http_request__query(r, "marker")};
	if (!limit)
		return 0;
	char *end;
	errno = 0;
	long n = strtol(limit, &end, 10);
	if (!*limit || *end || errno || n < 1)
		return err__fail_class(err, EINVAL, "Invalid input for field 'limit': a positive integer is"
				       " expected.");
	p->limit = (size_t)n;
	return 0;
}

/* The page of a list made whole (lists are in id order): the objects after
 * the marker, at most limit. */
static void cut(json_t *list, struct identity_page *p)
{
	if (p->marker) {
		size_t skip = 0;
		while (skip < json_array_size(list) &&
		       strcmp(json_string_value(json_object_get(json_array_get(list, skip), "id")),
			      p->marker) <= 0)
			skip++;
		for (size_t i = 0; i < skip; i++)
			json_array_remove(list, 0);
	}
	p->truncated = p->limit && json_array_size(list) > p->limit;
	while (p->limit && json_array_size(list) > p->limit)
		json_array_remove(list, json_array_size(list) - 1);
}

int routes_identity__reply_page(const struct http_request *r, struct http_reply *rp,
				const char *collection, json_t *list, const struct identity_page *p,
				const char *const *carry)
{
	char base[320], self[512];
	routes_identity__base(r, base, sizeof(base));
	snprintf(self, sizeof(self), "%s/v3/%s", base, collection);
	routes_identity__links(r, collection, list);
	json_t *body = json_pack("{s:o,s:{s:s,s:n,s:n}}", collection, list, "links", "self", self,
				 "previous", "next");
	if (p->truncated) {
		/* the next page: the same filters, after this page's last id */
		json_t *last = json_array_get(list, json_array_size(list) - 1);
		char *next = NULL;
		size_t size = 0;
		FILE *f = open_memstream(&next, &size);
		fprintf(f, "%s?limit=%zu&marker=%s", self, p->limit,
			json_string_value(json_object_get(last, "id")));
		for (size_t i = 0; carry && carry[i]; i++) {
			const char *v = http_request__query(r, carry[i]);
			char enc[3 * 256 + 1];
			if (!v)
				continue;
			http_path__encode(v, enc, sizeof(enc));
			fprintf(f, "&%s=%s", carry[i], enc);
		}
		fclose(f);
		json_object_set_new(json_object_get(body, "links"), "next", json_string(next));
		json_object_set_new(body, "truncated", json_true());
		free(next);
	}
	http_reply__json(rp, 200, body);
	return 0;
}

int routes_identity__reply_list(const struct http_request *r, struct http_reply *rp,
				const char *collection, json_t *list, struct st_err *err)
{
	struct identity_page p;
	if (routes_identity__page(r, &p, err) < 0) {
		json_decref(list);
		return -1;
	}
	cut(list, &p);
	return routes_identity__reply_page(r, rp, collection, list, &p, NULL);
}

/* --- version discovery --- */

static json_t *version_v3(const struct http_request *r)
{
	char base[320], self[512];
	routes_identity__base(r, base, sizeof(base));
	snprintf(self, sizeof(self), "%s/v3/", base);
	return json_pack("{s:s,s:s,s:s,s:[{s:s,s:s}],s:[{s:s,s:s}]}", "id", "v3.14", "status", "stable",
			 "updated", "2020-04-07T00:00:00Z", "links", "rel", "self", "href", self,
			 "media-types", "base", "application/json", "type",
			 "application/vnd.openstack.identity-v3+json");
}

static int versions(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	(void)err;
	http_reply__json(rp, 300, json_pack("{s:{s:[o]}}", "versions", "values", version_v3(r)));
	return 0;
}

static int version(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	(void)err;
	http_reply__json(rp, 200, json_pack("{s:o}", "version", version_v3(r)));
	return 0;
}

/* --- tokens --- */

static int token_reply(struct http_request *r, struct http_reply *rp, unsigned status,
		       const struct token *t, struct st_err *err)
{
	json_t *body;
	bool nocatalog = http_request__query(r, "nocatalog") != NULL;
	if (identity__token_body(routes_identity__id(r), t, !nocatalog, &body, err) < 0)
		return -1;
	http_reply__json(rp, status, body);
	return 0;
}

static int token_issue(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	cleanup_json json_t *body = NULL;
	if (http_request__body_json(r, &body, err) < 0)
		return -1;
	json_t *auth = json_object_get(body, "auth");
	if (!json_is_object(auth))
		return err__fail_class(err, EINVAL, "Expecting to find auth in request body.");
	struct identity *id = routes_identity__id(r);
	struct token t;
	cleanup_free char *text = NULL;
	if (identity__authenticate(id, auth, &t, err) < 0)
		return -1;
	/* The Fernet timestamp is the creation time: the same second. */
	t.issued_at = (uint64_t)time(NULL);
	if (identity__issue(id, &t, &text, err) < 0)
		return -1;
	if (token_reply(r, rp, 201, &t, err) < 0)
		return -1;
	/* after the body: setting a body starts the reply afresh */
	http_reply__header(rp, "X-Subject-Token", text);
	return 0;
}

/* The caller (X-Auth-Token) and the token it asks about (X-Subject-Token):
 * identity:validate_token, check_token or revoke_token decides (admins,
 * system readers and the subject's own user, by Keystone's defaults). */
static int subject(struct http_request *r, struct identity_caller *c, struct token *t,
		   struct st_err *err)
{
	if (routes_identity__caller(r, c, err) < 0)
		return -1;
	const char *text = http_request__header(r, "X-Subject-Token");
	if (!text || !*text)
		return err__fail_class(err, EINVAL, "Expecting to find X-Subject-Token in the headers.");
	if (identity__validate(routes_identity__id(r), text, t, err) < 0)
		return err->errnum == ENOENT
			       ? err__fail_class(err, ENOENT, "Could not find token: %.64s.", text)
			       : -1;
	const char *method = http_request__method(r);
	const char *rule = !strcmp(method, "GET")    ? "identity:validate_token"
			   : !strcmp(method, "HEAD") ? "identity:check_token"
						     : "identity:revoke_token";
	json_t *target = json_pack("{s:{s:{s:s}}}", "target", "token", "user_id", t->user_id);
	int rc = identity__authorize(routes_identity__id(r), c, rule, target, err);
	json_decref(target);
	return rc;
}

static int token_validate(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct identity_caller c;
	struct token t;
	if (subject(r, &c, &t, err) < 0)
		return -1;
	if (token_reply(r, rp, 200, &t, err) < 0)
		return -1;
	http_reply__header(rp, "X-Subject-Token", http_request__header(r, "X-Subject-Token"));
	return 0;
}

static int token_check(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct identity_caller c;
	struct token t;
	if (subject(r, &c, &t, err) < 0)
		return -1;
	http_reply__text(rp, 200, "application/json", strdup(""));
	return 0;
}

static int token_revoke(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct identity_caller c;
	struct token t;
	if (subject(r, &c, &t, err) < 0 || identity__revoke(routes_identity__id(r), &t, err) < 0)
		return -1;
	http_reply__text(rp, 204, "application/json", strdup(""));
	return 0;
}

/* --- what a token reaches --- */

static int auth_targets(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	enum identity_kind kind = *(const enum identity_kind *)http_request__route(r)->data;
	struct identity_caller c;
	json_t *list;
	if (routes_identity__caller(r, &c, err) < 0 ||
	    identity_ops__auth_targets(routes_identity__id(r), &c, kind, &list, err) < 0)
		return -1;
	return routes_identity__reply_list(r, rp, identity_ops__collection(kind), list, err);
}

static int auth_catalog(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct identity_caller c;
	json_t *catalog;
	if (routes_identity__caller(r, &c, err) < 0)
		return -1;
	if (c.token.scope == TOKEN_UNSCOPED)
		return err__fail_class(err, EPERM, "The service catalog needs a scoped token.");
	if (identity_db__catalog(routes_identity__id(r)->db, &catalog, err) < 0)
		return -1;
	char base[320], self[512];
	routes_identity__base(r, base, sizeof(base));
	snprintf(self, sizeof(self), "%s/v3/auth/catalog", base);
	http_reply__json(rp, 200, json_pack("{s:o,s:{s:s}}", "catalog", catalog, "links", "self", self));
	return 0;
}

static const enum identity_kind project_kind = IDENTITY_PROJECT, domain_kind = IDENTITY_DOMAIN;

static const struct http_route routes[] = {
	{"GET", "/identity", versions, NULL, NULL},
	{"GET", "/identity/", versions, NULL, NULL},
	{"GET", "/identity/v3", version, NULL, NULL},
	{"GET", "/identity/v3/", version, NULL, NULL},
	{"POST", "/identity/v3/auth/tokens", token_issue, NULL, NULL},
	{"GET", "/identity/v3/auth/tokens", token_validate, NULL, NULL},
	{"HEAD", "/identity/v3/auth/tokens", token_check, NULL, NULL},
	{"DELETE", "/identity/v3/auth/tokens", token_revoke, NULL, NULL},
	{"GET", "/identity/v3/auth/projects", auth_targets, NULL, &project_kind},
	{"GET", "/identity/v3/auth/domains", auth_targets, NULL, &domain_kind},
	{"GET", "/identity/v3/auth/catalog", auth_catalog, NULL, NULL},
};

const struct http_route *routes_identity__auth(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}
