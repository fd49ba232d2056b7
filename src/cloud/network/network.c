/* Networks, and what the three resources share: lists with Neutron's
 * filters, show, delete, who sees what. Subnets are subnets.c's, ports
 * ports.c's. */
#include "cloud/network/network.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"
#include "cloud/network/network_db.h"

#define NAME_MAX_LEN 255

static const char *const collections[] = {"networks", "subnets", "ports"};
static const char *const members[] = {"network", "subnet", "port"};
static const char *const tables[] = {"network_network", "network_subnet", "network_port"};

const char *network__collection(enum network_kind k)
{
	return collections[k];
}

const char *network__member(enum network_kind k)
{
	return members[k];
}

int network__migrate(struct db *db, struct st_err *err)
{
	return db__migrate(db, "network", network_db__migrations, network_db__nr_migrations, err);
}

/* Neutron's query values for a field: strings as they are, booleans
 * true/false in any case, numbers in decimal. */
static bool value_matches(const json_t *v, const char *want)
{
	char buf[32];
	if (json_is_string(v))
		return !strcmp(json_string_value(v), want);
	if (json_is_boolean(v))
		return !strcasecmp(want, json_is_true(v) ? "true" : "false");
	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		return !strcmp(buf, want);
	}
	if (json_is_null(v))
		return !*want || !strcasecmp(want, "none") || !strcasecmp(want, "null");
	return false;
}

static bool ignored_key(const char *k)
{
	static const char *const keys[] = {"fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse",
					   NULL};
	for (size_t i = 0; keys[i]; i++)
		if (!strcmp(k, keys[i]))
			return true;
	return false;
}

/* Every filter key holds (one of its values matches); a key the resource
 * has no scalar field of is a 400, as with Neutron's filter validation. */
static int matches(const json_t *item, const struct network_filter *f, bool *out, struct st_err *err)
{
	*out = true;
	for (size_t i = 0; i < f->n; i++) {
		const char *k = f->keys[i];
		if (ignored_key(k))
			continue;
		json_t *v = json_object_get(item, k);
		if (!v || json_is_array(v) || json_is_object(v))
			return err__fail_class(err, EINVAL, "['%.64s'] is invalid attribute for filtering", k);
		bool any = false;
		for (size_t j = 0; j < f->n; j++)
			if (!strcmp(f->keys[j], k) && value_matches(v, f->values[j]))
				any = true;
		if (!any)
			*out = false;
	}
	return 0;
}

/* The parts of a view that are not stored: a network's subnets; status. */
static int decorate(struct db *db, enum network_kind k, json_t *item, struct st_err *err)
{
	if (k != NETWORK_NETWORKS)
		return 0;
	const char *id = json_string_value(json_object_get(item, "id"));
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query(db, "SELECT id FROM network_subnet WHERE network_id = ? ORDER BY created_at, id", &id, 1,
		      &rows, err) < 0)
		return -1;
	json_t *subnets = json_array();
	for (size_t i = 0; i < rows->nrows; i++)
		json_array_append_new(subnets, json_string(db_rows__get(rows, i, 0)));
	json_object_set_new(item, "subnets", subnets);
	return 0;
}

/* Whether the caller sees item: networks by network_db__sees, subnets by
 * their network's, ports their project's. nets caches networks by id. */
static bool visible(struct db *db, const struct network_caller *c, enum network_kind k, const json_t *item,
		    json_t *nets)
{
	if (c->admin)
		return true;
	if (k == NETWORK_NETWORKS)
		return network_db__sees(c, item);
	const char *owner = json_string_value(json_object_get(item, "project_id"));
	if (k == NETWORK_PORTS)
		return owner && !strcmp(owner, c->project_id);
	const char *nid = json_string_value(json_object_get(item, "network_id"));
	json_t *net = json_object_get(nets, nid ? nid : "");
	if (!net) {
		struct st_err ignored = {0};
		if (!nid || network_db__network(db, nid, &net, &ignored) < 0)
			return false;
		json_object_set_new(nets, nid, net);
	}
	return network_db__sees(c, net) || (owner && !strcmp(owner, c->project_id));
}

int network__list(struct db *db, const struct network_caller *c, enum network_kind k,
		  const struct network_filter *f, json_t **out, struct st_err *err)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT body FROM %s ORDER BY created_at, id", tables[k]);
	cleanup_json json_t *all = NULL, *nets = json_object();
	if (network_db__bodies(db, sql, NULL, 0, &all, err) < 0)
		return -1;
	json_t *list = json_array();
	size_t i;
	json_t *item;
	json_array_foreach(all, i, item) {
		bool ok;
		if (!visible(db, c, k, item, nets))
			continue;
		if (decorate(db, k, item, err) < 0 || matches(item, f, &ok, err) < 0) {
			json_decref(list);
			return -1;
		}
		if (ok)
			json_array_append(list, item);
	}
	*out = list;
	return 0;
}

static int not_found(enum network_kind k, const char *id, struct st_err *err)
{
	static const char *const what[] = {"Network", "Subnet", "Port"};
	return err__fail_class(err, ENOENT, "%s %.64s could not be found.", what[k], id ? id : "");
}

int network__show(struct db *db, const struct network_caller *c, enum network_kind k,
		  const char *id, json_t **out, struct st_err *err)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT body FROM %s WHERE id = ?", tables[k]);
	cleanup_json json_t *list = NULL, *nets = json_object();
	if (network_db__bodies(db, sql, &id, 1, &list, err) < 0)
		return -1;
	json_t *item = json_array_get(list, 0);
	if (!item || !visible(db, c, k, item, nets))
		return not_found(k, id, err);
	if (decorate(db, k, item, err) < 0)
		return -1;
	*out = json_incref(item);
	return 0;
}

static int check_name(const json_t *body, const char *key, const char **out, struct st_err *err)
{
	json_t *v = json_object_get(body, key);
	*out = "";
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) > NAME_MAX_LEN)
		return err__fail_class(err, EINVAL, "Invalid input for %s. Reason: '%.64s' is not a valid string "
				       "of at most %d characters.", key, json_is_string(v) ? json_string_value(v) : "",
				       NAME_MAX_LEN);
	*out = json_string_value(v);
	return 0;
}

static int check_bool(const json_t *body, const char *key, bool dflt, bool *out, struct st_err *err)
{
	json_t *v = json_object_get(body, key);
	*out = dflt;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return err__fail_class(err, EINVAL, "Invalid input for %s. Reason: it is not a boolean.", key);
	*out = json_is_true(v);
	return 0;
}

/* Only an admin names another project (project_id or tenant_id). */
static int owner_of(const struct network_caller *c, const json_t *body, const char **out, struct st_err *err)
{
	const char *p = json_string_value(json_object_get(body, "project_id"));
	const char *t = json_string_value(json_object_get(body, "tenant_id"));
	if (p && t && strcmp(p, t))
		return err__fail_class(err, EINVAL, "'project_id' and 'tenant_id' do not match");
	*out = p ? p : t ? t : c->project_id;
	if (strcmp(*out, c->project_id) && !c->admin)
		return err__fail_class(err, EPERM, "Specifying 'project_id' or 'tenant_id' other than the "
				       "authenticated project in request requires admin privileges");
	return 0;
}

static int create_network(struct db *db, const struct network_caller *c, const json_t *body, json_t **out,
			  struct st_err *err)
{
	static const char *const keys[] = {"name", "admin_state_up", "shared", "router:external",
		"provider:network_type", "provider:physical_network", "provider:segmentation_id", "mtu",
		"description", "port_security_enabled", "availability_zone_hints", "project_id", "tenant_id",
		"dns_domain", "is_default", "qos_policy_id", NULL};
	if (json_util__check_keys(body, "network", keys, err) < 0)
		return err__fail_class(err, EINVAL, "Unrecognized attribute(s): %s", err->msg);
	if (!c->admin)
		return err__fail_class(err, EPERM, "(rule:create_network) is disallowed by policy: networks "
				       "here are provider networks, made by an administrator");
	const char *name = "", *descr = "", *project = "", *physnet = "", *type = "";
	bool up, shared, external, portsec;
	if (check_name(body, "name", &name, err) < 0 || check_name(body, "description", &descr, err) < 0 ||
	    check_bool(body, "admin_state_up", true, &up, err) < 0 ||
	    check_bool(body, "shared", false, &shared, err) < 0 ||
	    check_bool(body, "router:external", false, &external, err) < 0 ||
	    check_bool(body, "port_security_enabled", true, &portsec, err) < 0 ||
	    owner_of(c, body, &project, err) < 0 ||
	    check_name(body, "provider:physical_network", &physnet, err) < 0 ||
	    check_name(body, "provider:network_type", &type, err) < 0)
		return -1;
	if (*type && strcmp(type, "flat"))
		return err__fail_class(err, EINVAL, "Invalid input for operation: network_type value '%.32s' not "
				       "supported: a network here is a flat provider network (a stratad network)", type);
	json_t *seg = json_object_get(body, "provider:segmentation_id");
	if (seg && !json_is_null(seg))
		return err__fail_class(err, EINVAL, "Invalid input for operation: segmentation_id is not allowed "
				       "for a flat provider network.");
	/* the stratad network every host has: physical_network, else the name */
	if (!*physnet)
		physnet = name;
	if (!*physnet)
		return err__fail_class(err, EINVAL, "A network names the stratad network it is: give it a name "
				       "(or provider:physical_network)");
	json_int_t mtu = 1500;
	if (json_util__int(body, "network", "mtu", 68, 65535, 1500, &mtu, err) < 0)
		return err__fail_class(err, EINVAL, "Invalid input for mtu: %s", err->msg);
	char id[37], now[32], at[24];
	if (util__uuid4(id, err) < 0)
		return -1;
	network_db__now(now, at);
	cleanup_json json_t *net = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:s, s:s, s:n, s:I, s:s, s:[], s:[s], s:s,"
		" s:n, s:n, s:b, s:n, s:i, s:[], s:s, s:s, s:b, s:b}",
		"id", id, "name", name, "description", descr, "project_id", project, "tenant_id", project,
		"admin_state_up", up, "shared", shared, "router:external", external, "port_security_enabled",
		portsec, "provider:network_type", "flat", "provider:physical_network", physnet,
		"provider:segmentation_id", "mtu", (json_int_t)mtu, "status", "ACTIVE", "availability_zone_hints",
		"availability_zones", "nova", "dns_domain", "", "ipv4_address_scope", "ipv6_address_scope",
		"is_default", false, "qos_policy_id", "revision_number", 1, "tags", "created_at", now,
		"updated_at", now, "l2_adjacency", true, "vlan_transparent", false);
	cleanup_free char *text = json_dumps(net, JSON_COMPACT);
	if (!text)
		return err__fail(err, ENOMEM, "out of memory");
	struct insert ins = {NETWORK_NETWORKS, project, "INSERT INTO network_network (id, name, project_id, shared,"
			     " body, created_at) VALUES (?, ?, ?, ?, ?, ?)", {id, name, project, shared ? "1" : "0",
			     text, at}, 6, NULL, NULL};
	if (db__tx(db, network_db__insert_tx, &ins, err) < 0)
		return -1;
	json_object_set_new(net, "subnets", json_array());
	*out = json_incref(net);
	return 0;
}

int network__create(struct db *db, const struct network_caller *c, enum network_kind k,
		    const json_t *body, json_t **out, struct st_err *err)
{
	if (!json_is_object(body))
		return err__fail_class(err, EINVAL, "Resource body required: {\"%s\": {...}}", members[k]);
	switch (k) {
	case NETWORK_NETWORKS: return create_network(db, c, body, out, err);
	case NETWORK_SUBNETS: return subnets__create(db, c, body, out, err);
	case NETWORK_PORTS: return ports__create(db, c, body, out, err);
	}
	return -1;
}

int network__update(struct db *db, const struct network_caller *c, enum network_kind k, const char *id,
		    const json_t *body, json_t **out, struct st_err *err)
{
	if (!json_is_object(body))
		return err__fail_class(err, EINVAL, "Resource body required: {\"%s\": {...}}", members[k]);
	if (k != NETWORK_PORTS)
		return err__fail_class(err, ENOTSUP, "Updating %s is not supported here", collections[k]);
	return ports__update(db, c, id, body, out, err);
}

struct del {
	enum network_kind k;
	const char *id;
};

static int delete_tx(struct db *db, void *arg, struct st_err *err)
{
	struct del *d = arg;
	long long n = 0;
	cleanup_rows struct db_rows *rows = NULL;
	if (d->k == NETWORK_NETWORKS) {
		if (db__query(db, "SELECT COUNT(*) FROM network_port WHERE network_id = ?", &d->id, 1, &rows, err) < 0)
			return -1;
		n = strtoll(db_rows__get(rows, 0, 0), NULL, 10);
		if (n)
			return err__fail_class(err, EEXIST, "Unable to complete operation on network %s. There are "
					       "one or more ports still in use on the network.", d->id);
		if (db__exec(db, "DELETE FROM network_subnet WHERE network_id = ?", &d->id, 1, err) < 0 ||
		    db__exec(db, "DELETE FROM network_network WHERE id = ?", &d->id, 1, err) < 0)
			return -1;
		return 0;
	}
	if (db__query(db, "SELECT COUNT(*) FROM network_ip WHERE subnet_id = ?", &d->id, 1, &rows, err) < 0)
		return -1;
	n = strtoll(db_rows__get(rows, 0, 0), NULL, 10);
	if (n)
		return err__fail_class(err, EEXIST, "Unable to complete operation on subnet %s: One or more ports "
				       "have an IP allocation from this subnet.", d->id);
	return db__exec(db, "DELETE FROM network_subnet WHERE id = ?", &d->id, 1, err) < 0 ? -1 : 0;
}

int network__delete(struct db *db, const struct network_caller *c, enum network_kind k,
		    const char *id, struct st_err *err)
{
	if (k == NETWORK_PORTS)
		return ports__delete(db, c, id, err);
	cleanup_json json_t *item = NULL;
	if (network__show(db, c, k, id, &item, err) < 0)
		return -1;
	const char *owner = json_string_value(json_object_get(item, "project_id"));
	if (!c->admin && (!owner || strcmp(owner, c->project_id)))
		return err__fail_class(err, EPERM, "(rule:delete_%s) is disallowed by policy", members[k]);
	struct del d = {k, id};
	return db__tx(db, delete_tx, &d, err);
}
