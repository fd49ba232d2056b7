/* Password storage: Argon2id (libsodium's crypto_pwhash_str, its own salt
 * and parameters in the stored string, "$argon2id$v=19$m=...,t=...,p=1$..."). */
#ifndef STRATA_CLOUD_PASSWORD_H
#define STRATA_CLOUD_PASSWORD_H

#include "common/err.h"

#define PASSWORD_HASH_MAX 128
#define PASSWORD_MAX 4096

int password__hash(const char *password, char out[PASSWORD_HASH_MAX], struct st_err *err);
/* 0 when password matches hash, -1 (EACCES) when it does not or hash is not one. */
int password__verify(const char *hash, const char *password, struct st_err *err);

#endif
