/* The web UI's login sessions: a table in memory of random session ids (the
 * HttpOnly cookie `strata_session`), each with the uid that logged in, its
 * access, and a random CSRF token the page sends back in `X-CSRF-Token` on
 * every request that changes something (derived from the session id, so
 * nothing else need be kept). A session unused for the idle timeout is gone.
 * The sessions are kept in stratad's database too, keyed by the cookie's
 * SHA-256 (the cookie itself is nowhere on disk), so a restarted stratad
 * keeps its logins and their idle times. */
#ifndef STRATA_HOST_WEB_SESSION_H
#define STRATA_HOST_WEB_SESSION_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"
#include "host/store.h"

#define WEB_SESSION_COOKIE "strata_session"
#define WEB_SESSION_TOKEN_HEX 64 /* 32 random bytes */
#define WEB_SESSIONS_MAX 1024

struct web_session {
	char id[WEB_SESSION_TOKEN_HEX + 1];
	char csrf[WEB_SESSION_TOKEN_HEX + 1];
	char user[64];
	uid_t uid;
	bool can_write;
};

/* The idle timeout for new and existing sessions (default 900 s). */
void web_session__set_idle_timeout(unsigned seconds);
unsigned web_session__idle_timeout(void);

/* Loads the live sessions from store and keeps it up to date from then on;
 * store_lock guards the store (taken only by callers not holding it). */
int web_session__open(struct store *store, pthread_mutex_t *store_lock, struct st_err *err);
/* A new session for user; *out gets a copy (its id is the cookie's value). */
int web_session__create(const char *user, uid_t uid, bool can_write, struct web_session *out, struct st_err *err);
/* The live session a Cookie header names (its last use becomes now). */
bool web_session__find(const char *cookie_header, struct web_session *out);
/* Ends a session (logout). */
void web_session__delete(const char *id);
/* Forgets every session in memory and lets go of the store (stratad stopping). */
void web_session__clear(void);

/* Whether two strings are equal, in time independent of where they differ. */
bool web_session__equal(const char *a, const char *b);

/* Fills buf with the Set-Cookie value for id ("" id: the cookie's removal). */
void web_session__cookie(const char *id, bool secure, char *buf, size_t size);

#endif
