/* The web UI's session table; see web_session.h. */
#include "host/web_session.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

struct slot {
	struct web_session s;
	bool used;
	time_t last_used;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[WEB_SESSIONS_MAX];
static unsigned idle_timeout_s = 900;

static time_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
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

/* 32 bytes from the kernel's CSPRNG (the source libsodium and OpenSSL use), as hex. */
static int random_token(char out[WEB_SESSION_TOKEN_HEX + 1], struct st_err *err)
{
	unsigned char b[WEB_SESSION_TOKEN_HEX / 2];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return err__fail_errno(err, "getrandom");
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}

static bool expired(const struct slot *sl, time_t now)
{
	return now - sl->last_used > (time_t)idle_timeout_s;
}

int web_session__create(const char *user, uid_t uid, bool can_write, struct web_session *out, struct st_err *err)
{
	struct web_session s = {.uid = uid, .can_write = can_write};
	snprintf(s.user, sizeof(s.user), "%s", user);
	if (random_token(s.id, err) < 0 || random_token(s.csrf, err) < 0)
		return -1;
	pthread_mutex_lock(&lock);
	time_t now = now_s();
	struct slot *pick = NULL;
	for (size_t i = 0; i < WEB_SESSIONS_MAX; i++) {
		struct slot *sl = &slots[i];
		if (sl->used && expired(sl, now))
			sl->used = false;
		if (!sl->used && !pick)
			pick = sl;
	}
	if (!pick) /* full of live sessions: the one idle longest goes */
		for (size_t i = 0; i < WEB_SESSIONS_MAX; i++)
			if (!pick || slots[i].last_used < pick->last_used)
				pick = &slots[i];
	*pick = (struct slot){.s = s, .used = true, .last_used = now};
	pthread_mutex_unlock(&lock);
	*out = s;
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
	char id[WEB_SESSION_TOKEN_HEX + 1];
	memcpy(id, v, len);
	id[len] = 0;
	bool found = false;
	pthread_mutex_lock(&lock);
	time_t now = now_s();
	for (size_t i = 0; i < WEB_SESSIONS_MAX && !found; i++) {
		struct slot *sl = &slots[i];
		if (!sl->used || !web_session__equal(sl->s.id, id))
			continue;
		if (expired(sl, now)) {
			sl->used = false;
			break;
		}
		sl->last_used = now;
		*out = sl->s;
		found = true;
	}
	pthread_mutex_unlock(&lock);
	return found;
}

void web_session__delete(const char *id)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < WEB_SESSIONS_MAX; i++)
		if (slots[i].used && web_session__equal(slots[i].s.id, id))
			slots[i].used = false;
	pthread_mutex_unlock(&lock);
}

void web_session__clear(void)
{
	pthread_mutex_lock(&lock);
	memset(slots, 0, sizeof(slots));
	pthread_mutex_unlock(&lock);
}

void web_session__cookie(const char *id, bool secure, char *buf, size_t size)
{
	snprintf(buf, size, "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s", WEB_SESSION_COOKIE, id,
		 secure ? "; Secure" : "", *id ? "" : "; Max-Age=0");
}
