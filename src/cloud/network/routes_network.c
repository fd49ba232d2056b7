/* Neutron v2.0's version discovery, networks, subnets and ports. */
#include "cloud/network/routes_network.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"
#include "cloud/cloud.h"
#include "cloud/network/network.h"

#define PREFIX "/networking"

bool routes_network__owns(const char *path)
{
	return path && !strncmp(path, PREFIX, strlen(PREFIX)) &&
	       (path[strlen(PREFIX)] == 0 || path[strlen(PREFIX)] == '/');
}

json_t *routes_network__error(unsigned status, const char *message)
{
	const char *type = status == 400 ? "HTTPBadRequest" : status == 401 ? "HTTPUnauthorized"
			 : status == 403 ? "HTTPForbidden" : status == 404 ? "HTTPNotFound"
			 : status == 405 ? "HTTPMethodNotAllowed" : status == 409 ? "HTTPConflict"
			 : status < 500 ? "HTTPClientError" : "HTTPInternalServerError";
	return json_pack("{s:{s:s, s:s, s:s}}", "NeutronError", "type", type, "message",
			 message ? message : "", "detail", "");
}

static struct cloud *cloud_of(const struct http_request *r)
{
	return http_request__app(r);
}

/* The caller of the request's token: admin when it has the admin role. */
static int caller(struct http_request *r, struct network_caller *c, struct st_err *err)
{
	struct identity_caller ic;
	*c = (struct network_caller){0};
	if (identity__caller(&cloud_of(r)->identity, http_request__header(r, "X-Auth-Token"), &ic, err) < 0)
		return -1;
	if (!ic.token.project_id[0])
		return err__fail_class(err, EPERM, "The Networking service needs a project-scoped token.");
	c->admin = ic.admin;
	snprintf(c->user_id, sizeof(c->user_id), "%s", ic.token.user_id);
	snprintf(c->project_id, sizeof(c->project_id), "%s", ic.token.project_id);
	return 0;
}

static void base_url(const struct http_request *r, char *out, size_t len)
{
	const char *host = http_request__header(r, "Host");
	if (!host || !*host || strlen(host) > 255 || strpbrk(host, "/\"\\ \t<>"))
		host = "localhost";
	snprintf(out, len, "%s://%s" PREFIX, http_server__scheme(http_request__server(r)), host);
}

static int versions(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	(void)err;
	char base[320], href[340];
	base_url(r, base, sizeof(base));
	snprintf(href, sizeof(href), "%s/v2.0/", base);
	http_reply__json(rp, 200, json_pack("{s:[{s:s, s:s, s:[{s:s, s:s}]}]}", "versions", "id", "v2.0", "status",
					    "CURRENT", "links", "href", href, "rel", "self"));
	return 0;
}

static int resources(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	(void)err;
	char base[320];
	base_url(r, base, sizeof(base));
	json_t *list = json_array();
	for (int k = NETWORK_NETWORKS; k <= NETWORK_PORTS; k++) {
		char href[400];
		snprintf(href, sizeof(href), "%s/v2.0/%s", base, network__collection(k));
		json_array_append_new(list, json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "name", network__member(k),
						      "collection", network__collection(k), "links", "href", href,
						      "rel", "self"));
	}
	http_reply__json(rp, 200, json_pack("{s:o}", "resources", list));
	return 0;
}

static int extensions(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct network_caller c;
	if (caller(r, &c, err) < 0)
		return -1;
	http_reply__json(rp, 200, json_pack("{s:[]}", "extensions"));
	return 0;
}

/* A create over quota: Neutron's OverQuota body (409). */
static int over_quota(struct http_reply *rp, const struct st_err *err)
{
	http_reply__json(rp, 409, json_pack("{s:{s:s, s:s, s:s}}", "NeutronError", "type", "OverQuota", "message",
					    err->msg, "detail", ""));
	return 0;
}

/* GET quotas/{project}[/default|/details]: default shows Neutron's
 * defaults by asking for a project that has no limits of its own. */
static int quota_show(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct network_caller c;
	const char *path = http_request__path(r), *project = http_request__capture(r, "project");
	size_t len = strlen(path);
	bool dflt = len > 8 && !strcmp(path + len - 8, "/default");
	bool details = strstr(path + strlen(PREFIX "/v2.0/quotas/"), "/details") != NULL;
	json_t *out;
	if (caller(r, &c, err) < 0)
		return -1;
	if (dflt) /* anyone may read the defaults */
		c.admin = true;
	if (network__quota_show(cloud_of(r)->db, &c, dflt ? "" : project, details, &out, err) < 0)
		return -1;
	http_reply__json(rp, 200, json_pack("{s:o}", "quota", out));
	return 0;
}

static int quota_update(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct network_caller c;
	cleanup_json json_t *body = NULL;
	json_t *out;
	if (caller(r, &c, err) < 0 || http_request__body_json(r, &body, err) < 0)
		return -1;
	json_t *q = json_object_get(body, "quota");
	if (!q || json_object_size(body) != 1)
		return err__fail_class(err, EINVAL, "Resource body required: {\"quota\": {...}}");
	if (network__quota_update(cloud_of(r)->db, &c, http_request__capture(r, "project"), q, &out, err) < 0)
		return -1;
	http_reply__json(rp, 200, json_pack("{s:o}", "quota", out));
	return 0;
}

static int quota_reset(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct network_caller c;
	if (caller(r, &c, err) < 0 ||
	    network__quota_update(cloud_of(r)->db, &c, http_request__capture(r, "project"), NULL, NULL, err) < 0)
		return -1;
	http_reply__text(rp, 204, "text/plain", strdup(""));
	return 0;
}

/* The resource kind a route's path names (its datum). */
static enum network_kind kind_of(const struct http_request *r)
{
	const char *p = http_request__path(r) + strlen(PREFIX "/v2.0/");
	return !strncmp(p, "networks", 8) ? NETWORK_NETWORKS : !strncmp(p, "subnets", 7) ? NETWORK_SUBNETS
											: NETWORK_PORTS;
}

/* A link of a page: this request's query with marker (and page_reverse
 * for the previous page) replaced, as Neutron's get_pagination_links. */
static json_t *page_link(struct http_request *r, const char *rel, const char *marker, bool reverse)
{
	char base[320];
	base_url(r, base, sizeof(base));
	cleanup_free char *q = NULL;
	size_t qlen = 0;
	FILE *f = open_memstream(&q, &qlen);
	if (!f)
		return NULL;
	const char *name, *value;
	fprintf(f, "%s%s?", base, http_request__path(r) + strlen(PREFIX));
	for (size_t i = 0; http_request__query_at(r, i, &name, &value); i++) {
		if (!strcmp(name, "marker") || !strcmp(name, "page_reverse"))
			continue;
		cleanup_free char *n = util__url_escape(name), *v = util__url_escape(value);
		fprintf(f, "%s=%s&", n ? n : "", v ? v : "");
	}
	cleanup_free char *m = util__url_escape(marker);
	fprintf(f, "marker=%s%s", m ? m : "", reverse ? "&page_reverse=True" : "");
	fclose(f);
	return json_pack("{s:s, s:s}", "rel", rel, "href", q);
}

/* Neutron's paging over the ordered list: limit items after the marker
 * (before it with page_reverse), and the next/previous links. */
static int paginate(struct http_request *r, json_t **list, json_t **links, struct st_err *err)
{
	const char *limit = http_request__query(r, "limit"), *marker = http_request__query(r, "marker");
	const char *rev = http_request__query(r, "page_reverse");
	bool reverse = rev && !strcasecmp(rev, "true");
	char *end = NULL;
	long long n = limit ? strtoll(limit, &end, 10) : 0;
	*links = NULL;
	if (limit && (!*limit || *end || n < 0))
		return err__fail_class(err, EINVAL, "Limit must be an integer 0 or greater and not '%.32s'", limit);
	size_t size = json_array_size(*list), from = 0, to = size, at = size;
	if (marker) {
		for (size_t i = 0; i < size && at == size; i++)
			if (!strcmp(json_string_value(json_object_get(json_array_get(*list, i), "id")), marker))
				at = i;
		if (at == size)
			return err__fail_class(err, ENOENT, "Marker %.64s could not be found.", marker);
		if (reverse)
			to = at;
		else
			from = at + 1;
	}
	if (n > 0 && (size_t)n < to - from) {
		if (reverse)
			from = to - (size_t)n;
		else
			to = from + (size_t)n;
	}
	json_t *page = json_array();
	for (size_t i = from; i < to; i++)
		json_array_append(page, json_array_get(*list, i));
	json_decref(*list);
	*list = page;
	if (n <= 0)
		return 0;
	size_t got = to - from;
	json_t *l = json_array();
	const char *first = json_string_value(json_object_get(json_array_get(page, 0), "id"));
	const char *last = json_string_value(json_object_get(json_array_get(page, got ? got - 1 : 0), "id"));
	if (!(got < (size_t)n && !reverse) && got)
		json_array_append_new(l, page_link(r, "next", last, false));
	if (!(got < (size_t)n && reverse) && got)
		json_array_append_new(l, page_link(r, "previous", first, true));
	*links = l;
	return 0;
}

static int list(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct network_caller c;
	enum network_kind k = kind_of(r);
	const char *keys[64], *values[64];
	size_t n = 0;
	const char *name, *value;
	for (size_t i = 0; http_request__query_at(r, i, &name, &value); i++) {
		if (n == 64)
			return err__fail_class(err, EINVAL, "too many query arguments (at most 64)");
		keys[n] = name;
		values[n++] = value;
	}
	struct network_filter f = {n, keys, values};
	json_t *out, *links;
	if (caller(r, &c, err) < 0 || network__list(cloud_of(r)->db, &c, k, &f, &out, err) < 0)
		return -1;
	if (paginate(r, &out, &links, err) < 0) {
		json_decref(out);
		return -1;
	}
	json_t *reply = json_pack("{s:o}", network__collection(k), out);
	if (links) {
		char key[64];
		snprintf(key, sizeof(key), "%s_links", network__collection(k));
		json_object_set_new(reply, key, links);
	}
	http_reply__json(rp, 200, reply);
	return 0;
}

static int show(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct network_caller c;
	enum network_kind k = kind_of(r);
	json_t *out;
	if (caller(r, &c, err) < 0 ||
	    network__show(cloud_of(r)->db, &c, k, http_request__capture(r, "id"), &out, err) < 0)
		return -1;
	http_reply__json(rp, 200, json_pack("{s:o}", network__member(k), out));
	return 0;
}

/* The one object a create or update names ({"port": {...}} and nothing beside it). */
static json_t *single_member(json_t *body, enum network_kind k, struct st_err *err)
{
	json_t *member = json_object_get(body, network__member(k));
	if (json_is_object(member) && json_object_size(body) == 1)
		return member;
	err__fail_class(err, EINVAL, "Resource body required: {\"%s\": {...}}", network__member(k));
	return NULL;
}

static int create(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct network_caller c;
	enum network_kind k = kind_of(r);
	cleanup_json json_t *body = NULL;
	json_t *out;
	if (caller(r, &c, err) < 0 || http_request__body_json(r, &body, err) < 0)
		return -1;
	if (json_is_array(json_object_get(body, network__collection(k))))
		return err__fail_class(err, EINVAL, "Bulk creation of %s is not supported here",
				       network__collection(k));
	json_t *member = single_member(body, k, err);
	if (!member || network__create(cloud_of(r)->db, &c, k, member, &out, err) < 0) {
		if (err->errnum == EDQUOT)
			return over_quota(rp, err);
		if (err->errnum == ENOSPC) /* IpAddressGenerationFailure is Neutron's 409 */
			err->errnum = EEXIST;
		return -1;
	}
	http_reply__json(rp, 201, json_pack("{s:o}", network__member(k), out));
	return 0;
}

static int update(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct network_caller c;
	enum network_kind k = kind_of(r);
	cleanup_json json_t *body = NULL;
	json_t *out;
	if (caller(r, &c, err) < 0 || http_request__body_json(r, &body, err) < 0)
		return -1;
	json_t *member = single_member(body, k, err);
	if (!member ||
	    network__update(cloud_of(r)->db, &c, k, http_request__capture(r, "id"), member, &out, err) < 0) {
		if (err->errnum == ENOSPC)
			err->errnum = EEXIST;
		return -1;
	}
	http_reply__json(rp, 200, json_pack("{s:o}", network__member(k), out));
	return 0;
}

static int delete(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct network_caller c;
	if (caller(r, &c, err) < 0 ||
	    network__delete(cloud_of(r)->db, &c, kind_of(r), http_request__capture(r, "id"), err) < 0)
		return -1;
	http_reply__text(rp, 204, "text/plain", strdup(""));
	return 0;
}

#define COLLECTION(c)                                                                                           \
	{"GET", PREFIX "/v2.0/" c, list, NULL, NULL}, {"POST", PREFIX "/v2.0/" c, create, NULL, NULL},             \
	{"GET", PREFIX "/v2.0/" c "/{id}", show, NULL, NULL},                                                      \
	{"DELETE", PREFIX "/v2.0/" c "/{id}", delete, NULL, NULL}

static const struct http_route routes[] = {
	{"GET", PREFIX, versions, NULL, NULL},
	{"GET", PREFIX "/", versions, NULL, NULL},
	{"GET", PREFIX "/v2.0", resources, NULL, NULL},
	{"GET", PREFIX "/v2.0/", resources, NULL, NULL},
	{"GET", PREFIX "/v2.0/extensions", extensions, NULL, NULL},
	{"GET", PREFIX "/v2.0/quotas/{project}", quota_show, NULL, NULL},
	{"PUT", PREFIX "/v2.0/quotas/{project}", quota_update, NULL, NULL},
	{"DELETE", PREFIX "/v2.0/quotas/{project}", quota_reset, NULL, NULL},
	{"GET", PREFIX "/v2.0/quotas/{project}/default", quota_show, NULL, NULL},
	{"GET", PREFIX "/v2.0/quotas/{project}/details", quota_show, NULL, NULL},
	{"GET", PREFIX "/v2.0/quotas/{project}/details.json", quota_show, NULL, NULL},
	{"PUT", PREFIX "/v2.0/ports/{id}", update, NULL, NULL},
	COLLECTION("networks"),
	COLLECTION("subnets"),
	COLLECTION("ports"),
};

const struct http_route *routes_network__api(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}
