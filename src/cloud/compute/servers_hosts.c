/* The registered hosts (the hosts table, compute/hosts.h) with this
 * cloud's claims laid over their resources. */
#include "cloud/compute/servers_hosts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/compute/servers_db.h"

int servers_hosts__load(struct db *db, struct servers_hosts *out, struct st_err *err)
{
	*out = (struct servers_hosts){.strings = json_array()};
	/* TODO(hosts): the registered hosts come from compute/hosts.h; until
	 * it lands there are none, and every build ends in "No valid host". */
	if (servers_db__apply_claims(db, out->states, out->n, out->strings, &out->uuids, err) < 0) {
		servers_hosts__free(out);
		return -1;
	}
	return 0;
}

void servers_hosts__free(struct servers_hosts *h)
{
	free(h->states);
	free(h->hosts);
	free(h->uuids);
	json_decref(h->strings);
	*h = (struct servers_hosts){0};
}

const struct servers_host *servers_hosts__find(const struct servers_hosts *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (!strcmp(h->hosts[i].name, name))
			return &h->hosts[i];
	return NULL;
}
