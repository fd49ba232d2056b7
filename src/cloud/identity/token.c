#include "cloud/identity/token.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "common/base64.h"
#include "common/cleanup.h"
#include "cloud/identity/msgpack.h"

int token__new_audit_id(char out[TOKEN_AUDIT_LEN + 1], struct st_err *err)
{
	uint8_t raw[16];
	cleanup_free char *text = NULL;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return err__fail(err, EIO, "token: no random bytes");
	if (base64__encode(BASE64_URL, raw, sizeof(raw), 0, &text, err) < 0)
		return -1;
	memcpy(out, text, TOKEN_AUDIT_LEN + 1);
	return 0;
}

/* 32 lowercase hex digits: what Python's uuid.UUID(...).hex gives back, so
 * the id survives the bytes round trip unchanged. */
static int uuid_bytes(const char *id, uint8_t out[16])
{
	if (strlen(id) != 32)
		return 0;
	for (int i = 0; i < 16; i++) {
		unsigned v = 0;
		for (int j = 0; j < 2; j++) {
			char c = id[2 * i + j];
			if (c >= '0' && c <= '9')
				v = v << 4 | (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v = v << 4 | (unsigned)(c - 'a' + 10);
			else
				return 0;
		}
		out[i] = (uint8_t)v;
	}
	return 1;
}

/* [is_bytes, id]: Keystone's attempt_convert_uuid_hex_to_bytes. */
static void put_id(struct msgpack_buf *b, const char *id)
{
	uint8_t raw[16];
	msgpack__put_array(b, 2);
	int is_uuid = uuid_bytes(id, raw);
	msgpack__put_bool(b, is_uuid);
	if (is_uuid)
		msgpack__put_bin(b, raw, 16);
	else
		msgpack__put_str(b, id, strlen(id));
}

/* The domain id alone: 16 bytes for a UUID, else the text ("default"). */
static void put_bare_id(struct msgpack_buf *b, const char *id)
{
	uint8_t raw[16];
	if (uuid_bytes(id, raw))
		msgpack__put_bin(b, raw, 16);
	else
		msgpack__put_str(b, id, strlen(id));
}

static int put_audit_ids(struct msgpack_buf *b, const struct token *t, struct st_err *err)
{
	msgpack__put_array(b, (uint32_t)t->n_audit_ids);
	for (size_t i = 0; i < t->n_audit_ids; i++) {
		cleanup_free uint8_t *raw = NULL;
		size_t len;
		if (base64__decode(BASE64_URL, t->audit_ids[i], strlen(t->audit_ids[i]), &raw, &len,
				   err) < 0 || len != 16)
			return err__fail(err, EINVAL, "token: malformed audit id");
		msgpack__put_bin(b, raw, len);
	}
	return 0;
}

static int assemble(const struct token *t, struct msgpack_buf *b, struct st_err *err)
{
	static const uint32_t fields[] = {[TOKEN_UNSCOPED] = 4, [TOKEN_DOMAIN] = 5,
					  [TOKEN_PROJECT] = 5, [TOKEN_SYSTEM] = 5,
					  [TOKEN_APP_CRED] = 6};
	if ((unsigned)t->scope >= sizeof(fields) / sizeof(fields[0]) || !fields[t->scope])
		return err__fail(err, EINVAL, "token: unknown scope %d", t->scope);
	msgpack__put_array(b, 1 + fields[t->scope]);
	msgpack__put_uint(b, (uint64_t)t->scope);
	put_id(b, t->user_id);
	msgpack__put_uint(b, t->methods);
	if (t->scope == TOKEN_DOMAIN)
		put_bare_id(b, t->domain_id);
	else if (t->scope == TOKEN_PROJECT || t->scope == TOKEN_APP_CRED)
		put_id(b, t->project_id);
	else if (t->scope == TOKEN_SYSTEM)
		msgpack__put_str(b, t->system, strlen(t->system));
	msgpack__put_double(b, (double)t->expires_at);
	if (put_audit_ids(b, t, err) < 0)
		return -1;
	if (t->scope == TOKEN_APP_CRED)
		put_id(b, t->app_cred_id);
	return 0;
}

int token__encode(const struct token *t, const struct fernet_key *primary, uint64_t now,
		  char **out, struct st_err *err)
{
	struct msgpack_buf b = {0};
	int rc = assemble(t, &b, err);
	if (rc == 0 && b.failed)
		rc = err__fail(err, ENOMEM, "token: out of memory");
	if (rc == 0)
		rc = fernet__encrypt(primary, now, b.data, b.len, out, err);
	msgpack__buf_free(&b);
	return rc;
}

static int bad(struct st_err *err, const char *what)
{
	return err__fail(err, EINVAL, "token payload: %s", what);
}

static int get_text(const struct msgpack_item *it, char *out, size_t size, struct st_err *err)
{
	if (it->type != MSGPACK_STR && it->type != MSGPACK_BIN)
		return bad(err, "expected text");
	if (it->u >= size || memchr(it->data, '\0', it->u))
		return bad(err, "id too long or not text");
	memcpy(out, it->data, it->u);
	out[it->u] = '\0';
	return 0;
}

static int get_hex(const struct msgpack_item *it, char out[TOKEN_ID_MAX + 1], struct st_err *err)
{
	if (it->type != MSGPACK_BIN || it->u != 16)
		return bad(err, "expected 16 bytes");
	for (int i = 0; i < 16; i++) {
		out[2 * i] = "0123456789abcdef"[it->data[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[it->data[i] & 15];
	}
	out[32] = '\0';
	return 0;
}

/* [is_bytes, id] */
static int get_id(struct msgpack_reader *r, char out[TOKEN_ID_MAX + 1], struct st_err *err)
{
	struct msgpack_item a, flag, v;
	if (msgpack__get(r, &a, err) < 0 || a.type != MSGPACK_ARRAY || a.u != 2)
		return bad(err, "expected [is_bytes, id]");
	if (msgpack__get(r, &flag, err) < 0 || flag.type != MSGPACK_BOOL ||
	    msgpack__get(r, &v, err) < 0)
		return bad(err, "expected [is_bytes, id]");
	return flag.u ? get_hex(&v, out, err) : get_text(&v, out, TOKEN_ID_MAX + 1, err);
}

static int get_bare_id(struct msgpack_reader *r, char out[TOKEN_ID_MAX + 1], struct st_err *err)
{
	struct msgpack_item v;
	if (msgpack__get(r, &v, err) < 0)
		return -1;
	return v.type == MSGPACK_BIN && v.u == 16 ? get_hex(&v, out, err)
						  : get_text(&v, out, TOKEN_ID_MAX + 1, err);
}

static int get_expiry(struct msgpack_reader *r, int64_t *out, struct st_err *err)
{
	struct msgpack_item v;
	if (msgpack__get(r, &v, err) < 0)
		return -1;
	/* Below 1e15 seconds a double holds the value exactly: the re-encoded
	 * token says what this one said (the fuzzer found 2^62 did not). */
	if (v.type == MSGPACK_UINT && v.u < 1000000000000000ull)
		*out = (int64_t)v.u;
	else if (v.type == MSGPACK_DOUBLE && isfinite(v.d) && v.d >= 0 && v.d < 1e15)
		*out = (int64_t)v.d;
	else
		return bad(err, "expected an expiry time");
	return 0;
}

static int get_audit_ids(struct msgpack_reader *r, struct token *t, struct st_err *err)
{
	struct msgpack_item a;
	if (msgpack__get(r, &a, err) < 0 || a.type != MSGPACK_ARRAY || a.u > 2)
		return bad(err, "expected at most two audit ids");
	t->n_audit_ids = a.u;
	for (size_t i = 0; i < a.u; i++) {
		struct msgpack_item v;
		cleanup_free char *text = NULL;
		if (msgpack__get(r, &v, err) < 0 || v.type != MSGPACK_BIN || v.u != 16)
			return bad(err, "expected a 16-byte audit id");
		if (base64__encode(BASE64_URL, v.data, 16, 0, &text, err) < 0)
			return -1;
		memcpy(t->audit_ids[i], text, TOKEN_AUDIT_LEN + 1);
	}
	return 0;
}

int token__parse_payload(const uint8_t *p, size_t len, struct token *t, struct st_err *err)
{
	memset(t, 0, sizeof(*t));
	struct msgpack_reader r = {.p = p, .len = len};
	struct msgpack_item top, version, methods;
	if (msgpack__get(&r, &top, err) < 0 || top.type != MSGPACK_ARRAY ||
	    msgpack__get(&r, &version, err) < 0 || version.type != MSGPACK_UINT)
		return bad(err, "expected [version, ...]");
	static const uint64_t fields[] = {[TOKEN_UNSCOPED] = 4, [TOKEN_DOMAIN] = 5,
					  [TOKEN_PROJECT] = 5, [TOKEN_SYSTEM] = 5,
					  [TOKEN_APP_CRED] = 6};
	if (version.u >= sizeof(fields) / sizeof(fields[0]) || !fields[version.u])
		return bad(err, "unsupported payload version");
	if (top.u != 1 + fields[version.u])
		return bad(err, "wrong number of fields");
	t->scope = (enum token_scope)version.u;
	if (get_id(&r, t->user_id, err) < 0 || msgpack__get(&r, &methods, err) < 0 ||
	    methods.type != MSGPACK_UINT)
		return bad(err, "expected the user and the methods");
	t->methods = methods.u;
	int rc = 0;
	if (t->scope == TOKEN_DOMAIN)
		rc = get_bare_id(&r, t->domain_id, err);
	else if (t->scope == TOKEN_PROJECT || t->scope == TOKEN_APP_CRED)
		rc = get_id(&r, t->project_id, err);
	else if (t->scope == TOKEN_SYSTEM) {
		struct msgpack_item v;
		rc = msgpack__get(&r, &v, err) < 0 ? -1 : get_text(&v, t->system, sizeof(t->system), err);
	}
	if (rc < 0 || get_expiry(&r, &t->expires_at, err) < 0 || get_audit_ids(&r, t, err) < 0)
		return -1;
	if (t->scope == TOKEN_APP_CRED && get_id(&r, t->app_cred_id, err) < 0)
		return -1;
	if (r.off != r.len)
		return bad(err, "trailing bytes");
	return 0;
}

int token__decode(const struct fernet_key *keys, size_t nkeys, const char *text, uint64_t now,
		  struct token *out, struct st_err *err)
{
	cleanup_free uint8_t *payload = NULL;
	size_t len;
	uint64_t issued;
	if (fernet__decrypt(keys, nkeys, text, &payload, &len, &issued, err) < 0)
		return -1;
	if (token__parse_payload(payload, len, out, err) < 0)
		return -1;
	out->issued_at = issued;
	if (out->expires_at <= (int64_t)now)
		return err__fail(err, ETIME, "token expired");
	return 0;
}
