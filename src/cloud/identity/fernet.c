#include "cloud/identity/fernet.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/base64.h"
#include "common/cleanup.h"

enum {
	VERSION = 0x80,
	HEADER = 1 + 8 + 16, /* version, timestamp, IV */
	MAC = 32,
	BLOCK = 16,
};

int fernet__key_parse(const char *text, size_t len, struct fernet_key *key, struct st_err *err)
{
	while (len && isspace((unsigned char)text[len - 1]))
		len--;
	cleanup_free uint8_t *raw = NULL;
	size_t n;
	if (base64__decode(BASE64_URL, text, len, &raw, &n, err) < 0 || n != 32)
		return err__fail(err, EINVAL, "Fernet key: not 32 bytes of base64url");
	memcpy(key->signing, raw, 16);
	memcpy(key->encryption, raw + 16, 16);
	return 0;
}

int fernet__key_generate(char **text, struct st_err *err)
{
	uint8_t raw[32];
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return err__fail(err, EIO, "Fernet key: no random bytes");
	return base64__encode(BASE64_URL, raw, sizeof(raw), 1, text, err);
}

static int aes(int enc, const struct fernet_key *key, const uint8_t *iv, const uint8_t *in,
	       size_t len, uint8_t *out, size_t *out_len)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, tail = 0;
	int ok = ctx && EVP_CipherInit_ex(ctx, EVP_aes_128_cbc(), NULL, key->encryption, iv, enc) == 1 &&
		 EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1 &&
		 EVP_CipherFinal_ex(ctx, out + n, &tail) == 1;
	EVP_CIPHER_CTX_free(ctx);
	*out_len = (size_t)n + (size_t)tail;
	return ok ? 0 : -1;
}

static void mac(const struct fernet_key *key, const uint8_t *data, size_t len, uint8_t out[MAC])
{
	unsigned int n = MAC;
	HMAC(EVP_sha256(), key->signing, sizeof(key->signing), data, len, out, &n);
}

int fernet__encrypt(const struct fernet_key *key, uint64_t now, const uint8_t *msg, size_t len,
		    char **token, struct st_err *err)
{
	size_t cipher_max = (len / BLOCK + 1) * BLOCK;
	cleanup_free uint8_t *raw = malloc(HEADER + cipher_max + MAC);
	if (!raw)
		return err__fail(err, ENOMEM, "Fernet: out of memory");
	raw[0] = VERSION;
	for (int i = 0; i < 8; i++)
		raw[1 + i] = (uint8_t)(now >> (56 - 8 * i));
	if (RAND_bytes(raw + 9, 16) != 1)
		return err__fail(err, EIO, "Fernet: no random bytes");
	size_t clen;
	if (aes(1, key, raw + 9, msg, len, raw + HEADER, &clen) < 0)
		return err__fail(err, EIO, "Fernet: encryption failed");
	mac(key, raw, HEADER + clen, raw + HEADER + clen);
	return base64__encode(BASE64_URL, raw, HEADER + clen + MAC, 0, token, err);
}

static int invalid(struct st_err *err)
{
	return err__fail(err, EINVAL, "invalid Fernet token");
}

int fernet__decrypt(const struct fernet_key *keys, size_t nkeys, const char *token,
		    uint8_t **msg, size_t *len, uint64_t *timestamp, struct st_err *err)
{
	cleanup_free uint8_t *raw = NULL;
	size_t n;
	if (base64__decode(BASE64_URL, token, strlen(token), &raw, &n, NULL) < 0)
		return invalid(err);
	if (n < HEADER + BLOCK + MAC || (n - HEADER - MAC) % BLOCK || raw[0] != VERSION)
		return invalid(err);
	size_t clen = n - HEADER - MAC;
	for (size_t k = 0; k < nkeys; k++) {
		uint8_t expect[MAC];
		mac(&keys[k], raw, HEADER + clen, expect);
		if (CRYPTO_memcmp(expect, raw + HEADER + clen, MAC))
			continue;
		uint8_t *plain = malloc(clen);
		if (!plain)
			return err__fail(err, ENOMEM, "Fernet: out of memory");
		if (aes(0, &keys[k], raw + 9, raw + HEADER, clen, plain, len) < 0) {
			free(plain);
			return invalid(err); /* bad padding under a valid MAC */
		}
		uint64_t ts = 0;
		for (int i = 0; i < 8; i++)
			ts = ts << 8 | raw[1 + i];
		*timestamp = ts;
		*msg = plain;
		return 0;
	}
	return invalid(err);
}
