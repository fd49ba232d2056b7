/* Fernet (github.com/fernet/spec) with OpenSSL: version 0x80, a big-endian
 * 64-bit timestamp, a random IV, AES-128-CBC with PKCS#7 padding and an
 * HMAC-SHA256 over all of it, base64url. A key is 32 bytes, base64url in its
 * file: the first 16 sign, the last 16 encrypt. */
#ifndef STRATA_CLOUD_FERNET_H
#define STRATA_CLOUD_FERNET_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct fernet_key {
	uint8_t signing[16];
	uint8_t encryption[16];
};

/* A key from its base64url text (44 characters with padding; trailing
 * whitespace ignored). */
int fernet__key_parse(const char *text, size_t len, struct fernet_key *key, struct st_err *err);
/* A new random key as base64url text (malloc'd). */
int fernet__key_generate(char **text, struct st_err *err);

/* Encrypts msg at time now (seconds since the epoch). The token is base64url
 * without padding, as Keystone sends it. */
int fernet__encrypt(const struct fernet_key *key, uint64_t now, const uint8_t *msg, size_t len,
		    char **token, struct st_err *err);
/* Tries each key in turn; fails with EINVAL, never saying which check failed,
 * when no key's HMAC matches or the token is malformed. Padding optional.
 * *timestamp gets the token's creation time. */
int fernet__decrypt(const struct fernet_key *keys, size_t nkeys, const char *token,
		    uint8_t **msg, size_t *len, uint64_t *timestamp, struct st_err *err);

#endif
