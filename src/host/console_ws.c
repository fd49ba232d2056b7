/* GET /v1/domains/NAME/console/ws: the guest's serial console as a
 * WebSocket (RFC 6455, common/websocket.h) for the web page's xterm.js.
 * Server to client: binary frames of console output, text frames of JSON
 * notices ({"error": ...}); client to server: binary or text frames of
 * input, which a read-only viewer may not send (a notice, the input dropped).
 *
 * The VMM's console socket serves one client at a time (a new one replaces
 * the old), so stratad keeps one connection per domain, a hub, and shares
 * it: a thread copies the output to every viewer and the viewers write their
 * input to it. The hub keeps the last CONSOLE_RING bytes for viewers that
 * join later, and ends with the console (the guest stopped) or its last viewer. */
#include "host/routes.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/sock.h"
#include "common/util.h"
#include "common/websocket.h"
#include "host/domains.h"

#define CONSOLE_RING 16384
#define POLL_MS 500
#define VIEWER_SEND_TIMEOUT_S 5

struct viewer {
	struct viewer *next;
	int sock;
	bool can_write;
	bool gone; /* a write to it failed: it leaves */
	pthread_mutex_t wlock; /* frames from the hub's thread and its own */
};

struct hub {
	struct hub *next;
	char *path;
	int con;
	bool ended; /* the console closed: viewers leave */
	unsigned viewers_n;
	struct viewer *viewers;
	uint8_t ring[CONSOLE_RING];
	size_t ring_len, ring_head; /* ring_head: where the next byte goes */
};

static pthread_mutex_t hubs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hub *hubs;

static int viewer_send(struct viewer *v, enum websocket_opcode op, const void *data, size_t len)
{
	pthread_mutex_lock(&v->wlock);
	int rc = v->gone ? -1 : websocket__send(v->sock, op, data, len, NULL);
	if (rc < 0)
		v->gone = true;
	pthread_mutex_unlock(&v->wlock);
	return rc;
}

static void viewer_notice(struct viewer *v, const char *message)
{
	cleanup_json json_t *j = json_pack("{s:s}", "error", message);
	cleanup_free char *text = json_dumps(j, JSON_COMPACT);
	if (text)
		viewer_send(v, WEBSOCKET_TEXT, text, strlen(text));
}

static void ring_add(struct hub *hb, const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		hb->ring[hb->ring_head] = buf[i];
		hb->ring_head = (hb->ring_head + 1) % CONSOLE_RING;
	}
	hb->ring_len = hb->ring_len + n > CONSOLE_RING ? CONSOLE_RING : hb->ring_len + n;
}

static void ring_replay(struct hub *hb, struct viewer *v)
{
	size_t start = (hb->ring_head + CONSOLE_RING - hb->ring_len) % CONSOLE_RING;
	size_t first = start + hb->ring_len > CONSOLE_RING ? CONSOLE_RING - start : hb->ring_len;
	if (first)
		viewer_send(v, WEBSOCKET_BINARY, hb->ring + start, first);
	if (hb->ring_len > first)
		viewer_send(v, WEBSOCKET_BINARY, hb->ring, hb->ring_len - first);
}

static void hub_unlink(struct hub *hb)
{
	for (struct hub **p = &hubs; *p; p = &(*p)->next)
		if (*p == hb) {
			*p = hb->next;
			return;
		}
}

/* The hub's thread: console output to every viewer, until the console
 * closes or nobody watches. */
static void *hub_pump(void *arg)
{
	struct hub *hb = arg;
	uint8_t buf[4096];
	for (;;) {
		struct pollfd p = {.fd = hb->con, .events = POLLIN};
		int n = poll(&p, hb->ended ? 0 : 1, POLL_MS); /* ended: only waits for the viewers to go */
		pthread_mutex_lock(&hubs_lock);
		if (!hb->viewers_n) { /* the last viewer left */
			hub_unlink(hb);
			pthread_mutex_unlock(&hubs_lock);
			break;
		}
		ssize_t got = n > 0 ? read(hb->con, buf, sizeof(buf)) : 1;
		if (n < 0 && errno != EINTR)
			got = -1;
		if (got <= 0 && !hb->ended) {
			hb->ended = true;
			hub_unlink(hb); /* a new viewer makes a new hub; this one goes with its last viewer */
			pthread_mutex_unlock(&hubs_lock);
			continue;
		}
		if (n > 0 && got > 0) {
			ring_add(hb, buf, (size_t)got);
			for (struct viewer *v = hb->viewers; v; v = v->next)
				viewer_send(v, WEBSOCKET_BINARY, buf, (size_t)got);
		}
		pthread_mutex_unlock(&hubs_lock);
	}
	close(hb->con);
	free(hb->path);
	free(hb);
	return NULL;
}

/* Joins the hub of path (made, with its thread, if there is none). */
static struct hub *hub_join(const char *path, struct viewer *v, struct st_err *err)
{
	pthread_mutex_lock(&hubs_lock);
	struct hub *hb = hubs;
	while (hb && strcmp(hb->path, path))
		hb = hb->next;
	if (!hb) {
		int con = sock__unix_connect(path, err);
		hb = con >= 0 ? calloc(1, sizeof(*hb)) : NULL;
		pthread_t t;
		if (hb)
			hb->con = con;
		if (hb && (hb->path = strdup(path)) && pthread_create(&t, NULL, hub_pump, hb) == 0) {
			pthread_detach(t);
			hb->next = hubs;
			hubs = hb;
		} else {
			if (con >= 0)
				err__fail(err, ENOMEM, "console hub");
			if (hb)
				free(hb->path);
			free(hb);
			if (con >= 0)
				close(con);
			pthread_mutex_unlock(&hubs_lock);
			return NULL;
		}
	}
	ring_replay(hb, v);
	v->next = hb->viewers;
	hb->viewers = v;
	hb->viewers_n++;
	pthread_mutex_unlock(&hubs_lock);
	return hb;
}

static void hub_leave(struct hub *hb, struct viewer *v)
{
	pthread_mutex_lock(&hubs_lock);
	for (struct viewer **p = &hb->viewers; *p; p = &(*p)->next)
		if (*p == v) {
			*p = v->next;
			break;
		}
	hb->viewers_n--; /* the hub's thread sees 0 and ends it */
	pthread_mutex_unlock(&hubs_lock);
}

static void hub_input(struct hub *hb, const uint8_t *data, size_t len)
{
	pthread_mutex_lock(&hubs_lock);
	if (!hb->ended && util__write_all(hb->con, data, len, NULL) < 0)
		hb->ended = true;
	pthread_mutex_unlock(&hubs_lock);
}

/* One frame from the viewer: false when it leaves. */
static bool viewer_frame(struct hub *hb, struct viewer *v, const struct websocket_frame *f)
{
	switch (f->opcode) {
	case WEBSOCKET_CLOSE:
		websocket__close(v->sock, WEBSOCKET_NORMAL, "");
		return false;
	case WEBSOCKET_PING:
		viewer_send(v, WEBSOCKET_PONG, f->data, f->len);
		return true;
	case WEBSOCKET_PONG:
		return true;
	default:
		if (!v->can_write)
			viewer_notice(v, "this session is read-only: console input refused");
		else if (f->len)
			hub_input(hb, f->data, f->len);
		return true;
	}
}

struct ws_ctx {
	char *path;
	bool can_write;
};

static void ws_ctx_free(void *p)
{
	struct ws_ctx *c = p;
	free(c->path);
	free(c);
}

/* Why a viewer's loop ended, as the close frame says it. */
static void viewer_loop(struct hub *hb, struct viewer *v, const char *extra, size_t extra_len,
			const struct http_server *s)
{
	static struct websocket_reader rd_zero;
	struct websocket_reader *rd = malloc(sizeof(*rd));
	if (!rd)
		return;
	*rd = rd_zero;
	memcpy(rd->buf, extra, extra_len < sizeof(rd->buf) ? extra_len : sizeof(rd->buf));
	rd->have = extra_len < sizeof(rd->buf) ? extra_len : sizeof(rd->buf);
	struct st_err err = {0};
	unsigned code = WEBSOCKET_NORMAL;
	const char *why = "";
	for (;;) {
		struct websocket_frame f;
		int got;
		while ((got = websocket__next(rd, &f, &code, &err)) == 1)
			if (!viewer_frame(hb, v, &f))
				goto out;
		if (got < 0) {
			why = err.msg;
			break;
		}
		if (hb->ended || v->gone) {
			code = WEBSOCKET_NORMAL, why = "the console closed (the guest stopped)";
			break;
		}
		if (http_server__stopping(s)) {
			code = WEBSOCKET_GOING_AWAY, why = "stratad is stopping";
			break;
		}
		struct pollfd p = {.fd = v->sock, .events = POLLIN};
		if (poll(&p, 1, POLL_MS) > 0 && websocket__fill(rd, v->sock, &err) < 0)
			goto out; /* the client went away */
	}
	pthread_mutex_lock(&v->wlock);
	websocket__close(v->sock, code, why);
	pthread_mutex_unlock(&v->wlock);
out:
	free(rd);
}

static void ws_upgraded(void *cls, int sock, const char *extra, size_t extra_len, const struct http_server *s)
{
	struct ws_ctx *c = cls;
	struct viewer v = {.sock = sock, .can_write = c->can_write};
	struct timeval tv = {.tv_sec = VIEWER_SEND_TIMEOUT_S};
	setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)); /* a stalled viewer stalls nobody for long */
	pthread_mutex_init(&v.wlock, NULL);
	struct st_err err = {0};
	struct hub *hb = hub_join(c->path, &v, &err);
	if (!hb) {
		log__warn("console %s: %s", c->path, err.msg);
		websocket__close(sock, WEBSOCKET_INTERNAL, "cannot reach the guest's console");
	} else {
		viewer_loop(hb, &v, extra, extra_len, s);
		hub_leave(hb, &v);
	}
	pthread_mutex_destroy(&v.wlock);
}

static int console_ws(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct dom *d = domains__find(routes__host(r), http_request__capture(r, "name"), err);
	if (!d)
		return -1;
	if (d->state == DOM_SHUTOFF)
		return err__fail_class(err, EBUSY, "domain '%s' is not running", d->name);
	if (!websocket__requested(r))
		return err__fail_class(err, EINVAL, "this is the console's WebSocket (RFC 6455): send Upgrade: websocket");
	struct ws_ctx *c = calloc(1, sizeof(*c));
	if (!c || !(c->path = domains__console_path(routes__host(r), d))) {
		free(c);
		return err__fail(err, ENOMEM, "console");
	}
	c->can_write = routes__ctx(r)->can_write;
	return websocket__accept(r, rp, ws_upgraded, c, ws_ctx_free, err);
}

const struct http_route routes__table_console[] = {
	{"GET", "/v1/domains/{name}/console/ws", console_ws, NULL, NULL},
};
const size_t routes__nr_console = sizeof(routes__table_console) / sizeof(routes__table_console[0]);
