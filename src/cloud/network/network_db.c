#include "cloud/network/network_db.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#include "common/cleanup.h"
#include "common/json_util.h"

void network_db__isotime(long long t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void network_db__now(char iso[32], char order[24])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	network_db__isotime((long long)ts.tv_sec, iso);
	snprintf(order, 24, "%lld", (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

int network_db__bodies(struct db *db, const char *sql, const char *const *p, size_t np,
		       json_t **out, struct st_err *err)
{
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query(db, sql, p, np, &rows, err) < 0)
		return -1;
	json_t *list = json_array();
	for (size_t i = 0; i < rows->nrows; i++) {
		json_t *body = json_loads(db_rows__get(rows, i, 0), 0, NULL);
		if (!body) {
			json_decref(list);
			return err__fail(err, EIO, "a stored network resource is not JSON");
		}
		json_array_append_new(list, body);
	}
	*out = list;
	return 0;
}

int network_db__network(struct db *db, const char *id, json_t **out, struct st_err *err)
{
	cleanup_json json_t *list = NULL;
	if (network_db__bodies(db, "SELECT body FROM network_network WHERE id = ?", &id, 1, &list, err) < 0)
		return -1;
	if (!json_array_size(list))
		return err__fail_class(err, ENOENT, "Network %.64s could not be found.", id ? id : "");
	*out = json_incref(json_array_get(list, 0));
	return 0;
}

bool network_db__sees(const struct network_caller *c, const json_t *net)
{
	const char *owner = json_string_value(json_object_get(net, "project_id"));
	return c->admin || json_is_true(json_object_get(net, "shared")) ||
	       (owner && !strcmp(owner, c->project_id));
}


int network_db__insert_tx(struct db *db, void *arg, struct st_err *err)
{
	struct insert *ins = arg;
	if (network_db__quota_claim(db, ins->project, ins->kind, err) < 0 ||
	    (ins->check && ins->check(db, ins->check_arg, err) < 0))
		return -1;
	return db__exec(db, ins->sql, ins->p, ins->np, err) < 0 ? -1 : 0;
}
