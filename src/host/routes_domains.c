/* /v1/domains: definitions, lifecycle actions, disks, the console. */
#include "host/routes.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/sock.h"
#include "common/util.h"
#include "host/domain_disks.h"
#include "host/domains.h"
#include "host/domxml.h"
#include "host/networks.h"

#define CONSOLE_PROTO "strata-console"

static struct dom *dom_arg(struct http_request *r, struct st_err *err)
{
	return domains__find(routes__host(r), http_request__capture(r, "name"), err);
}

static int dom_list(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct host *h = routes__host(r);
	const char *state = http_request__query(r, "state"), *name = http_request__query(r, "name"),
		   *autostart = http_request__query(r, "autostart");
	if (state && strcmp(state, "running") && strcmp(state, "paused") && strcmp(state, "shutoff") &&
	    strcmp(state, "active"))
		return err__fail_class(err, EINVAL, "state filter \"%s\" is not running, paused, shutoff or active",
				       state);
	/* Listing is the hot path (thousands of domains): the reply is written
	 * as text. Names and uuids are validated to [A-Za-z0-9_.+-], so they
	 * need no JSON escaping; the fields are those of domains__summary(). */
	size_t cap = 64 + (size_t)h->nr_doms * 256, len = 0;
	char *text = malloc(cap);
	if (!text)
		return err__fail(err, ENOMEM, "list");
	text[len++] = '[';
	for (struct dom *d = h->doms; d; d = d->next) {
		if (state && (!strcmp(state, "active") ? d->state == DOM_SHUTOFF : strcmp(state, domains__state_name(d))))
			continue;
		if (name && fnmatch(name, d->name, 0))
			continue;
		if (autostart && d->autostart != http_request__query_flag(r, "autostart"))
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
	http_reply__text(rp, 200, "application/json", text);
	return 0;
}

static int dom_define(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	cleanup_json json_t *in = NULL;
	if (routes__domain_body(r, &in, err) < 0)
		return -1;
	struct dom *d;
	bool transient = http_request__query_flag(r, "transient");
	if (transient != http_request__query_flag(r, "start"))
		return err__fail_class(err, EINVAL, "transient=1 and start=1 go together (a transient domain runs)");
	if ((transient ? domains__create : domains__define)(routes__host(r), in, &d, err) < 0)
		return -1;
	http_reply__json(rp, 201, domains__info(routes__host(r), d));
	return 0;
}

static int dom_info(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	if (!d)
		return -1;
	/* lets go of the host lock while the VMM is asked: d is not used after */
	http_reply__json(rp, 200, domains__info_live(routes__host(r), d));
	return 0;
}

static int dom_disk_attach(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	cleanup_json json_t *in = NULL;
	if (!d || http_request__body_json(r, &in, err) < 0)
		return -1;
	json_t *out = NULL;
	return routes__json(rp, 201, domain_disks__attach(routes__host(r), d, in, &out, err), &out);
}

static int dom_disk_detach(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	if (!d || domain_disks__detach(routes__host(r), d, http_request__capture(r, "target"), err) < 0)
		return -1;
	http_reply__json(rp, 200, domains__info_live(routes__host(r), d));
	return 0;
}

static int dom_xml(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	if (!d)
		return -1;
	char *text = domxml__export(d->def);
	if (!text)
		return err__fail(err, ENOMEM, "XML export");
	http_reply__text(rp, 200, "application/xml", text);
	return 0;
}

static int dom_interfaces(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	if (!d)
		return -1;
	http_reply__json(rp, 200, networks__domain_addresses(routes__host(r), d));
	return 0;
}

/* Copies bytes both ways until either side closes (or stratad ends). */
static void console_pump(int client, int con, const struct http_server *s)
{
	char buf[4096];
	struct pollfd p[2] = {{.fd = client, .events = POLLIN}, {.fd = con, .events = POLLIN}};
	fcntl(client, F_SETFL, fcntl(client, F_GETFL) & ~O_NONBLOCK);
	while (!http_server__stopping(s)) {
		int n = poll(p, 2, 500);
		if (n < 0 && errno != EINTR)
			return;
		for (int i = 0; n > 0 && i < 2; i++) {
			if (!p[i].revents)
				continue;
			ssize_t got = read(p[i].fd, buf, sizeof(buf));
			if (got <= 0 || util__write_all(p[1 - i].fd, buf, (size_t)got, NULL) < 0)
				return;
		}
	}
}

/* Runs on the connection's own thread (one per connection), so it may block. */
static void console_upgraded(void *cls, int sock, const char *extra, size_t extra_len, const struct http_server *s)
{
	const char *path = cls;
	struct st_err err = {0};
	cleanup_close int con = sock__unix_connect(path, &err);
	if (con < 0)
		log__warn("console %s: %s", path, err.msg);
	else if (!extra_len || util__write_all(con, extra, extra_len, NULL) == 0)
		console_pump(sock, con, s);
}

static int dom_console(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	if (!d)
		return -1;
	if (!routes__ctx(r)->can_write)
		return err__fail_class(err, EACCES, "the console needs full access");
	if (d->state == DOM_SHUTOFF)
		return err__fail_class(err, EBUSY, "domain '%s' is not running", d->name);
	char *path = domains__console_path(routes__host(r), d);
	if (!path)
		return err__fail(err, ENOMEM, "console");
	/* upgraded: the stream itself, for TCP clients too; otherwise the
	 * socket's path for a client on this host */
	if (http_request__wants_upgrade(r, CONSOLE_PROTO)) {
		http_reply__upgrade(rp, CONSOLE_PROTO, console_upgraded, path, free);
		return 0;
	}
	http_reply__json(rp, 200, json_pack("{s:s}", "path", path));
	free(path);
	return 0;
}

static int dom_undefine(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	if (!d)
		return -1;
	cleanup_free char *name = strdup(d->name);
	if (domains__undefine(routes__host(r), d, http_request__query_flag(r, "volumes"), err) < 0)
		return -1;
	http_reply__json(rp, 200, json_pack("{s:s}", "undefined", name));
	return 0;
}

/* The reply of a lifecycle action. */
static int action_done(struct http_reply *rp, struct dom *d, int rc)
{
	if (rc < 0)
		return -1;
	json_t *out = domains__summary(d);
	if (d->shutting_down)
		json_object_set_new(out, "shutting_down", json_true());
	http_reply__json(rp, 200, out);
	return 0;
}

static int dom_start(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	return d ? action_done(rp, d, domains__start(routes__host(r), d, "booted", err)) : -1;
}

static int dom_shutdown(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	if (!d)
		return -1;
	uint64_t t = routes__host(r)->shutdown_timeout_s;
	if (routes__query_u64(r, "timeout", 86400, &t, err) < 0)
		return -1;
	return action_done(rp, d, domains__shutdown(routes__host(r), d, (unsigned)t, err));
}

static int dom_destroy(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	return d ? action_done(rp, d, domains__destroy(routes__host(r), d, err)) : -1;
}

static int dom_reboot(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	return d ? action_done(rp, d, domains__reboot(routes__host(r), d, err)) : -1;
}

static int dom_suspend(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	return d ? action_done(rp, d, domains__suspend(routes__host(r), d, err)) : -1;
}

static int dom_resume(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	return d ? action_done(rp, d, domains__resume(routes__host(r), d, err)) : -1;
}

static int dom_autostart(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	bool on;
	if (!d || routes__autostart_body(r, &on, err) < 0 || domains__set_autostart(routes__host(r), d, on, err) < 0)
		return -1;
	http_reply__json(rp, 200, domains__summary(d));
	return 0;
}

const struct http_route routes__table_domains[] = {
	{"GET", "/v1/domains", dom_list, NULL, NULL},
	{"POST", "/v1/domains", dom_define, NULL, NULL},
	{"GET", "/v1/domains/{name}", dom_info, NULL, NULL},
	{"DELETE", "/v1/domains/{name}", dom_undefine, NULL, NULL},
	{"GET", "/v1/domains/{name}/xml", dom_xml, NULL, NULL},
	{"GET", "/v1/domains/{name}/console", dom_console, NULL, NULL},
	{"GET", "/v1/domains/{name}/interfaces", dom_interfaces, NULL, NULL},
	{"POST", "/v1/domains/{name}/disks", dom_disk_attach, NULL, NULL},
	{"DELETE", "/v1/domains/{name}/disks/{target}", dom_disk_detach, NULL, NULL},
	{"POST", "/v1/domains/{name}/start", dom_start, NULL, NULL},
	{"POST", "/v1/domains/{name}/shutdown", dom_shutdown, NULL, NULL},
	{"POST", "/v1/domains/{name}/destroy", dom_destroy, NULL, NULL},
	{"POST", "/v1/domains/{name}/reboot", dom_reboot, NULL, NULL},
	{"POST", "/v1/domains/{name}/suspend", dom_suspend, NULL, NULL},
	{"POST", "/v1/domains/{name}/resume", dom_resume, NULL, NULL},
	{"PUT", "/v1/domains/{name}/autostart", dom_autostart, NULL, NULL},
};
const size_t routes__nr_domains = sizeof(routes__table_domains) / sizeof(routes__table_domains[0]);
