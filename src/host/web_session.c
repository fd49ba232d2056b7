/* The web UI's session table; see web_session.h. */
#include "host/web_session.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/log.h"

struct slot {
	struct store_web_session s; /* s.hash: the cookie's SHA-256 */
	bool used;
	int64_t saved; /* the last_used the database has */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[WEB_SESSIONS_MAX];
static unsigned idle_timeout_s = 900;
static struct store *db;
static pthread_mutex_t *db_lock;

/* Wall-clock seconds: last uses are kept across restarts. */
static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

void web_session__set_idle_timeout(unsigned seconds)
{
	idle_timeout_s = seconds;
}

unsigned web_session__idle_timeout(void)
{
	return idle_timeout_s;
}

bool web_session__equal(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	unsigned diff = (unsigned)(n ^ m);
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned)(a[i] ^ (i < m ? b[i] : 0));
	return diff == 0;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* SHA-256 of prefix and id, as hex: the stored key (prefix "") and the CSRF token. */
static void digest(const char *prefix, const char *id, char out[WEB_SESSION_TOKEN_HEX + 1])
{
	char in[16 + WEB_SESSION_TOKEN_HEX + 1];
	int n = snprintf(in, sizeof(in), "%s%s", prefix, id);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	if (n < 0 || (size_t)n >= sizeof(in) || !EVP_Digest(in, (size_t)n, md, &len, EVP_sha256(), NULL) ||
	    len * 2 != WEB_SESSION_TOKEN_HEX) {
		/* cannot happen with these lengths; no session may match an empty hash */
		memset(out, 0, WEB_SESSION_TOKEN_HEX + 1);
		return;
	}
	hex(md, len, out);
}

/* 32 bytes from the kernel's CSPRNG (the source libsodium and OpenSSL use), as hex. */
static int random_token(char out[WEB_SESSION_TOKEN_HEX + 1], struct st_err *err)
{
	unsigned char b[WEB_SESSION_TOKEN_HEX / 2];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return err__fail_errno(err, "getrandom");
	hex(b, sizeof(b), out);
	return 0;
}

static bool expired(const struct slot *sl, int64_t now)
{
	return now - sl->s.last_used > (int64_t)idle_timeout_s;
}

/* The database's copy (called without `lock`: the host lock comes first). A
 * failure only costs the session's survival of a restart. */
enum change { PUT, TOUCH, DROP };
static void save(enum change what, const struct store_web_session *s)
{
	if (!db)
		return;
	struct st_err err = {0};
	pthread_mutex_lock(db_lock);
	int rc = what == PUT ? store__web_session_put(db, s, &err)
		 : what == TOUCH ? store__web_session_touch(db, s->hash, s->last_used, &err)
				 : store__web_session_delete(db, s->hash, &err);
	pthread_mutex_unlock(db_lock);
	if (rc < 0)
		log__warn("web sessions: %s", err.msg);
}

static void session_of(const struct slot *sl, const char *id, struct web_session *out)
{
	*out = (struct web_session){.uid = sl->s.uid, .can_write = sl->s.can_write};
	snprintf(out->id, sizeof(out->id), "%s", id);
	snprintf(out->user, sizeof(out->user), "%s", sl->s.user);
	digest("csrf:", id, out->csrf);
}

int web_session__create(const char *user, uid_t uid, bool can_write, struct web_session *out, struct st_err *err)
{
	char id[WEB_SESSION_TOKEN_HEX + 1];
	if (random_token(id, err) < 0)
		return -1;
	struct store_web_session gone[WEB_SESSIONS_MAX / 64];
	size_t nr_gone = 0;
	pthread_mutex_lock(&lock);
	int64_t now = now_s();
	struct slot *pick = NULL;
	for (size_t i = 0; i < WEB_SESSIONS_MAX; i++) {
		struct slot *sl = &slots[i];
		if (sl->used && expired(sl, now)) {
			sl->used = false;
			if (nr_gone < sizeof(gone) / sizeof(gone[0]))
				gone[nr_gone++] = sl->s;
		}
		if (!sl->used && !pick)
			pick = sl;
	}
	if (!pick) { /* full of live sessions: the one idle longest goes */
		for (size_t i = 0; i < WEB_SESSIONS_MAX; i++)
			if (!pick || slots[i].s.last_used < pick->s.last_used)
				pick = &slots[i];
		gone[nr_gone++] = pick->s;
	}
	*pick = (struct slot){.used = true, .s = {.uid = uid, .can_write = can_write, .last_used = now}, .saved = now};
	snprintf(pick->s.user, sizeof(pick->s.user), "%s", user);
	digest("", id, pick->s.hash);
	struct store_web_session made = pick->s;
	session_of(pick, id, out);
	pthread_mutex_unlock(&lock);
	for (size_t i = 0; i < nr_gone; i++)
		save(DROP, &gone[i]);
	save(PUT, &made);
	return 0;
}

/* The value of the session cookie in a Cookie header, or NULL. */
static const char *cookie_value(const char *header, size_t *len)
{
	const size_t nlen = strlen(WEB_SESSION_COOKIE);
	for (const char *p = header; p && *p;) {
		p += strspn(p, " \t");
		size_t plen = strcspn(p, ";");
		if (plen > nlen && !strncmp(p, WEB_SESSION_COOKIE, nlen) && p[nlen] == '=') {
			*len = plen - nlen - 1;
			return p + nlen + 1;
		}
		p += plen + (p[plen] == ';');
	}
	return NULL;
}

bool web_session__find(const char *cookie_header, struct web_session *out)
{
	size_t len = 0;
	const char *v = cookie_value(cookie_header, &len);
	if (!v || len != WEB_SESSION_TOKEN_HEX)
		return false;
	char id[WEB_SESSION_TOKEN_HEX + 1], hash[WEB_SESSION_TOKEN_HEX + 1];
	memcpy(id, v, len);
	id[len] = 0;
	digest("", id, hash);
	bool found = false, was_expired = false, touched = false;
	struct store_web_session copy;
	pthread_mutex_lock(&lock);
	int64_t now = now_s();
	for (size_t i = 0; i < WEB_SESSIONS_MAX && !found && !was_expired; i++) {
		struct slot *sl = &slots[i];
		if (!sl->used || !web_session__equal(sl->s.hash, hash))
			continue;
		copy = sl->s;
		if (expired(sl, now)) {
			sl->used = false;
			was_expired = true;
			break;
		}
		sl->s.last_used = now;
		/* the database's copy lags a little (a write per request is too many) */
		if (now - sl->saved >= 1 + (int64_t)idle_timeout_s / 30) {
			sl->saved = now;
			copy.last_used = now;
			touched = true;
		}
		session_of(sl, id, out);
		found = true;
	}
	pthread_mutex_unlock(&lock);
	if (was_expired || touched)
		save(was_expired ? DROP : TOUCH, &copy);
	return found;
}

void web_session__delete(const char *id)
{
	struct store_web_session gone = {0};
	digest("", id, gone.hash);
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < WEB_SESSIONS_MAX; i++)
		if (slots[i].used && web_session__equal(slots[i].s.hash, gone.hash))
			slots[i].used = false;
	pthread_mutex_unlock(&lock);
	save(DROP, &gone);
}

static void load_one(void *ctx, const struct store_web_session *s)
{
	size_t *n = ctx;
	int64_t now = now_s();
	struct slot sl = {.s = *s, .used = true, .saved = s->last_used};
	if (strlen(s->hash) != WEB_SESSION_TOKEN_HEX || expired(&sl, now) || *n >= WEB_SESSIONS_MAX)
		return;
	slots[(*n)++] = sl;
}

int web_session__open(struct store *store, pthread_mutex_t *store_lock, struct st_err *err)
{
	size_t n = 0;
	pthread_mutex_lock(store_lock);
	pthread_mutex_lock(&lock);
	int rc = store__web_session_expire(store, now_s() - (int64_t)idle_timeout_s, err);
	if (rc == 0)
		rc = store__web_session_each(store, load_one, &n, err);
	pthread_mutex_unlock(&lock);
	pthread_mutex_unlock(store_lock);
	if (rc < 0)
		return err__prefix(err, "web sessions");
	db = store;
	db_lock = store_lock;
	return 0;
}

void web_session__clear(void)
{
	pthread_mutex_lock(&lock);
	memset(slots, 0, sizeof(slots));
	db = NULL;
	db_lock = NULL;
	pthread_mutex_unlock(&lock);
}

void web_session__cookie(const char *id, bool secure, char *buf, size_t size)
{
	snprintf(buf, size, "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s", WEB_SESSION_COOKIE, id,
		 secure ? "; Secure" : "", *id ? "" : "; Max-Age=0");
}
