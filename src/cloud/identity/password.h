/* Password storage: Argon2id (libsodium's crypto_pwhash_str, its own salt
 * and parameters in the stored string, "$argon2id$v=19$m=...,t=...,p=1$...").
 *
 * Verifying costs what Argon2id is meant to cost (~0.1 s of a core and 64
 * MiB), and clients log in with the same password again and again. So a
 * successful verification is remembered for a while (password__set_cache_
 * seconds, 0 turns it off), as Dovecot's auth cache or Apache's
 * mod_authn_socache do: by a keyed BLAKE2b of the stored hash and the
 * password, under a key drawn at random in this process only. The same
 * password against the same stored hash then passes at once; anything else
 * (a wrong password, a changed one: a new hash with a new salt) pays the full
 * Argon2id, so guessing online is never cheaper. What it trades: someone who
 * can read this process's memory (who sees the passwords arriving anyway)
 * could test guesses against the entries at BLAKE2b speed, for passwords used
 * in the last seconds only. */
#ifndef STRATA_CLOUD_PASSWORD_H
#define STRATA_CLOUD_PASSWORD_H

#include "common/err.h"

#define PASSWORD_HASH_MAX 128
#define PASSWORD_MAX 4096
#define PASSWORD_CACHE_DEFAULT_S 300

int password__hash(const char *password, char out[PASSWORD_HASH_MAX], struct st_err *err);
/* 0 when password matches hash, -1 (EACCES) when it does not or hash is not one. */
int password__verify(const char *hash, const char *password, struct st_err *err);
/* How long a successful verification is remembered (default
 * PASSWORD_CACHE_DEFAULT_S); 0 forgets every one and remembers none. */
void password__set_cache_seconds(unsigned seconds);
/* How many Argon2id verifications this process has run (what the cache saves). */
unsigned long password__slow_checks(void);

#endif
