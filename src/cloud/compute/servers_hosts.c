/* The registered hosts (hosts.h) with their endpoints. */
#include "cloud/compute/servers_hosts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int servers_hosts__load(struct db *db, const struct hosts_config *cfg, struct servers_hosts *out,
			struct st_err *err)
{
	*out = (struct servers_hosts){0};
	if (hosts__states(db, cfg, &out->st, err) < 0)
		return -1;
	out->hosts = calloc(out->st.n + 1, sizeof(*out->hosts));
	if (!out->hosts) {
		servers_hosts__free(out);
		return err__fail(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < out->st.n; i++) {
		struct servers_host *h = &out->hosts[i];
		h->name = out->st.hosts[i].name;
		h->pool = SERVERS_POOL;
		if (hosts__endpoint(db, h->name, &h->ep, err) < 0) {
			servers_hosts__free(out);
			return -1;
		}
	}
	return 0;
}

void servers_hosts__free(struct servers_hosts *h)
{
	hosts__states_free(&h->st);
	free(h->hosts);
	*h = (struct servers_hosts){0};
}

const struct servers_host *servers_hosts__find(const struct servers_hosts *h, const char *name)
{
	for (size_t i = 0; i < h->st.n; i++)
		if (!strcmp(h->hosts[i].name, name))
			return &h->hosts[i];
	return NULL;
}
