/* stratad's self-signed certificate; see selfsigned.h. */
#include "host/selfsigned.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "common/log.h"

#define VALID_DAYS 825 /* the longest a browser accepts for a server certificate */

static int add_ext(X509 *crt, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, crt, crt, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	int rc = X509_add_ext(crt, ext, -1) ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

/* A certificate for this host's name, localhost and the loopback addresses. */
static X509 *make_cert(EVP_PKEY *pkey)
{
	char host[256] = "localhost", san[600];
	if (gethostname(host, sizeof(host) - 1) < 0 || !*host || strpbrk(host, ", "))
		snprintf(host, sizeof(host), "localhost");
	snprintf(san, sizeof(san), "DNS:%s,DNS:localhost,IP:127.0.0.1,IP:::1", host);
	unsigned char serial[16];
	X509 *crt = X509_new();
	BIGNUM *bn = NULL;
	if (!crt || RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f; /* positive */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	X509_NAME *name = X509_get_subject_name(crt);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(crt)) || !X509_set_version(crt, 2) ||
	    !X509_gmtime_adj(X509_getm_notBefore(crt), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(crt), (long)VALID_DAYS * 86400) || !X509_set_pubkey(crt, pkey) ||
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"stratad (self-signed)", -1,
					-1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)host, -1, -1, 0) ||
	    !X509_set_issuer_name(crt, name) || add_ext(crt, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
	    add_ext(crt, NID_key_usage, "critical,digitalSignature,keyCertSign") < 0 ||
	    add_ext(crt, NID_ext_key_usage, "serverAuth") < 0 || add_ext(crt, NID_subject_alt_name, san) < 0 ||
	    add_ext(crt, NID_subject_key_identifier, "hash") < 0 || !X509_sign(crt, pkey, EVP_sha256()))
		goto fail;
	BN_free(bn);
	return crt;
fail:
	BN_free(bn);
	X509_free(crt);
	return NULL;
}

/* Writes through a temporary name, so a crash never leaves half a file. */
static int write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *crt, struct st_err *err)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		if (fd >= 0)
			close(fd);
		return err__fail_errno(err, "cannot write %s", tmp);
	}
	int ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, crt);
	ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (fclose(f) != 0 || !ok) {
		unlink(tmp);
		return err__fail(err, 0, "cannot write %s", tmp);
	}
	if (rename(tmp, path) < 0)
		return err__fail_errno(err, "cannot write %s", path);
	return 0;
}

int selfsigned__ensure(const char *state_dir, char **cert, char **key, struct st_err *err)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/tls", state_dir);
	if (asprintf(cert, "%s/" SELFSIGNED_CERT, state_dir) < 0 || asprintf(key, "%s/" SELFSIGNED_KEY, state_dir) < 0)
		return err__fail(err, ENOMEM, "certificate");
	if (access(*cert, F_OK) == 0 && access(*key, F_OK) == 0)
		return 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err__fail_errno(err, "cannot create %s", dir);
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *crt = pkey ? make_cert(pkey) : NULL;
	int rc = 0;
	if (!crt)
		rc = err__fail(err, 0, "cannot make a self-signed certificate (OpenSSL)");
	/* a start finding only one of the two makes a new pair */
	else if (write_pem(*key, 0600, pkey, NULL, err) < 0 || write_pem(*cert, 0644, NULL, crt, err) < 0)
		rc = -1;
	else
		log__info("made a self-signed certificate for HTTPS: %s (replace it and %s with your own)", *cert, *key);
	X509_free(crt);
	EVP_PKEY_free(pkey);
	return rc;
}
