/* RSA pairs with OpenSSL, OpenSSH's public key wire format (RFC 4253 6.6). */
#include "cloud/compute/sshkey.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/base64.h"
#include "common/cleanup.h"

#define BLOB_MAX 16384

struct blob {
	uint8_t data[BLOB_MAX];
	size_t len;
};

static void put_string(struct blob *b, const void *data, size_t len)
{
	if (b->len + 4 + len > sizeof(b->data))
		return;
	for (int i = 3; i >= 0; i--)
		b->data[b->len++] = (uint8_t)(len >> (8 * i));
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

/* An mpint: big-endian, a leading 0 when the high bit is set. */
static int put_mpint(struct blob *b, const BIGNUM *n)
{
	uint8_t buf[1 + 1024];
	int len = BN_num_bytes(n);
	if (len <= 0 || len > 1024)
		return -1;
	buf[0] = 0;
	BN_bn2bin(n, buf + 1);
	bool pad = buf[1] & 0x80;
	put_string(b, pad ? buf : buf + 1, (size_t)len + pad);
	return 0;
}

static char *bio_text(BIO *bio)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);
	char *out = malloc((size_t)len + 1);
	if (out) {
		memcpy(out, data, (size_t)len);
		out[len] = 0;
	}
	return out;
}

static int public_line_of(EVP_PKEY *pkey, char **out, struct st_err *err)
{
	BIGNUM *n = NULL, *e = NULL;
	struct blob b = {.len = 0};
	int rc = -1;
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) == 1) {
		put_string(&b, "ssh-rsa", 7);
		rc = put_mpint(&b, e) < 0 || put_mpint(&b, n) < 0 ? -1 : 0;
	}
	BN_free(n);
	BN_free(e);
	cleanup_free char *b64 = NULL;
	if (rc < 0 || base64__encode(BASE64_STD, b.data, b.len, 1, &b64, err) < 0)
		return rc < 0 ? err__fail_class(err, EIO, "cannot read the new RSA key") : -1;
	if (asprintf(out, "ssh-rsa %s Generated-by-Nova", b64) < 0)
		return err__fail(err, ENOMEM, "out of memory");
	return 0;
}

int sshkey__generate(char **private_pem, char **public_line, struct st_err *err)
{
	EVP_PKEY *pkey = EVP_RSA_gen(2048);
	if (!pkey)
		return err__fail_class(err, EIO, "cannot generate an RSA key");
	BIO *bio = BIO_new(BIO_s_mem());
	int rc = -1;
	if (bio && PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1 &&
	    (*private_pem = bio_text(bio)) != NULL) {
		rc = public_line_of(pkey, public_line, err);
		if (rc < 0) {
			free(*private_pem);
			*private_pem = NULL;
		}
	} else {
		err__fail_class(err, EIO, "cannot write the new RSA key");
	}
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return rc;
}

/* The next string of the blob at *pos; NULL when it does not fit. */
static const uint8_t *get_string(const uint8_t *b, size_t len, size_t *pos, size_t *slen)
{
	if (len - *pos < 4)
		return NULL;
	size_t n = (size_t)b[*pos] << 24 | (size_t)b[*pos + 1] << 16 | (size_t)b[*pos + 2] << 8 | b[*pos + 3];
	if (n > len - *pos - 4)
		return NULL;
	const uint8_t *s = b + *pos + 4;
	*pos += 4 + n;
	*slen = n;
	return s;
}

/* The fields after the type name each key type has (RFC 4253, 5656, 8709). */
static const struct {
	const char *type;
	int fields;
} types[] = {
	{"ssh-rsa", 2}, {"ssh-dss", 4}, {"ssh-ed25519", 1}, {"ecdsa-sha2-nistp256", 2},
	{"ecdsa-sha2-nistp384", 2}, {"ecdsa-sha2-nistp521", 2},
};

static int check_blob(const char *type, const uint8_t *b, size_t len, struct st_err *err)
{
	size_t pos = 0, slen;
	const uint8_t *s = get_string(b, len, &pos, &slen);
	if (!s || slen != strlen(type) || memcmp(s, type, slen))
		return err__fail_class(err, EINVAL, "Keypair data is invalid: the key's type is not %s",
				       type);
	int fields = -1;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(type, types[i].type))
			fields = types[i].fields;
	if (fields < 0)
		return err__fail_class(err, EINVAL, "Keypair data is invalid: unsupported key type %.64s",
				       type);
	for (int i = 0; i < fields; i++) {
		if (!(s = get_string(b, len, &pos, &slen)) || slen == 0)
			return err__fail_class(err, EINVAL, "Keypair data is invalid: failed to generate "
					       "fingerprint");
		if (!strcmp(type, "ssh-ed25519") && slen != 32)
			return err__fail_class(err, EINVAL, "Keypair data is invalid: an ed25519 key "
					       "has 32 bytes");
	}
	if (pos != len)
		return err__fail_class(err, EINVAL, "Keypair data is invalid: failed to generate fingerprint");
	return 0;
}

int sshkey__fingerprint(const char *public_line, char out[SSHKEY_FINGERPRINT_LEN + 1],
			struct st_err *err)
{
	char type[32], b64[BLOB_MAX * 2];
	/* "TYPE BASE64" and any comment after */
	if (sscanf(public_line, " %31s %32767s", type, b64) != 2)
		return err__fail_class(err, EINVAL, "Keypair data is invalid: failed to generate fingerprint");
	cleanup_free uint8_t *blob = NULL;
	size_t len;
	if (base64__decode(BASE64_STD, b64, strlen(b64), &blob, &len, err) < 0)
		return err__fail_class(err, EINVAL, "Keypair data is invalid: failed to generate fingerprint");
	if (check_blob(type, blob, len, err) < 0)
		return -1;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (EVP_Digest(blob, len, md, &mdlen, EVP_md5(), NULL) != 1 || mdlen != 16)
		return err__fail_class(err, EIO, "MD5 is not available");
	for (unsigned i = 0; i < 16; i++)
		snprintf(out + 3 * i, 4, i == 15 ? "%02x" : "%02x:", md[i]);
	return 0;
}
