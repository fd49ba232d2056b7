/* The registered hosts (hosts.h) with their endpoints, each read when first
 * needed: a build needs one or two of them, and a query per host of a
 * 10,000-host cloud was most of a decision's time. */
#include "cloud/compute/servers_hosts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int load(struct db *db, const struct hosts_config *cfg, bool uuids, struct servers_hosts *out,
		struct st_err *err)
{
	*out = (struct servers_hosts){0};
	if (hosts__states_opt(db, cfg, uuids, &out->st, err) < 0)
		return -1;
	out->hosts = calloc(out->st.n + 1, sizeof(*out->hosts));
	if (!out->hosts) {
		servers_hosts__free(out);
		return err__fail(err, ENOMEM, "out of memory");
	}
	return 0;
}

int servers_hosts__load(struct db *db, const struct hosts_config *cfg, struct servers_hosts *out,
			struct st_err *err)
{
	return load(db, cfg, true, out, err);
}

int servers_hosts__load_for(struct db *db, const struct hosts_config *cfg, const struct scheduler_request *req,
			    struct servers_hosts *out, struct st_err *err)
{
	bool uuids = req->group_policy != SCHEDULER_GROUP_NONE || req->n_same_host || req->n_different_host;
	return load(db, cfg, uuids, out, err);
}

void servers_hosts__free(struct servers_hosts *h)
{
	for (size_t i = 0; h->hosts && i < h->st.n; i++)
		free(h->hosts[i]);
	free(h->hosts);
	hosts__states_free(&h->st);
	*h = (struct servers_hosts){0};
}

const struct servers_host *servers_hosts__at(struct db *db, struct servers_hosts *h, size_t i,
					     struct st_err *err)
{
	if (i >= h->st.n) {
		err__fail(err, ENOENT, "no host %zu", i);
		return NULL;
	}
	if (h->hosts[i])
		return h->hosts[i];
	struct servers_host *one = calloc(1, sizeof(*one));
	if (!one) {
		err__fail(err, ENOMEM, "out of memory");
		return NULL;
	}
	one->name = h->st.hosts[i].name;
	one->pool = SERVERS_POOL;
	if (hosts__endpoint(db, one->name, &one->ep, err) < 0) {
		free(one);
		return NULL;
	}
	return h->hosts[i] = one;
}

const struct servers_host *servers_hosts__find(struct db *db, struct servers_hosts *h, const char *name)
{
	struct st_err err = {0};
	for (size_t i = 0; i < h->st.n; i++)
		if (!strcmp(h->st.hosts[i].name, name))
			return servers_hosts__at(db, h, i, &err);
	return NULL;
}
