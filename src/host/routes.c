#include "host/routes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_util.h"
#include "common/util.h"
#include "host/domxml.h"

const struct routes_ctx *routes__ctx(const struct http_request *r)
{
	return http_request__user(r);
}

struct host *routes__host(const struct http_request *r)
{
	return routes__ctx(r)->h;
}

struct http_route *routes__table(size_t *n)
{
	const struct {
		const struct http_route *routes;
		size_t n;
	} parts[] = {
		{routes__table_host, routes__nr_host},
		{routes__table_domains, routes__nr_domains},
		{routes__table_storage, routes__nr_storage},
		{routes__table_networks, routes__nr_networks},
		{routes__table_session, routes__nr_session},
		{routes__table_images, routes__nr_images},
		{routes__table_virsh, routes__nr_virsh},
		{routes__table_templates, routes__nr_templates},
		{routes__table_console, routes__nr_console},
	};
	*n = 0;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		*n += parts[i].n;
	struct http_route *all = calloc(*n, sizeof(*all)), *p = all;
	for (size_t i = 0; all && i < sizeof(parts) / sizeof(parts[0]); i++) {
		memcpy(p, parts[i].routes, parts[i].n * sizeof(*p));
		p += parts[i].n;
	}
	return all;
}

int routes__json(struct http_reply *rp, unsigned status, int rc, json_t **out)
{
	if (rc < 0) {
		json_decref(*out);
		return -1;
	}
	http_reply__json(rp, status, *out);
	return 0;
}

int routes__query_u64(const struct http_request *r, const char *name, uint64_t max, uint64_t *out, struct st_err *err)
{
	const char *v = http_request__query(r, name);
	if (v && util__parse_u64(v, max, out, err) < 0)
		return err__class(err, EINVAL, err__prefix(err, "%s", name));
	return 0;
}

int routes__autostart_body(const struct http_request *r, bool *on, struct st_err *err)
{
	cleanup_json json_t *in = NULL;
	if (http_request__body_json(r, &in, err) < 0)
		return -1;
	json_t *v = json_object_get(in, "autostart");
	if (!json_is_boolean(v) || json_object_size(in) != 1)
		return err__fail_class(err, EINVAL, "the body is {\"autostart\": true|false}");
	*on = json_is_true(v);
	return 0;
}

int routes__body_def(const struct http_request *r, routes_xml_import_fn import, json_t **in, struct st_err *err)
{
	size_t len;
	const char *body = http_request__body(r, &len), *ctype = http_request__header(r, "Content-Type");
	size_t ws = 0;
	while (ws < len && strchr(" \t\r\n", body[ws]))
		ws++;
	if ((ctype && strstr(ctype, "xml")) || (ws < len && body[ws] == '<'))
		return import(body, len, in, err) < 0 ? err__class(err, EINVAL, -1) : 0;
	return http_request__body_json(r, in, err);
}

int routes__domain_body(const struct http_request *r, json_t **out, struct st_err *err)
{
	return routes__body_def(r, domxml__import, out, err);
}

int routes__xml(struct http_reply *rp, int rc, json_t **info, char *(*export)(const json_t *info),
		struct st_err *err)
{
	if (rc < 0)
		return -1;
	char *text = export(*info);
	json_decref(*info);
	if (!text)
		return err__fail(err, ENOMEM, "XML export");
	http_reply__text(rp, 200, "application/xml", text);
	return 0;
}
