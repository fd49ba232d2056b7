/* Keystone's Fernet token payloads (keystone/token/token_formatters.py):
 * msgpack of [version, ...fields] where the version says the scope. IDs that
 * are UUID hex travel as [true, 16 bytes], others as [false, text]; the
 * expiry is a float of seconds; audit ids are 16 bytes each (22 characters
 * of unpadded base64url in the API). The creation time is the Fernet
 * timestamp, not in the payload. */
#ifndef STRATA_CLOUD_TOKEN_H
#define STRATA_CLOUD_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "cloud/identity/fernet.h"

/* Payload versions (Keystone's payload classes). */
enum token_scope {
	TOKEN_UNSCOPED = 0,
	TOKEN_DOMAIN = 1,
	TOKEN_PROJECT = 2,
	TOKEN_SYSTEM = 8,
	TOKEN_APP_CRED = 9, /* project-scoped through an application credential */
};

/* Method bits: Keystone's [auth] methods in order, 1 << index. */
enum token_method {
	TOKEN_METHOD_EXTERNAL = 1,
	TOKEN_METHOD_PASSWORD = 2,
	TOKEN_METHOD_TOKEN = 4,
	TOKEN_METHOD_OAUTH1 = 8,
	TOKEN_METHOD_MAPPED = 16,
	TOKEN_METHOD_APP_CRED = 32,
};

#define TOKEN_ID_MAX 64
#define TOKEN_AUDIT_LEN 22

struct token {
	enum token_scope scope;
	char user_id[TOKEN_ID_MAX + 1];
	uint64_t methods;
	char project_id[TOKEN_ID_MAX + 1]; /* TOKEN_PROJECT, TOKEN_APP_CRED */
	char domain_id[TOKEN_ID_MAX + 1];  /* TOKEN_DOMAIN */
	char system[16];                   /* TOKEN_SYSTEM: "all" */
	char app_cred_id[TOKEN_ID_MAX + 1];
	int64_t expires_at;                /* seconds since the epoch */
	uint64_t issued_at;                /* set by token__decode */
	/* This token's audit id, then the chain's first when re-scoped. */
	char audit_ids[2][TOKEN_AUDIT_LEN + 1];
	size_t n_audit_ids;
};

/* A new audit id (random, 22 characters). */
int token__new_audit_id(char out[TOKEN_AUDIT_LEN + 1], struct st_err *err);

int token__encode(const struct token *t, const struct fernet_key *primary, uint64_t now,
		  char **out, struct st_err *err);
/* Decrypts with any of keys, parses the payload and refuses it once expired
 * (expires_at <= now). Errors: EINVAL malformed or not ours, ETIME expired. */
int token__decode(const struct fernet_key *keys, size_t nkeys, const char *text, uint64_t now,
		  struct token *out, struct st_err *err);
/* The payload alone (after decryption): what the fuzzer drives. */
int token__parse_payload(const uint8_t *p, size_t len, struct token *out, struct st_err *err);

#endif
