/* Nova's request machinery: the version documents, microversion
 * negotiation, the caller from the token, Nova's error bodies, links. */
#include "cloud/compute/routes_compute.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/http_path.h"
#include "common/json_util.h"
#include "common/util.h"
#include "cloud/cloud.h"
#include "cloud/identity/routes_identity.h"

struct db *routes_compute__db(const struct http_request *r)
{
	return ((struct cloud *)http_request__app(r))->db;
}

static const char *query_get(void *ctx, const char *key)
{
	return http_request__query(ctx, key);
}

struct compute_query routes_compute__query(struct http_request *r)
{
	return (struct compute_query){query_get, r};
}

/* "http://HOST/compute": the identity service's base with our prefix (the
 * same checks on the Host header). */
static void base_url(const struct http_request *r, char *out, size_t size)
{
	routes_identity__base(r, out, size);
	char *slash = strrchr(out, '/');
	if (slash)
		snprintf(slash, size - (size_t)(slash - out), "/compute");
}

json_t *routes_compute__links(const struct http_request *r, const char *collection,
			      const char *id)
{
	char base[320], part[800], self[1200], bookmark[1200];
	base_url(r, base, sizeof(base));
	http_path__encode(id ? id : "", part, sizeof(part));
	snprintf(self, sizeof(self), "%s/v2.1/%s/%s", base, collection, part);
	snprintf(bookmark, sizeof(bookmark), "%s/%s/%s", base, collection, part);
	return json_pack("[{s:s,s:s},{s:s,s:s}]", "rel", "self", "href", self, "rel", "bookmark",
			 "href", bookmark);
}

json_t *routes_compute__next(struct http_request *r, const char *collection, json_t *page,
			     const char *id_key)
{
	const char *limit = http_request__query(r, "limit");
	size_t n = json_array_size(page);
	if (!limit || !n || (size_t)strtoll(limit, NULL, 10) != n)
		return NULL;
	char base[320], part[800], href[1400];
	base_url(r, base, sizeof(base));
	json_t *last = json_object_get(json_array_get(page, n - 1), id_key);
	char id[64];
	if (json_is_integer(last))
		snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(last));
	http_path__encode(json_is_string(last) ? json_string_value(last) : id, part, sizeof(part));
	snprintf(href, sizeof(href), "%s/v2.1/%s?limit=%s&marker=%s", base, collection, limit, part);
	return json_pack("[{s:s,s:s}]", "href", href, "rel", "next");
}

int routes_compute__reply(struct http_reply *rp, unsigned status, json_t *body)
{
	if (body)
		http_reply__json(rp, status, body);
	else
		http_reply__text(rp, status, "application/json", strdup(""));
	return 0;
}

int routes_compute__member(struct http_reply *rp, const char *member, json_t *obj)
{
	return routes_compute__reply(rp, 200, json_pack("{s:o}", member, obj));
}

/* --- errors --- */

static const char *fault_name(unsigned status)
{
	switch (status) {
	case 400: return "badRequest";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "itemNotFound";
	case 405: return "badMethod";
	case 409: return "conflictingRequest";
	case 413: return "overLimit";
	case 415: return "badMediaType";
	case 429: return "overLimit";
	case 501: return "notImplemented";
	case 503: return "serviceUnavailable";
	default: return "computeFault";
	}
}

json_t *routes_compute__error_body(const struct http_request *r, unsigned status,
				   const char *message)
{
	const char *path = r ? http_request__path(r) : NULL;
	if (!path || strncmp(path, "/compute", 8) || (path[8] && path[8] != '/'))
		return NULL;
	/* keystonemiddleware answers 401 before Nova sees the request */
	if (status == 401)
		return NULL;
	return json_pack("{s:{s:i,s:s}}", fault_name(status), "code", (int)status, "message", message);
}

/* --- microversions --- */

/* 2.N of "2.N" (N in 0..999), "latest" as the maximum; -1 for a bad format,
 * 0 for a version outside 2.x. */
static int parse_version(const char *v, int *minor)
{
	if (!strcasecmp(v, "latest")) {
		*minor = COMPUTE_MV_MAX;
		return 1;
	}
	char *end;
	errno = 0;
	long major = strtol(v, &end, 10);
	if (end == v || *end != '.' || !isdigit((unsigned char)end[1]) || *v == '0' || errno)
		return -1;
	const char *m = end + 1;
	long n = strtol(m, &end, 10);
	if (*end || (m[0] == '0' && m[1]) || errno || n > 999)
		return -1;
	*minor = (int)n;
	return major == 2 ? 1 : 0;
}

/* The compute entry of "compute 2.60, image 2.1", trimmed, into out. */
static bool compute_entry(const char *header, char *out, size_t size)
{
	cleanup_free char *copy = strdup(header);
	char *save = NULL;
	for (char *item = copy ? strtok_r(copy, ",", &save) : NULL; item;
	     item = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*item))
			item++;
		if (strncasecmp(item, "compute", 7) || !isspace((unsigned char)item[7]))
			continue;
		char *v = item + 7;
		while (isspace((unsigned char)*v))
			v++;
		size_t len = strlen(v);
		while (len && isspace((unsigned char)v[len - 1]))
			len--;
		snprintf(out, size, "%.*s", (int)len, v);
		return true;
	}
	return false;
}

/* The request's microversion; 400 for a malformed one, 406 outside ours
 * (replied here: 406 has no err class). *replied says so. */
static int negotiate(struct http_request *r, struct http_reply *rp, int *mv, bool *replied,
		     struct st_err *err)
{
	char text[64] = "";
	const char *h = http_request__header(r, "OpenStack-API-Version");
	if (!h || !compute_entry(h, text, sizeof(text))) {
		h = http_request__header(r, "X-OpenStack-Nova-API-Version");
		if (h)
			snprintf(text, sizeof(text), "%s", h);
	}
	*mv = COMPUTE_MV_MIN;
	if (!text[0])
		return 0;
	int rc = parse_version(text, mv);
	if (rc < 0)
		return err__fail_class(err, EINVAL, "API Version String %s is of invalid format. Must "
				       "be of format MajorNum.MinorNum.", text);
	if (rc == 0 || *mv < COMPUTE_MV_MIN || *mv > COMPUTE_MV_MAX) {
		char msg[256];
		snprintf(msg, sizeof(msg), "Version %s is not supported by the API. Minimum is 2.%d "
			 "and maximum is 2.%d.", text, COMPUTE_MV_MIN, COMPUTE_MV_MAX);
		*mv = COMPUTE_MV_MIN;
		*replied = true;
		return http_reply__error(rp, 406, msg);
	}
	return 0;
}

static void version_headers(struct http_reply *rp, int mv)
{
	char v[32], both[48];
	snprintf(v, sizeof(v), "2.%d", mv);
	snprintf(both, sizeof(both), "compute 2.%d", mv);
	http_reply__header(rp, "OpenStack-API-Version", both);
	http_reply__header(rp, "X-OpenStack-Nova-API-Version", v);
	http_reply__header(rp, "Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version");
}

/* The token's user, project and roles, and its credentials for the policy. */
static int caller_of(struct http_request *r, struct compute_caller *c, struct st_err *err)
{
	struct identity *id = routes_identity__id(r);
	const char *text = http_request__header(r, "X-Auth-Token");
	struct identity_caller ic;
	if (!text || !*text || identity__caller(id, text, &ic, err) < 0)
		return err__fail_class(err, EACCES, "The request you have made requires authentication.");
	snprintf(c->user_id, sizeof(c->user_id), "%s", ic.token.user_id);
	if (ic.token.scope == TOKEN_PROJECT || ic.token.scope == TOKEN_APP_CRED)
		snprintf(c->project_id, sizeof(c->project_id), "%s", ic.token.project_id);
	for (size_t i = 0; i < ic.n_roles; i++) {
		c->reader = true;
		c->member |= !strcmp(ic.roles[i], "member") || !strcmp(ic.roles[i], "admin");
		c->admin |= !strcmp(ic.roles[i], "admin");
	}
	c->policy = id->policy;
	c->creds = identity__credentials(&ic);
	return c->creds ? 0 : err__fail(err, ENOMEM, "out of memory");
}

int routes_compute__run(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	const struct compute_op *op = http_request__route(r)->data;
	struct compute_caller c = {0};
	bool replied = false;
	int rc = negotiate(r, rp, &c.mv, &replied, err);
	if (rc == 0 && !replied) {
		if ((op->min_mv && c.mv < op->min_mv) || (op->max_mv && c.mv > op->max_mv))
			rc = err__fail_class(err, ENOENT, "The resource could not be found.");
		else if (!op->noauth)
			rc = caller_of(r, &c, err);
		if (rc == 0)
			rc = op->fn(r, rp, &c, err);
	}
	json_decref(c.creds);
	if (rc < 0) {
		/* identity.h's EACCES is "authenticate first" */
		unsigned status = err->errnum == EACCES ? 401 : http_server__status_of(err);
		http_reply__error(rp, status, err->msg[0] ? err->msg : "internal error");
	}
	version_headers(rp, c.mv);
	return 0;
}

/* --- the version documents --- */

static json_t *version_v21(const struct http_request *r, bool full)
{
	char base[320], self[400], minv[16], maxv[16];
	base_url(r, base, sizeof(base));
	snprintf(self, sizeof(self), "%s/v2.1/", base);
	snprintf(minv, sizeof(minv), "2.%d", COMPUTE_MV_MIN);
	snprintf(maxv, sizeof(maxv), "2.%d", COMPUTE_MV_MAX);
	json_t *v = json_pack("{s:s,s:s,s:s,s:s,s:s,s:[{s:s,s:s}]}", "id", "v2.1", "status", "CURRENT",
			      "version", maxv, "min_version", minv, "updated", "2013-07-23T11:33:21Z",
			      "links", "rel", "self", "href", self);
	if (full) {
		json_array_append_new(json_object_get(v, "links"),
				      json_pack("{s:s,s:s,s:s}", "rel", "describedby", "type", "text/html",
						"href", "http://docs.openstack.org/"));
		json_object_set_new(v, "media-types",
				    json_pack("[{s:s,s:s}]", "base", "application/json", "type",
					      "application/vnd.openstack.compute+json;version=2.1"));
	}
	return v;
}

static int versions(struct http_request *r, struct http_reply *rp, const struct compute_caller *c,
		    struct st_err *err)
{
	(void)c, (void)err;
	http_reply__json(rp, 200, json_pack("{s:[o]}", "versions", version_v21(r, false)));
	return 0;
}

static int version(struct http_request *r, struct http_reply *rp, const struct compute_caller *c,
		   struct st_err *err)
{
	(void)c, (void)err;
	http_reply__json(rp, 200, json_pack("{s:o}", "version", version_v21(r, true)));
	return 0;
}

/* The documents are outside /compute/v2.1 for two of them: full paths. */
static const struct http_route version_routes[] = {
	{"GET", "/compute", routes_compute__run, .data = &(const struct compute_op){.fn = versions, .noauth = true}},
	{"GET", "/compute/", routes_compute__run, .data = &(const struct compute_op){.fn = versions, .noauth = true}},
	COMPUTE_ROUTE("GET", "", version, .noauth = true),
	COMPUTE_ROUTE("GET", "/", version, .noauth = true),
};

const struct http_route *routes_compute__versions(size_t *n)
{
	*n = ST_ARRAY_SIZE(version_routes);
	return version_routes;
}
