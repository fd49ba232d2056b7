/* Nova's instance actions: a row per thing asked of a server (who, when,
 * which request), and per action the events of its work on the host with
 * their result. The request id is the API request's (req-UUID). */
#include "cloud/compute/servers_actions.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/util.h"
#include "cloud/compute/compute_db.h"
#include "cloud/compute/compute_policy.h"

struct record_tx {
	const struct compute_caller *c;
	const char *uuid, *action, *request_id;
	char id[24];
};

static int record_in_tx(struct db *db, void *arg, struct st_err *err)
{
	struct record_tx *t = arg;
	char now[24];
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	if (compute_db__next_id(db, "compute_instance_action", "id", t->id, err) < 0)
		return -1;
	const char *p[] = {t->id, t->request_id, t->uuid, t->action, t->c->project_id, t->c->user_id,
			   now, now};
	return db__exec(db, "INSERT INTO compute_instance_action (id, request_id, instance_uuid, action,"
			" project_id, user_id, start_time, updated_at) VALUES (CAST(? AS BIGINT), ?, ?, ?, ?,"
			" ?, ?, ?)", p, 8, err);
}

int servers_actions__record(struct db *db, const struct compute_caller *c, const char *uuid,
			    const char *action, const char *request_id, long long *action_id,
			    struct st_err *err)
{
	char made[48];
	if (!request_id || !*request_id) {
		char u[37];
		if (util__uuid4(u, err) < 0)
			return -1;
		snprintf(made, sizeof(made), "req-%s", u);
		request_id = made;
	}
	struct record_tx t = {c, uuid, action, request_id, ""};
	if (compute_db__tx(db, record_in_tx, &t, err) < 0)
		return -1;
	if (action_id)
		*action_id = strtoll(t.id, NULL, 10);
	return 0;
}

void servers_actions__event(struct db *db, long long action_id, const char *event,
			    const char *result, const char *traceback)
{
	struct st_err err = {0};
	char id[24], now[24];
	snprintf(id, sizeof(id), "%lld", action_id);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	int rc;
	if (!result) {
		const char *p[] = {id, event, now};
		rc = db__exec(db, "INSERT INTO compute_instance_action_event (action_id, event, start_time)"
			      " VALUES (CAST(? AS BIGINT), ?, ?)", p, 3, &err);
	} else {
		const char *p[] = {now, result, traceback, id, event};
		const char *q[] = {now, now, id};
		rc = db__exec(db, "UPDATE compute_instance_action_event SET finish_time = ?, result = ?,"
			      " traceback = ? WHERE action_id = CAST(? AS BIGINT) AND event = ?", p, 5, &err);
		if (rc >= 0)
			rc = db__exec(db, "UPDATE compute_instance_action SET finish_time = ?, updated_at = ?"
				      " WHERE id = CAST(? AS BIGINT)", q, 3, &err);
	}
	if (rc < 0)
		log__error("instance action %s: event %s: %s", id, event, err.msg);
}

void servers_actions__event_latest(struct db *db, const char *uuid, const char *action,
				   const char *event, const char *result, const char *traceback)
{
	struct st_err err = {0};
	long long id;
	const char *p[] = {uuid, action};
	if (compute_db__count(db, "SELECT MAX(id) FROM compute_instance_action WHERE instance_uuid = ?"
			      " AND action = ?", p, 2, &id, &err) < 0)
		log__error("server %s: its %s action: %s", uuid, action, err.msg);
	else if (id)
		servers_actions__event(db, id, event, result, traceback);
}

static const struct compute_col action_cols[] = {
	{"action", COL_TEXT}, {"instance_uuid", COL_TEXT}, {"request_id", COL_TEXT},
	{"user_id", COL_TEXT}, {"project_id", COL_TEXT}, {"start_time", COL_TIME},
	{"message", COL_TEXT}, {"updated_at", COL_TIME}, {"id", COL_INT},
};

#define ACTION_SQL "SELECT action, instance_uuid, request_id, user_id, project_id, start_time," \
		   " message, updated_at, id FROM compute_instance_action WHERE instance_uuid = ?"

/* Nova's view at the caller's microversion (updated_at from 2.58). */
static void shape(const struct compute_caller *c, json_t *a)
{
	json_object_del(a, "id");
	if (c->mv < 58)
		json_object_del(a, "updated_at");
}

int servers_actions__list(struct servers *s, const struct compute_caller *c, const char *id,
			  json_t **out, struct st_err *err)
{
	cleanup_json json_t *row = NULL;
	json_t *list, *a;
	size_t i;
	if (servers__find(s, c, id, "os_compute_api:os-instance-actions:list", &row, err) < 0 ||
	    compute_db__objects(s->db, ACTION_SQL " ORDER BY start_time DESC, id DESC", &id, 1, action_cols,
				ST_ARRAY_SIZE(action_cols), &list, err) < 0)
		return -1;
	json_array_foreach(list, i, a)
		shape(c, a);
	*out = list;
	return 0;
}

static const struct compute_col event_cols[] = {
	{"event", COL_TEXT}, {"start_time", COL_TIME}, {"finish_time", COL_TIME},
	{"result", COL_TEXT}, {"traceback", COL_TEXT}, {"host", COL_TEXT},
};

int servers_actions__show(struct servers *s, const struct compute_caller *c, const char *id,
			  const char *request_id, json_t **out, struct st_err *err)
{
	cleanup_json json_t *row = NULL;
	json_t *a, *events, *e;
	struct st_err no = {0};
	size_t i;
	const char *p[] = {id, request_id};
	char nf[200];
	snprintf(nf, sizeof(nf), "Action for request_id %.64s on instance %.64s not found", request_id, id);
	if (servers__find(s, c, id, "os_compute_api:os-instance-actions:show", &row, err) < 0 ||
	    compute_db__object(s->db, ACTION_SQL " AND request_id = ?", p, 2, action_cols,
			       ST_ARRAY_SIZE(action_cols), &a, nf, err) < 0)
		return -1;
	bool details = compute_policy__check(c, "os_compute_api:os-instance-actions:events", NULL, &no) == 0;
	char aid[24];
	snprintf(aid, sizeof(aid), "%lld", (long long)json_integer_value(json_object_get(a, "id")));
	shape(c, a);
	/* events: admins' always; everyone's from 2.51, without the traceback */
	if (!details && c->mv < 51) {
		*out = a;
		return 0;
	}
	const char *ap = aid;
	if (compute_db__objects(s->db, "SELECT event, start_time, finish_time, result, traceback, host"
				" FROM compute_instance_action_event WHERE action_id = CAST(? AS BIGINT)"
				" ORDER BY start_time, event", &ap, 1, event_cols, ST_ARRAY_SIZE(event_cols),
				&events, err) < 0) {
		json_decref(a);
		return -1;
	}
	json_array_foreach(events, i, e) {
		if (!details)
			json_object_del(e, "traceback");
		if (c->mv < 62)
			json_object_del(e, "host");
	}
	json_object_set_new(a, "events", events);
	*out = a;
	return 0;
}
