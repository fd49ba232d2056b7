/* The filter scheduler's loop (Nova's FilterScheduler._schedule): per
 * instance filter, weigh, choose, consume; then alternates per choice. */
#include "cloud/scheduler/scheduler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "cloud/scheduler/filters.h"
#include "cloud/scheduler/weighers.h"

#define MAX_INSTANCES 10000

static int compare_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A sorted copy of a uuid list, for membership tests over every host's instances. */
static int sorted_copy(const char *const *list, size_t n, const char ***out, struct st_err *err)
{
	*out = NULL;
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!list[i])
			return err__fail_class(err, EINVAL, "scheduler: a uuid list holds NULL");
	const char **copy = malloc(n * sizeof(*copy));
	if (!copy)
		return err__fail(err, ENOMEM, "scheduler: out of memory");
	memcpy(copy, list, n * sizeof(*copy));
	qsort(copy, n, sizeof(*copy), compare_str);
	*out = copy;
	return 0;
}

static size_t count_in(const struct scheduler_host *h, const char **sorted, size_t n)
{
	size_t hits = 0;
	if (!n)
		return 0;
	for (size_t i = 0; i < h->n_instance_uuids; i++)
		if (h->instance_uuids[i] && bsearch(&h->instance_uuids[i], sorted, n, sizeof(*sorted), compare_str))
			hits++;
	return hits;
}

static bool listed(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] && !strcmp(list[i], name))
			return true;
	return false;
}

/* The working copy of every host, with what the request's lists say of it. */
static int init_states(const struct scheduler_config *cfg, const struct scheduler_request *req, const struct scheduler_host *hosts, size_t n,
		       struct host_state *st, struct st_err *err)
{
	cleanup_free const char **members = NULL;
	cleanup_free const char **same = NULL;
	cleanup_free const char **different = NULL;
	if (sorted_copy(req->group_members, req->n_group_members, &members, err) < 0 ||
	    sorted_copy(req->same_host, req->n_same_host, &same, err) < 0 ||
	    sorted_copy(req->different_host, req->n_different_host, &different, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct scheduler_host *h = &hosts[i];
		if (!h->name)
			return err__fail_class(err, EINVAL, "scheduler: host %zu has no name", i);
		bool in_hosts = req->group_policy != SCHEDULER_GROUP_NONE &&
				listed(h->name, req->group_hosts, req->n_group_hosts);
		int64_t members_here = (int64_t)count_in(h, members, req->n_group_members);
		st[i] = (struct host_state){
			.h = h,
			.index = i,
			.vcpus_used = h->vcpus_used,
			.ram_used_mb = h->ram_used_mb,
			.disk_used_gb = h->disk_used_gb,
			.num_instances = h->num_instances,
			/* A host the group lists holds a member even when its uuids were not given. */
			.group_members = members_here ? members_here : in_hosts,
			.group_host = in_hosts || members_here > 0,
			.same_host_hit = count_in(h, same, req->n_same_host) > 0,
			.different_host_hit = count_in(h, different, req->n_different_host) > 0,
		};
		weighers__host_multipliers(cfg, h, st[i].multipliers);
	}
	return 0;
}

static int check_request(const struct scheduler_config *cfg, const struct scheduler_request *req, size_t n_hosts,
			 struct st_err *err)
{
	if (req->vcpus < 0 || req->ram_mb < 0 || req->root_gb < 0 || req->ephemeral_gb < 0 || req->swap_mb < 0)
		return err__fail_class(err, EINVAL, "scheduler: the flavor asks for a negative amount");
	if (req->vcpus > INT32_MAX || req->ram_mb > INT32_MAX * 1024LL || req->root_gb > INT32_MAX ||
	    req->ephemeral_gb > INT32_MAX || req->swap_mb > INT32_MAX * 1024LL)
		return err__fail_class(err, EINVAL, "scheduler: the flavor asks for too much");
	if (req->num_instances > MAX_INSTANCES)
		return err__fail_class(err, EINVAL, "scheduler: at most %d instances per request", MAX_INSTANCES);
	if ((unsigned)req->group_policy > SCHEDULER_GROUP_SOFT_ANTI_AFFINITY)
		return err__fail_class(err, EINVAL, "scheduler: unknown server group policy");
	if (req->max_server_per_host < 0)
		return err__fail_class(err, EINVAL, "scheduler: max_server_per_host is negative");
	if (cfg->max_attempts < 1 || cfg->max_attempts > SCHEDULER_MAX_ATTEMPTS ||
	    cfg->n_filters > SCHEDULER_FILTER_COUNT || cfg->n_weighers > SCHEDULER_WEIGHER_COUNT)
		return err__fail_class(err, EINVAL, "scheduler: the configuration is out of range");
	if (n_hosts > SIZE_MAX / sizeof(struct host_state) / 4)
		return err__fail_class(err, EINVAL, "scheduler: too many hosts");
	return 0;
}

/* Runs the filters in order over all hosts that are not excluded; the
 * survivors are in cand, *n their count; start/end per filter in counts. */
static void run_filters(const struct filter_request *fr, struct host_state *st, size_t n_hosts,
			struct host_state **cand, size_t *n, bool skip_selected, size_t counts[][2])
{
	size_t k = 0;
	for (size_t i = 0; i < n_hosts; i++)
		if (!(skip_selected && st[i].selected))
			cand[k++] = &st[i];
	for (size_t f = 0; f < fr->cfg->n_filters; f++) {
		size_t start = k, out = 0;
		for (size_t i = 0; i < k; i++)
			if (filters__passes(fr->cfg->filters[f], fr, cand[i]))
				cand[out++] = cand[i];
		k = out;
		if (counts) {
			counts[f][0] = start;
			counts[f][1] = k;
		}
	}
	*n = k;
}

static int by_weight(const void *a, const void *b)
{
	const struct host_state *x = *(struct host_state *const *)a, *y = *(struct host_state *const *)b;
	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int no_valid_host(const struct scheduler_config *cfg, size_t counts[][2], struct st_err *err)
{
	char detail[360] = "no hosts";
	size_t used = 0;
	for (size_t f = 0; f < cfg->n_filters && counts[0][0] && used < sizeof(detail); f++)
		used += (size_t)snprintf(detail + used, sizeof(detail) - used, "%s%s %zu->%zu", f ? ", " : "",
					 scheduler__filter_name(cfg->filters[f]), counts[f][0], counts[f][1]);
	return err__fail_class(err, ENOSPC, "No valid host was found. There are not enough hosts available. (%s)",
			       detail);
}

static uint64_t next_random(uint64_t *s)
{
	/* xorshift64*: enough to spread choices over the best few hosts. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static void consume(struct filter_request *fr, struct host_state *hs)
{
	const struct scheduler_request *req = fr->req;
	hs->vcpus_used += req->vcpus;
	hs->ram_used_mb += req->ram_mb;
	hs->disk_used_gb += fr->disk_gb;
	hs->num_instances++;
	hs->selected = true;
	if (req->group_policy != SCHEDULER_GROUP_NONE) {
		hs->group_members++;
		hs->group_host = true;
		fr->group_has_hosts = true;
	}
}

struct select_run {
	struct filter_request fr;
	struct host_state *st;
	struct host_state **cand;
	double *scratch;
	size_t (*counts)[2];
	uint64_t rng;
};

static int choose_all(struct select_run *r, size_t n_hosts, size_t num, struct scheduler_selection *out,
		      struct st_err *err)
{
	const struct scheduler_config *cfg = r->fr.cfg;
	for (size_t i = 0; i < num; i++) {
		size_t n;
		run_filters(&r->fr, r->st, n_hosts, r->cand, &n, false, r->counts);
		if (!n)
			return no_valid_host(cfg, r->counts, err);
		weighers__weigh(&r->fr, r->cand, n, r->scratch);
		qsort(r->cand, n, sizeof(*r->cand), by_weight);
		size_t subset = cfg->host_subset_size > 1 ? ST_MIN((size_t)cfg->host_subset_size, n) : 1;
		struct host_state *pick = r->cand[subset > 1 ? next_random(&r->rng) % subset : 0];
		out[i] = (struct scheduler_selection){.hosts = {pick->index}, .n_hosts = 1, .weight = pick->weight};
		consume(&r->fr, pick);
	}
	if (cfg->max_attempts <= 1)
		return 0;
	/* Alternates: the hosts that still pass after every choice, best first,
	 * none chosen by this request (Nova's _get_alternate_hosts). */
	size_t n;
	run_filters(&r->fr, r->st, n_hosts, r->cand, &n, true, NULL);
	weighers__weigh(&r->fr, r->cand, n, r->scratch);
	qsort(r->cand, n, sizeof(*r->cand), by_weight);
	for (size_t i = 0; i < num; i++)
		for (size_t k = 0; k < n && out[i].n_hosts < cfg->max_attempts; k++)
			out[i].hosts[out[i].n_hosts++] = r->cand[k]->index;
	return 0;
}

int scheduler__select(const struct scheduler_config *cfg, const struct scheduler_request *req,
		      const struct scheduler_host *hosts, size_t n_hosts, struct scheduler_selection *out,
		      struct st_err *err)
{
	if (check_request(cfg, req, n_hosts, err) < 0)
		return -1;
	size_t num = req->num_instances ? req->num_instances : 1;
	struct select_run r = {.rng = cfg->random_seed};
	if (!r.rng && getrandom(&r.rng, sizeof(r.rng), 0) != sizeof(r.rng))
		r.rng = util__now_ns();
	r.rng |= 1;
	size_t cells = n_hosts ? n_hosts : 1;
	cleanup_free struct host_state *st = r.st = calloc(cells, sizeof(*st));
	cleanup_free struct host_state **cand = r.cand = calloc(cells, sizeof(*cand));
	cleanup_free double *scratch = r.scratch = calloc(cells, sizeof(*scratch));
	cleanup_free size_t(*counts)[2] = r.counts = calloc(SCHEDULER_FILTER_COUNT, sizeof(*counts));
	if (!st || !cand || !scratch || !counts)
		return err__fail(err, ENOMEM, "scheduler: out of memory");
	if (init_states(cfg, req, hosts, n_hosts, st, err) < 0)
		return -1;
	if (filters__prepare(&r.fr, cfg, req, err) < 0)
		return -1;
	int rc = choose_all(&r, n_hosts, num, out, err);
	filters__release(&r.fr);
	return rc;
}
