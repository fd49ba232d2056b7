/* The heartbeat: a thread that asks every host for its resources each
 * poll interval. Several controllers on one database each poll; the rows
 * take the latest answer. */
#include "cloud/compute/hosts.h"

#include <errno.h>
#include <stdlib.h>

#include "common/log.h"
#include "cloud/compute/periodic.h"

struct hosts_poller {
	struct db *db;
	struct periodic *thread;
};

static void poll_round(void *arg, struct periodic *p)
{
	struct hosts_poller *hp = arg;
	(void)p;
	hosts__poll_all(hp->db);
}

int hosts__poller_start(struct db *db, const struct hosts_config *cfg, struct hosts_poller **out,
			struct st_err *err)
{
	struct hosts_poller *hp = calloc(1, sizeof(*hp));
	if (!hp)
		return err__fail(err, ENOMEM, "host poller");
	hp->db = db;
	unsigned interval = cfg->poll_interval_s ? cfg->poll_interval_s : HOSTS_POLL_INTERVAL_DEFAULT;
	if (periodic__start(poll_round, hp, interval, &hp->thread, err) < 0) {
		free(hp);
		return err__prefix(err, "the host poller");
	}
	log__info("polling compute hosts every %u s", interval);
	*out = hp;
	return 0;
}

void hosts__poller_stop(struct hosts_poller *hp)
{
	if (!hp)
		return;
	periodic__stop(hp->thread);
	free(hp);
}
