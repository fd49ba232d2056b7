/* /v1/session: the web UI's login (PAM), who is logged in, logout. These
 * routes are open (routes__open): they run without the host lock (a failed
 * login waits a fixed time) and decide access themselves. */
#include "host/routes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/util.h"
#include "host/web_login.h"
#include "host/web_session.h"

#define LOGIN_FAIL_DELAY_NS 1000000000ull

static json_t *session_json(const struct web_session *s)
{
	return json_pack("{s:b, s:s, s:i, s:b, s:s, s:i}", "logged_in", 1, "user", s->user, "uid", (int)s->uid, "write_access",
			 s->can_write, "csrf_token", s->csrf, "idle_timeout", (int)web_session__idle_timeout());
}

static void set_cookie(struct http_reply *rp, const struct routes_ctx *p, const char *id)
{
	char cookie[256];
	web_session__cookie(id, p->tls, cookie, sizeof(cookie));
	http_reply__header(rp, "Set-Cookie", cookie);
	http_reply__header(rp, "Cache-Control", "no-store");
}

/* Every failure takes the same time from the request's start, whatever failed. */
static void fixed_delay(uint64_t start_ns)
{
	uint64_t until = start_ns + LOGIN_FAIL_DELAY_NS, now;
	while ((now = util__now_ns()) < until) {
		struct timespec ts = {(time_t)((until - now) / 1000000000u), (long)((until - now) % 1000000000u)};
		nanosleep(&ts, NULL);
	}
}

static int login(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	uint64_t start = util__now_ns();
	struct routes_ctx *p = http_request__user(r);
	cleanup_json json_t *in = NULL;
	if (http_request__body_json(r, &in, err) < 0)
		return -1;
	const char *user = json_string_value(json_object_get(in, "user"));
	const char *password = json_string_value(json_object_get(in, "password"));
	if (!user || !password || json_object_size(in) != 2)
		return err__fail_class(err, EINVAL, "the body is {\"user\": NAME, \"password\": PASSWORD}");
	uid_t uid;
	bool can_write;
	struct web_session s;
	if (web_login__check(user, password, &uid, &can_write, err) < 0) {
		log__warn("web login refused for user '%.64s'", user);
		fixed_delay(start);
		return -1;
	}
	if (web_session__create(user, uid, can_write, &s, err) < 0)
		return -1;
	p->uid = uid; /* the audit row names who logged in */
	log__info("web login: %s (uid %d, %s access)", user, (int)uid, can_write ? "full" : "read-only");
	http_reply__json(rp, 201, session_json(&s));
	set_cookie(rp, p, s.id);
	return 0;
}

/* Not logged in is an answer, not an error: the page asks this first. */
static int whoami(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	(void)err;
	const struct routes_ctx *p = routes__ctx(r);
	json_t *o = p->session ? session_json(&p->ws) : json_object();
	json_object_set_new(o, "logged_in", json_boolean(p->session));
	http_reply__json(rp, 200, o);
	http_reply__header(rp, "Cache-Control", "no-store");
	return 0;
}

static int logout(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	const struct routes_ctx *p = routes__ctx(r);
	if (!p->session)
		return err__fail_class(err, EKEYREJECTED, "not logged in");
	web_session__delete(p->ws.id);
	http_reply__json(rp, 200, json_pack("{s:b}", "logged_out", 1));
	set_cookie(rp, p, "");
	return 0;
}

const char routes__open[] = "open: no host lock, access decided by the route";

const struct http_route routes__table_session[] = {
	{"POST", "/v1/session", login, NULL, routes__open},
	{"GET", "/v1/session", whoami, NULL, routes__open},
	{"DELETE", "/v1/session", logout, NULL, routes__open},
};
const size_t routes__nr_session = sizeof(routes__table_session) / sizeof(routes__table_session[0]);
