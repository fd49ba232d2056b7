/* Fernet tokens as Keystone makes them: round trip, refusals, key rotation,
 * and the format checked against Python's cryptography + msgpack (the
 * libraries Keystone itself uses) in both directions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/base64.h"
#include "common/util.h"
#include "cloud/identity/fernet.h"
#include "cloud/identity/fernet_keys.h"
#include "cloud/identity/password.h"
#include "cloud/identity/token.h"

static const char *KEY1 = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
static const char *KEY2 = "TQBNMXzHcL1wZjMXI1QGu-EUQuC66hhT_Ag4LqsNy0E=";

static struct token project_token(int64_t expires)
{
	struct token t = {.scope = TOKEN_PROJECT, .methods = TOKEN_METHOD_PASSWORD,
			  .expires_at = expires, .n_audit_ids = 1};
	strcpy(t.user_id, "0123456789abcdef0123456789abcdef");
	strcpy(t.project_id, "not-a-uuid-project");
	assert_int_equal(token__new_audit_id(t.audit_ids[0], NULL), 0);
	return t;
}

static void round_trip_every_scope(void **state)
{
	(void)state;
	struct fernet_key key;
	struct st_err err = {0};
	assert_int_equal(fernet__key_parse(KEY1, strlen(KEY1), &key, &err), 0);
	enum token_scope scopes[] = {TOKEN_UNSCOPED, TOKEN_DOMAIN, TOKEN_PROJECT, TOKEN_SYSTEM,
				     TOKEN_APP_CRED};
	for (size_t i = 0; i < ST_ARRAY_SIZE(scopes); i++) {
		struct token t = project_token(2000000000), back;
		t.scope = scopes[i];
		strcpy(t.domain_id, "default");
		strcpy(t.system, "all");
		strcpy(t.app_cred_id, "fedcba9876543210fedcba9876543210");
		t.n_audit_ids = 2;
		strcpy(t.audit_ids[1], t.audit_ids[0]);
		char *text;
		assert_int_equal(token__encode(&t, &key, 1700000000, &text, &err), 0);
		assert_null(strchr(text, '=')); /* Keystone strips the padding */
		assert_int_equal(token__decode(&key, 1, text, 1700000001, &back, &err), 0);
		free(text);
		assert_int_equal(back.scope, t.scope);
		assert_string_equal(back.user_id, t.user_id);
		assert_int_equal(back.methods, TOKEN_METHOD_PASSWORD);
		assert_int_equal(back.expires_at, 2000000000);
		assert_int_equal(back.issued_at, 1700000000);
		assert_int_equal(back.n_audit_ids, 2);
		assert_string_equal(back.audit_ids[0], t.audit_ids[0]);
		if (t.scope == TOKEN_PROJECT || t.scope == TOKEN_APP_CRED)
			assert_string_equal(back.project_id, t.project_id);
		if (t.scope == TOKEN_DOMAIN)
			assert_string_equal(back.domain_id, "default");
		if (t.scope == TOKEN_SYSTEM)
			assert_string_equal(back.system, "all");
		if (t.scope == TOKEN_APP_CRED)
			assert_string_equal(back.app_cred_id, t.app_cred_id);
	}
}

static void tampered_truncated_expired_refused(void **state)
{
	(void)state;
	struct fernet_key key, other;
	struct st_err err = {0};
	assert_int_equal(fernet__key_parse(KEY1, strlen(KEY1), &key, &err), 0);
	assert_int_equal(fernet__key_parse(KEY2, strlen(KEY2), &other, &err), 0);
	struct token t = project_token(1700003600), back;
	char *text;
	assert_int_equal(token__encode(&t, &key, 1700000000, &text, &err), 0);
	size_t len = strlen(text);
	/* every single changed character is refused */
	for (size_t i = 0; i < len; i++) {
		char saved = text[i];
		text[i] = saved == 'A' ? 'B' : 'A';
		assert_int_equal(token__decode(&key, 1, text, 1700000001, &back, &err), -1);
		assert_int_equal(err.errnum, EINVAL);
		text[i] = saved;
	}
	/* every truncation is refused */
	for (size_t cut = 0; cut < len; cut++) {
		char saved = text[cut];
		text[cut] = '\0';
		assert_int_equal(token__decode(&key, 1, text, 1700000001, &back, &err), -1);
		text[cut] = saved;
	}
	/* another key's token, expiry */
	assert_int_equal(token__decode(&other, 1, text, 1700000001, &back, &err), -1);
	assert_int_equal(token__decode(&key, 1, text, 1700003600, &back, &err), -1);
	assert_int_equal(err.errnum, ETIME);
	assert_int_equal(token__decode(&key, 1, text, 1700003599, &back, &err), 0);
	free(text);
	assert_int_equal(token__decode(&key, 1, "", 1, &back, &err), -1);
	assert_int_equal(token__decode(&key, 1, "gAAAAA!!", 1, &back, &err), -1);
}

static void payload_garbage_refused(void **state)
{
	(void)state;
	struct token t;
	const uint8_t cases[][8] = {
		{0x92, 0x02, 0x00},             /* too few fields for version 2 */
		{0x95, 0x07, 0x92, 0xc3, 0xc4}, /* oauth version, truncated */
		{0xdd, 0xff, 0xff, 0xff, 0xff}, /* array count beyond the data */
		{0x81, 0x00, 0x00},             /* a map */
	};
	for (size_t i = 0; i < ST_ARRAY_SIZE(cases); i++)
		assert_int_equal(token__parse_payload(cases[i], 5, &t, NULL), -1);
}

static void rotation_keeps_tokens_until_their_key_leaves(void **state)
{
	(void)state;
	char dir[] = "/tmp/strata-fernet-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct st_err err = {0};
	struct fernet_keys keys;
	assert_int_equal(fernet_keys__setup(dir, &err), 0);
	assert_int_equal(fernet_keys__load(dir, &keys, &err), 0);
	assert_int_equal(keys.n, 2);
	assert_int_equal(keys.numbers[0], 1); /* primary */
	assert_int_equal(keys.numbers[1], 0); /* staged */
	/* setup is idempotent */
	assert_int_equal(fernet_keys__setup(dir, &err), 0);
	assert_int_equal(fernet_keys__load(dir, &keys, &err), 0);
	assert_int_equal(keys.n, 2);

	struct token t = project_token(4000000000), back;
	uint64_t now = (uint64_t)time(NULL);
	char *made_by_1;
	assert_int_equal(token__encode(&t, &keys.keys[0], now, &made_by_1, &err), 0);

	/* the listing tells a rotation apart from no change, each of its
	 * steps too (the same clock tick leaves the mtime as it was) */
	bool changed = true;
	assert_int_equal(fernet_keys__changed(dir, &keys, &changed, &err), 0);
	assert_false(changed);
	char from[64], to[64];
	snprintf(from, sizeof(from), "%s/0", dir);
	snprintf(to, sizeof(to), "%s/0.tmp", dir);
	assert_int_equal(rename(from, to), 0); /* key 0 gone, 0.tmp is no key */
	assert_int_equal(fernet_keys__changed(dir, &keys, &changed, &err), 0);
	assert_true(changed);
	assert_int_equal(rename(to, from), 0); /* back: the same name and inode */
	assert_int_equal(fernet_keys__changed(dir, &keys, &changed, &err), 0);
	assert_false(changed);
	char *text;
	size_t len;
	assert_int_equal(util__read_file(from, 4096, &text, &len, &err), 0);
	/* key 0 replaced as rotations do (a new file renamed over it): the same
	 * name, a new inode */
	int fd = open(to, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	free(text);
	assert_int_equal(rename(to, from), 0);
	assert_int_equal(fernet_keys__changed(dir, &keys, &changed, &err), 0);
	assert_true(changed);
	assert_int_equal(fernet_keys__load(dir, &keys, &err), 0);

	/* 1 becomes a secondary: its tokens still validate */
	assert_int_equal(fernet_keys__rotate(dir, 3, &err), 0);
	assert_int_equal(fernet_keys__changed(dir, &keys, &changed, &err), 0);
	assert_true(changed);
	assert_int_equal(fernet_keys__load(dir, &keys, &err), 0);
	assert_int_equal(keys.n, 3);
	assert_int_equal(keys.numbers[0], 2);
	assert_int_equal(keys.numbers[1], 1);
	assert_int_equal(keys.numbers[2], 0);
	assert_int_equal(token__decode(keys.keys, keys.n, made_by_1, now, &back, &err), 0);

	/* the next rotation drops key 1 (3 active keys: 0, 3, 2): its tokens go */
	assert_int_equal(fernet_keys__rotate(dir, 3, &err), 0);
	assert_int_equal(fernet_keys__load(dir, &keys, &err), 0);
	assert_int_equal(keys.n, 3);
	assert_int_equal(keys.numbers[0], 3);
	assert_int_equal(keys.numbers[1], 2);
	assert_int_equal(token__decode(keys.keys, keys.n, made_by_1, now, &back, &err), -1);
	free(made_by_1);

	struct stat st;
	char path[64];
	snprintf(path, sizeof(path), "%s/3", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static int have_python_fernet(void)
{
	return system("/usr/bin/python3 -c 'import cryptography.fernet, msgpack' 2>/dev/null") == 0;
}

/* Python decrypts our token with cryptography's Fernet and unpacks the
 * payload the way Keystone's ProjectScopedPayload.disassemble reads it. */
static void python_reads_our_token(void **state)
{
	(void)state;
	if (!have_python_fernet())
		skip();
	struct fernet_key key;
	assert_int_equal(fernet__key_parse(KEY1, strlen(KEY1), &key, NULL), 0);
	struct token t = project_token(2000000000);
	strcpy(t.project_id, "fedcba9876543210fedcba9876543210");
	char *text;
	assert_int_equal(token__encode(&t, &key, 1700000000, &text, NULL), 0);
	char cmd[4096];
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 -c '\n"
		 "import base64, msgpack, sys, uuid\n"
		 "from cryptography.fernet import Fernet\n"
		 "tok = sys.argv[2] + \"=\" * (-len(sys.argv[2]) %% 4)\n"
		 "f = Fernet(sys.argv[1])\n"
		 "assert f.extract_timestamp(tok.encode()) == 1700000000\n"
		 "p = msgpack.unpackb(f.decrypt(tok.encode()))\n"
		 "assert p[0] == 2, p\n"
		 "assert p[1] == [True, uuid.UUID(\"%s\").bytes], p\n"
		 "assert p[2] == 2\n"
		 "assert p[3] == [True, uuid.UUID(\"%s\").bytes], p\n"
		 "assert p[4] == 2000000000.0 and isinstance(p[4], float)\n"
		 "assert base64.urlsafe_b64encode(p[5][0]).decode().rstrip(\"=\") == \"%s\"\n"
		 "' %s %s",
		 t.user_id, t.project_id, t.audit_ids[0], KEY1, text);
	free(text);
	assert_int_equal(system(cmd), 0);
}

/* Python makes a token the way Keystone's TokenFormatter does; we read it. */
static void we_read_pythons_token(void **state)
{
	(void)state;
	if (!have_python_fernet())
		skip();
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 -c '\n"
		 "import msgpack, sys, uuid\n"
		 "from cryptography.fernet import Fernet\n"
		 "p = (1, (True, uuid.UUID(\"0123456789abcdef0123456789abcdef\").bytes), 6,\n"
		 "     \"default\", 2000000000.0, [b\"0123456789abcdef\"])\n"
		 "print(Fernet(sys.argv[1]).encrypt(msgpack.packb(p)).rstrip(b\"=\").decode())\n"
		 "' %s",
		 KEY2);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	char text[512] = "";
	assert_non_null(fgets(text, sizeof(text), f));
	assert_int_equal(pclose(f), 0);
	text[strcspn(text, "\n")] = '\0';
	struct fernet_key key;
	struct token t;
	struct st_err err = {0};
	assert_int_equal(fernet__key_parse(KEY2, strlen(KEY2), &key, NULL), 0);
	assert_int_equal(token__decode(&key, 1, text, (uint64_t)time(NULL), &t, &err), 0);
	assert_int_equal(t.scope, TOKEN_DOMAIN);
	assert_string_equal(t.user_id, "0123456789abcdef0123456789abcdef");
	assert_int_equal(t.methods, TOKEN_METHOD_PASSWORD | TOKEN_METHOD_TOKEN);
	assert_string_equal(t.domain_id, "default");
	assert_int_equal(t.expires_at, 2000000000);
	assert_string_equal(t.audit_ids[0], "MDEyMzQ1Njc4OWFiY2RlZg");
}

static void passwords(void **state)
{
	(void)state;
	char hash[PASSWORD_HASH_MAX];
	struct st_err err = {0};
	assert_int_equal(password__hash("s3cret", hash, &err), 0);
	assert_memory_equal(hash, "$argon2id$", 10);
	assert_int_equal(password__verify(hash, "s3cret", &err), 0);
	assert_int_equal(password__verify(hash, "s3cret ", &err), -1);
	assert_int_equal(err.errnum, EACCES);
	assert_int_equal(password__verify("plain", "plain", &err), -1);
	char other[PASSWORD_HASH_MAX];
	assert_int_equal(password__hash("s3cret", other, &err), 0);
	assert_string_not_equal(hash, other); /* salted */
}

/* A password that matched is taken again without Argon2id; a wrong one,
 * or the same one against a new hash, always pays it; 0 s turns it off. */
static void password_cache(void **state)
{
	(void)state;
	char hash[PASSWORD_HASH_MAX], other[PASSWORD_HASH_MAX];
	struct st_err err = {0};
	assert_int_equal(password__hash("pw-1", hash, &err), 0);
	assert_int_equal(password__hash("pw-1", other, &err), 0);
	unsigned long n = password__slow_checks();
	assert_int_equal(password__verify(hash, "pw-1", &err), 0);
	assert_int_equal(password__slow_checks(), n + 1);
	assert_int_equal(password__verify(hash, "pw-1", &err), 0);
	assert_int_equal(password__verify(hash, "pw-1", &err), 0);
	assert_int_equal(password__slow_checks(), n + 1); /* remembered */
	assert_int_equal(password__verify(hash, "pw-2", &err), -1);
	assert_int_equal(password__verify(hash, "pw-1x", &err), -1);
	assert_int_equal(password__slow_checks(), n + 3); /* wrong ones pay */
	assert_int_equal(password__verify(other, "pw-1", &err), 0);
	assert_int_equal(password__slow_checks(), n + 4); /* a new hash (changed password) pays */
	assert_int_equal(password__verify(hash, "pw-1", &err), 0);
	assert_int_equal(password__slow_checks(), n + 4);
	password__set_cache_seconds(0);
	assert_int_equal(password__verify(hash, "pw-1", &err), 0);
	assert_int_equal(password__verify(hash, "pw-1", &err), 0);
	assert_int_equal(password__slow_checks(), n + 6);
	password__set_cache_seconds(PASSWORD_CACHE_DEFAULT_S);
	assert_int_equal(password__verify(hash, "pw-1", &err), 0);
	assert_int_equal(password__verify(hash, "pw-1", &err), 0);
	assert_int_equal(password__slow_checks(), n + 7);
}

static void base64_strict(void **state)
{
	(void)state;
	uint8_t *out;
	size_t len;
	assert_int_equal(base64__decode(BASE64_URL, "AB", 2, &out, &len, NULL), -1); /* trailing bits */
	assert_int_equal(base64__decode(BASE64_URL, "A", 1, &out, &len, NULL), -1);
	assert_int_equal(base64__decode(BASE64_URL, "AA+/", 4, &out, &len, NULL), -1);
	assert_int_equal(base64__decode(BASE64_URL, "_-8", 3, &out, &len, NULL), 0);
	assert_int_equal(len, 2);
	assert_int_equal(out[0], 0xff);
	assert_int_equal(out[1], 0xef);
	free(out);
	char *text;
	assert_int_equal(base64__encode(BASE64_STD, (const uint8_t *)"ab", 2, 1, &text, NULL), 0);
	assert_string_equal(text, "YWI=");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip_every_scope),
		cmocka_unit_test(tampered_truncated_expired_refused),
		cmocka_unit_test(payload_garbage_refused),
		cmocka_unit_test(rotation_keeps_tokens_until_their_key_leaves),
		cmocka_unit_test(python_reads_our_token),
		cmocka_unit_test(we_read_pythons_token),
		cmocka_unit_test(passwords),
		cmocka_unit_test(password_cache),
		cmocka_unit_test(base64_strict),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
