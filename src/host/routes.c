#include "host/routes.h"
#include "common/cleanup.h"
#include "host/helper.h"
#include "common/util.h"
#include "host/domains.h"
#include "host/domxml.h"
#include "host/networks.h"
#include "host/storage.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

typedef int (*route_fn)(struct api_req *r, struct api_reply *out, struct st_err *err);

unsigned routes__status_of(const struct st_err *err)
{
	switch (err->errnum) {
	case EINVAL: return 400;
	case EACCES: case EPERM: return 403;
	case ENOENT: return 404;
	case EEXIST: case EBUSY: return 409;
	case E2BIG: return 413;
	default: return 500;
	}
}

static struct dom *dom_arg(struct api_req *r, struct st_err *err)
{
	return domains__find(r->h, r->segs[1], err);
}

static bool flag_arg(struct api_req *r, const char *name)
{
	const char *v = api__arg(r, name);
	return v && (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes"));
}

static int dom_list(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	const char *state = api__arg(r, "state"), *name = api__arg(r, "name"), *autostart = api__arg(r, "autostart");
	if (state && strcmp(state, "running") && strcmp(state, "paused") && strcmp(state, "shutoff") &&
	    strcmp(state, "active"))
		return host__fail(err, EINVAL, "state filter \"%s\" is not running, paused, shutoff or active", state);
	/* Listing is the hot path (thousands of domains): the reply is written
	 * as text. Names and uuids are validated to [A-Za-z0-9_.+-], so they
	 * need no JSON escaping; the fields are those of domains__summary(). */
	size_t cap = 64 + (size_t)r->h->nr_doms * 256, len = 0;
	char *text = malloc(cap);
	if (!text)
		return st_fail(err, ENOMEM, "list");
	text[len++] = '[';
	for (struct dom *d = r->h->doms; d; d = d->next) {
		if (state && (!strcmp(state, "active") ? d->state == DOM_SHUTOFF : strcmp(state, domains__state_name(d))))
			continue;
		if (name && fnmatch(name, d->name, 0))
			continue;
		if (autostart && d->autostart != flag_arg(r, "autostart"))
			continue;
		char pid[24] = "null";
		if (d->state != DOM_SHUTOFF)
			snprintf(pid, sizeof(pid), "%d", (int)d->proc.vm_pid);
		len += (size_t)snprintf(text + len, cap - len,
					"%s{\"name\":\"%s\",\"uuid\":\"%s\",\"state\":\"%s\",\"autostart\":%s,"
					"\"memory_mib\":%lld,\"vcpus\":%lld,\"pid\":%s}",
					len > 1 ? "," : "", d->name, d->uuid, domains__state_name(d),
					d->autostart ? "true" : "false",
					(long long)json_integer_value(json_object_get(d->def, "memory_mib")),
					(long long)json_integer_value(json_object_get(d->def, "vcpus")), pid);
	}
	snprintf(text + len, cap - len, "]\n");
	out->text = text;
	out->ctype = "application/json";
	return 0;
}

static int dom_define(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	json_t *in;
	bool xml = (r->content_type && strstr(r->content_type, "xml")) || (r->len && r->body[0] == '<');
	if (xml) {
		if (domxml__import(r->body, r->len, &in, err) < 0) {
			err->errnum = EINVAL;
			return -1;
		}
	} else if (api__body_json(r, &in, err) < 0) {
		return -1;
	}
	struct dom *d;
	int rc = domains__define(r->h, in, &d, err);
	json_decref(in);
	if (rc < 0)
		return -1;
	out->status = 201;
	out->json = domains__info(r->h, d);
	return 0;
}

static int dom_info(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	if (!d)
		return -1;
	out->json = domains__info(r->h, d);
	return 0;
}

static int dom_disk_attach(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	json_t *in;
	if (!d || api__body_json(r, &in, err) < 0)
		return -1;
	int rc = domains__attach_disk(r->h, d, in, &out->json, err);
	json_decref(in);
	if (rc == 0)
		out->status = 201;
	return rc;
}

static int dom_disk_detach(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	if (!d || domains__detach_disk(r->h, d, r->segs[3], err) < 0)
		return -1;
	out->json = domains__info(r->h, d);
	return 0;
}

static int dom_xml(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	if (!d)
		return -1;
	out->text = domxml__export(d->def);
	out->ctype = "application/xml";
	return out->text ? 0 : st_fail(err, ENOMEM, "XML export");
}

static int dom_interfaces(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	if (!d)
		return -1;
	out->json = networks__domain_addresses(r->h, d);
	return 0;
}

static int dom_console(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	if (!d)
		return -1;
	if (!r->can_write)
		return host__fail(err, EACCES, "the console needs full access");
	if (d->state == DOM_SHUTOFF)
		return host__fail(err, EBUSY, "domain '%s' is not running", d->name);
	cleanup_free char *path = domains__console_path(r->h, d);
	/* upgraded: the stream itself, for TCP clients too; otherwise the
	 * socket's path for a client on this host */
	if (api__wants_upgrade(r, API_CONSOLE_PROTO)) {
		out->console = st_steal_ptr(path);
		return 0;
	}
	out->json = json_pack("{s:s}", "path", path);
	return 0;
}

static int dom_undefine(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	if (!d)
		return -1;
	cleanup_free char *name = strdup(d->name);
	if (domains__undefine(r->h, d, flag_arg(r, "volumes"), err) < 0)
		return -1;
	out->json = json_pack("{s:s}", "undefined", name);
	return 0;
}

static int dom_action(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	if (!d)
		return -1;
	const char *act = r->segs[2];
	int rc;
	if (!strcmp(act, "start"))
		rc = domains__start(r->h, d, "booted", err);
	else if (!strcmp(act, "shutdown")) {
		uint64_t t = r->h->shutdown_timeout_s;
		const char *ts = api__arg(r, "timeout");
		if (ts && st_parse_u64(ts, 86400, &t, err) < 0)
			return host__fail(err, EINVAL, "timeout: %s", err->msg);
		rc = domains__shutdown(r->h, d, (unsigned)t, err);
	} else if (!strcmp(act, "destroy"))
		rc = domains__destroy(r->h, d, err);
	else if (!strcmp(act, "reboot"))
		rc = domains__reboot(r->h, d, err);
	else if (!strcmp(act, "suspend"))
		rc = domains__suspend(r->h, d, err);
	else if (!strcmp(act, "resume"))
		rc = domains__resume(r->h, d, err);
	else
		return host__fail(err, ENOENT, "no action '%s'", act);
	if (rc < 0)
		return -1;
	out->json = domains__summary(d);
	if (d->shutting_down)
		json_object_set_new(out->json, "shutting_down", json_true());
	return 0;
}

static int dom_autostart(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	if (!d)
		return -1;
	json_t *in;
	if (api__body_json(r, &in, err) < 0)
		return -1;
	json_t *v = json_object_get(in, "autostart");
	bool ok = json_is_boolean(v) && json_object_size(in) == 1;
	bool on = json_is_true(v);
	json_decref(in);
	if (!ok)
		return host__fail(err, EINVAL, "the body is {\"autostart\": true|false}");
	if (domains__set_autostart(r->h, d, on, err) < 0)
		return -1;
	out->json = domains__summary(d);
	return 0;
}

static int events_stream(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	(void)r, (void)err;
	out->sse = true;
	return 0;
}

static int audit_list(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	uint64_t limit = 100;
	const char *l = api__arg(r, "limit");
	if (l && st_parse_u64(l, 100000, &limit, err) < 0)
		return host__fail(err, EINVAL, "limit: %s", err->msg);
	if (!r->can_write)
		return host__fail(err, EACCES, "the audit log needs full access");
	out->json = store__audit_list(r->h->store, (unsigned)limit);
	return 0;
}

static int host_info(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	(void)err;
	unsigned running = 0;
	for (struct dom *d = r->h->doms; d; d = d->next)
		running += d->state != DOM_SHUTOFF;
	out->json = json_pack("{s:s, s:i, s:i, s:i, s:i, s:b}", "version", STRATA_VERSION, "schema",
			      store__schema_version(r->h->store), "domains", (int)r->h->nr_doms, "active",
			      (int)running, "uid", (int)r->uid, "write_access", r->can_write);
	return 0;
}

/* storage */
static int with_body(struct api_req *r, json_t **in, struct st_err *err)
{
	return api__body_json(r, in, err);
}

static int pool_list(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	(void)err;
	out->json = storage__pool_list(r->h);
	return 0;
}

static int pool_define(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	json_t *in;
	if (with_body(r, &in, err) < 0)
		return -1;
	int rc = storage__pool_define(r->h, in, &out->json, err);
	json_decref(in);
	out->status = 201;
	return rc;
}

static int pool_info(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	return storage__pool_info(r->h, r->segs[1], &out->json, err);
}

static int pool_undefine(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	if (storage__pool_undefine(r->h, r->segs[1], err) < 0)
		return -1;
	out->json = json_pack("{s:s}", "undefined", r->segs[1]);
	return 0;
}

static int vol_list(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	return storage__volume_list(r->h, r->segs[1], &out->json, err);
}

static int vol_create(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	json_t *in;
	if (with_body(r, &in, err) < 0)
		return -1;
	int rc = storage__volume_create(r->h, r->segs[1], in, &out->json, err);
	json_decref(in);
	out->status = 201;
	return rc;
}

static int vol_info(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	return storage__volume_info(r->h, r->segs[1], r->segs[3], &out->json, err);
}

static int vol_delete(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	if (storage__volume_delete(r->h, r->segs[1], r->segs[3], err) < 0)
		return -1;
	out->json = json_pack("{s:s}", "deleted", r->segs[3]);
	return 0;
}

static int vol_action(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	json_t *in;
	if (with_body(r, &in, err) < 0)
		return -1;
	int rc = !strcmp(r->segs[4], "clone") ? storage__volume_clone(r->h, r->segs[1], r->segs[3], in, &out->json, err)
					      : storage__volume_resize(r->h, r->segs[1], r->segs[3], in, &out->json, err);
	if (rc == 0 && !strcmp(r->segs[4], "clone"))
		out->status = 201;
	json_decref(in);
	return rc;
}

static int vol_download(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	if (!r->can_write)
		return host__fail(err, EACCES, "downloading a volume needs full access");
	out->fd = storage__volume_open_download(r->h, r->segs[1], r->segs[3], &out->fd_size, err);
	out->ctype = "application/octet-stream";
	return out->fd < 0 ? -1 : 0;
}

static const struct route {
	const char *method;
	const char *pattern; /* segments after /v1/, '*' matches one */
	route_fn fn;
} routes[] = {
	{"GET", "host", host_info},
	{"GET", "domains", dom_list},
	{"POST", "domains", dom_define},
	{"GET", "domains/*", dom_info},
	{"DELETE", "domains/*", dom_undefine},
	{"GET", "domains/*/xml", dom_xml},
	{"GET", "domains/*/console", dom_console},
	{"GET", "domains/*/interfaces", dom_interfaces},
	{"POST", "domains/*/disks", dom_disk_attach},
	{"DELETE", "domains/*/disks/*", dom_disk_detach},
	{"POST", "domains/*/start", dom_action},
	{"POST", "domains/*/shutdown", dom_action},
	{"POST", "domains/*/destroy", dom_action},
	{"POST", "domains/*/reboot", dom_action},
	{"POST", "domains/*/suspend", dom_action},
	{"POST", "domains/*/resume", dom_action},
	{"PUT", "domains/*/autostart", dom_autostart},
	{"GET", "events", events_stream},
	{"GET", "audit", audit_list},
	{"GET", "pools", pool_list},
	{"POST", "pools", pool_define},
	{"GET", "pools/*", pool_info},
	{"DELETE", "pools/*", pool_undefine},
	{"GET", "pools/*/volumes", vol_list},
	{"POST", "pools/*/volumes", vol_create},
	{"GET", "pools/*/volumes/*", vol_info},
	{"DELETE", "pools/*/volumes/*", vol_delete},
	{"POST", "pools/*/volumes/*/clone", vol_action},
	{"POST", "pools/*/volumes/*/resize", vol_action},
	{"GET", "pools/*/volumes/*/data", vol_download},
	{"GET", "networks", networks__api_list},
	{"POST", "networks", networks__api_define},
	{"GET", "networks/*", networks__api_info},
	{"DELETE", "networks/*", networks__api_undefine},
	{"POST", "networks/*/start", networks__api_start},
	{"POST", "networks/*/stop", networks__api_stop},
	{"GET", "networks/*/leases", networks__api_leases},
	{"PUT", "networks/*/autostart", networks__api_autostart},
};

static bool route_matches(const struct route *rt, const struct api_req *r)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "%s", rt->pattern);
	int i = 0;
	for (char *save, *s = strtok_r(pat, "/", &save); s; s = strtok_r(NULL, "/", &save), i++)
		if (i >= r->nsegs || (strcmp(s, "*") && strcmp(s, r->segs[i])))
			return false;
	return i == r->nsegs;
}

int routes__dispatch(struct api_req *r, struct api_reply *out, struct st_err *err)
{
	bool path_known = false;
	for (size_t i = 0; i < ST_ARRAY_SIZE(routes); i++) {
		if (!route_matches(&routes[i], r))
			continue;
		path_known = true;
		if (strcmp(routes[i].method, r->method))
			continue;
		if (strcmp(r->method, "GET") && !r->can_write)
			return host__fail(err, EACCES, "uid %d has read-only access (root or the 'strata' group can "
				       "change things)", (int)r->uid);
		return routes[i].fn(r, out, err);
	}
	if (path_known) {
		out->status = 405;
		out->json = json_pack("{s:{s:i, s:s}}", "error", "code", 405, "message", "method not allowed here");
		return 0;
	}
	return host__fail(err, ENOENT, "no such endpoint");
}
