/* The scheduler's host states from the hosts table, the claims and the
 * aggregates: four queries, whatever the number of hosts. Claims and
 * aggregate memberships are grouped by host; a host's run of them is
 * contiguous, so each host points into one shared array. */
#include "cloud/compute/hosts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/json_util.h"

/* Everything the host states point into. */
struct hosts_states_mem {
	struct db_rows *hosts, *claims, *aggregates, *metadata;
	json_t **capabilities;                      /* per host (shared: see capabilities()) */
	json_t *by_cpu_info;                        /* cpu_info text -> its capabilities object */
	const char **uuids;                         /* the claims' instance uuids, by host */
	struct scheduler_kv *kvs;                   /* every aggregate's metadata, by aggregate */
	struct scheduler_aggregate *memberships;    /* (host, aggregate) rows, by host */
	struct scheduler_instance_kind *kinds;      /* per host */
};

enum { H_HOST, H_DISABLED, H_FORCED, H_SEEN, H_VCPUS, H_MEM, H_MEM_AVAIL, H_DISK, H_CPU, H_LOAD,
       H_VERSION };

static long long num(const struct db_rows *r, size_t i, size_t c)
{
	const char *v = db_rows__get(r, i, c);
	return v ? strtoll(v, NULL, 10) : 0;
}

void hosts__states_free(struct hosts_states *s)
{
	struct hosts_states_mem *m = s->mem;
	if (m) {
		for (size_t i = 0; m->capabilities && i < s->n; i++)
			json_decref(m->capabilities[i]);
		free(m->capabilities);
		json_decref(m->by_cpu_info);
		free(m->uuids);
		free(m->kvs);
		free(m->memberships);
		free(m->kinds);
		db_rows__free(m->hosts);
		db_rows__free(m->claims);
		db_rows__free(m->aggregates);
		db_rows__free(m->metadata);
		free(m);
	}
	free(s->hosts);
	*s = (struct hosts_states){0};
}

/* With uuids a row per claim (what groups and the same/different host hints
 * need), else a row per host with the sums: 20,000 claims on 10,000 hosts
 * were most of a decision's reading. */
static const char claims_each[] = "SELECT host, instance_uuid, vcpus, memory_mb, disk_gb, 1 FROM compute_claim"
				  " ORDER BY host, instance_uuid";
static const char claims_summed[] = "SELECT host, NULL, SUM(vcpus), SUM(memory_mb), SUM(disk_gb), COUNT(*)"
				    " FROM compute_claim GROUP BY host ORDER BY host";

static int query_all(struct db *db, bool uuids, struct hosts_states_mem *m, struct st_err *err)
{
	if (db__query(db, "SELECT host, disabled, forced_down, last_seen_up, vcpus, memory_mb,"
		      " memory_available_mb, local_gb, cpu_info, load_1m, hypervisor_version"
		      " FROM compute_host ORDER BY host", NULL, 0, &m->hosts, err) < 0 ||
	    db__query(db, uuids ? claims_each : claims_summed, NULL, 0, &m->claims, err) < 0 ||
	    db__query(db, "SELECT ah.host, a.id, a.name FROM compute_aggregate_host ah"
		      " JOIN compute_aggregate a ON a.id = ah.aggregate_id ORDER BY ah.host, a.id",
		      NULL, 0, &m->aggregates, err) < 0 ||
	    db__query(db, "SELECT aggregate_id, meta_key, meta_value FROM compute_aggregate_metadata"
		      " ORDER BY aggregate_id, meta_key", NULL, 0, &m->metadata, err) < 0)
		return -1;
	size_t nh = m->hosts->nrows;
	m->capabilities = calloc(nh + 1, sizeof(*m->capabilities));
	m->kinds = calloc(nh + 1, sizeof(*m->kinds));
	m->uuids = calloc(m->claims->nrows + 1, sizeof(*m->uuids));
	m->kvs = calloc(m->metadata->nrows + 1, sizeof(*m->kvs));
	m->memberships = calloc(m->aggregates->nrows + 1, sizeof(*m->memberships));
	m->by_cpu_info = json_object();
	if (!m->by_cpu_info || !m->capabilities || !m->kinds || !m->uuids || !m->kvs || !m->memberships)
		return err__fail(err, ENOMEM, "host states");
	for (size_t i = 0; i < m->metadata->nrows; i++)
		m->kvs[i] = (struct scheduler_kv){db_rows__get(m->metadata, i, 1),
						  db_rows__get(m->metadata, i, 2)};
	return 0;
}

/* Finds a host by name: the rows of claims and aggregates come in the
 * hosts' order (each query orders by host), so first a few steps on from
 * the last one found, else a binary search in by_name (indexes of hosts
 * sorted by strcmp). NULL for a host deleted since. */
struct finder {
	const struct scheduler_host *hosts;
	const size_t *by_name;
	size_t n;
	size_t next; /* where the last one found was */
};

static struct scheduler_host *find_host(struct finder *f, const char *name)
{
	for (size_t i = f->next; i < f->n && i < f->next + 4; i++)
		if (!strcmp(f->hosts[i].name, name)) {
			f->next = i;
			return (struct scheduler_host *)&f->hosts[i];
		}
	size_t lo = 0, hi = f->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, f->hosts[f->by_name[mid]].name);
		if (!c && (f->next = f->by_name[mid], 1))
			return (struct scheduler_host *)&f->hosts[f->by_name[mid]];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The claims, grouped by host (the query orders them by host in the
 * database's collation, which need not be strcmp's): used resources, uuids. */
static void add_claims(struct hosts_states_mem *m, struct finder *f)
{
	const struct db_rows *c = m->claims;
	for (size_t at = 0; at < c->nrows; at++) {
		struct scheduler_host *h = find_host(f, db_rows__get(c, at, 0));
		m->uuids[at] = db_rows__get(c, at, 1);
		if (!h)
			continue;
		h->vcpus_used += num(c, at, 2);
		h->ram_used_mb += num(c, at, 3);
		h->disk_used_gb += num(c, at, 4);
		h->num_instances += num(c, at, 5);
		if (!m->uuids[at])
			continue;
		if (!h->n_instance_uuids)
			h->instance_uuids = m->uuids + at;
		h->n_instance_uuids++;
	}
}

/* The aggregates each host is in (grouped by host), each with its metadata. */
static void add_aggregates(struct hosts_states_mem *m, struct finder *f)
{
	const struct db_rows *a = m->aggregates, *md = m->metadata;
	for (size_t at = 0; at < a->nrows; at++) {
		struct scheduler_host *h = find_host(f, db_rows__get(a, at, 0));
		struct scheduler_aggregate *g = &m->memberships[at];
		long long id = num(a, at, 1);
		g->name = db_rows__get(a, at, 2);
		/* the metadata rows are in aggregate id order: its run starts at the lower bound */
		size_t lo = 0, hi = md->nrows;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (num(md, mid, 0) < id)
				lo = mid + 1;
			else
				hi = mid;
		}
		g->metadata = m->kvs + lo;
		while (lo + g->n_metadata < md->nrows && num(md, lo + g->n_metadata, 0) == id)
			g->n_metadata++;
		if (!h)
			continue;
		if (!h->n_aggregates)
			h->aggregates = g;
		h->n_aggregates++;
	}
}

/* Hosts reporting the same cpu_info text share one capabilities object:
 * one parse per CPU model, not per host (a cloud has few models and many
 * hosts), and ComputeCapabilitiesFilter evaluates a shared object once. */
static json_t *capabilities(struct hosts_states_mem *m, const char *cpu)
{
	json_t *known = cpu ? json_object_get(m->by_cpu_info, cpu) : NULL;
	if (known)
		return json_incref(known);
	json_t *cpu_info = cpu ? json_loads(cpu, 0, NULL) : NULL;
	json_t *caps = json_pack("{s:o}", "cpu_info", cpu_info ? cpu_info : json_object());
	if (caps && cpu)
		json_object_set(m->by_cpu_info, cpu, caps);
	return caps;
}

/* Resources, liveness and what the CPU offers, from the host's row i. */
static void fill_host(const struct hosts_config *cfg, struct hosts_states_mem *m, size_t i,
		      long long now, struct scheduler_host *h)
{
	const struct db_rows *r = m->hosts;
	h->name = db_rows__get(r, i, H_HOST);
	h->enabled = !num(r, i, H_DISABLED);
	h->up = hosts__is_up(cfg, num(r, i, H_SEEN), num(r, i, H_FORCED), now);
	h->vcpus_total = num(r, i, H_VCPUS);
	h->ram_total_mb = num(r, i, H_MEM);
	h->disk_total_gb = num(r, i, H_DISK);
	m->capabilities[i] = capabilities(m, db_rows__get(r, i, H_CPU));
	h->capabilities = m->capabilities[i];
	const json_t *cpu_info = json_object_get(m->capabilities[i], "cpu_info");
	h->hypervisor_type = "strata-vm";
	h->hypervisor_version = (uint64_t)num(r, i, H_VERSION);
	const char *arch = json_string_value(json_object_get(cpu_info, "arch"));
	m->kinds[i] = (struct scheduler_instance_kind){arch ? arch : "x86_64", "kvm", "hvm"};
	h->supported_instances = &m->kinds[i];
	h->n_supported_instances = 1;
	const char *load = db_rows__get(r, i, H_LOAD);
	h->cpu_load = load ? strtod(load, NULL) : -1;
	long long avail = num(r, i, H_MEM_AVAIL);
	h->memory_pressure = h->ram_total_mb > 0 ? 1.0 - (double)avail / (double)h->ram_total_mb : -1;
}

static int by_name_cmp(const void *a, const void *b, void *hosts)
{
	const struct scheduler_host *h = hosts;
	return strcmp(h[*(const size_t *)a].name, h[*(const size_t *)b].name);
}

/* Fills out (whose mem is allocated); the caller frees it on failure. */
static int build(struct db *db, const struct hosts_config *cfg, bool uuids, struct hosts_states *out,
		 struct st_err *err)
{
	struct hosts_states_mem *m = out->mem;
	if (query_all(db, uuids, m, err) < 0)
		return -1;
	out->hosts = calloc(m->hosts->nrows + 1, sizeof(*out->hosts));
	cleanup_free size_t *by_name = calloc(m->hosts->nrows + 1, sizeof(*by_name));
	if (!out->hosts || !by_name)
		return err__fail(err, ENOMEM, "host states");
	long long now = (long long)time(NULL);
	for (size_t i = 0; i < m->hosts->nrows; i++) {
		fill_host(cfg, m, i, now, &out->hosts[i]);
		by_name[i] = i;
		out->n = i + 1;
	}
	qsort_r(by_name, out->n, sizeof(*by_name), by_name_cmp, out->hosts);
	struct finder f = {out->hosts, by_name, out->n, 0};
	add_claims(m, &f);
	f.next = 0;
	add_aggregates(m, &f);
	return 0;
}

int hosts__states(struct db *db, const struct hosts_config *cfg, struct hosts_states *out,
		  struct st_err *err)
{
	return hosts__states_opt(db, cfg, true, out, err);
}

int hosts__states_opt(struct db *db, const struct hosts_config *cfg, bool instance_uuids,
		      struct hosts_states *out, struct st_err *err)
{
	*out = (struct hosts_states){0};
	out->mem = calloc(1, sizeof(*out->mem));
	if (!out->mem)
		return err__fail(err, ENOMEM, "host states");
	if (build(db, cfg, instance_uuids, out, err) < 0) {
		hosts__states_free(out);
		return -1;
	}
	return 0;
}
