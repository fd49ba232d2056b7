#include "cloud/identity/password.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <sodium.h>

_Static_assert(crypto_pwhash_STRBYTES <= PASSWORD_HASH_MAX, "PASSWORD_HASH_MAX too small");

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int sodium_ok;

static void init(void)
{
	sodium_ok = sodium_init() >= 0;
}

int password__hash(const char *password, char out[PASSWORD_HASH_MAX], struct st_err *err)
{
	pthread_once(&once, init);
	if (!sodium_ok)
		return err__fail(err, EIO, "password: libsodium did not initialize");
	size_t len = strlen(password);
	if (len > PASSWORD_MAX)
		return err__fail(err, EINVAL, "password: longer than %d bytes", PASSWORD_MAX);
	/* Interactive limits (2 passes over 64 MiB): one login costs ~0.1 s. */
	if (crypto_pwhash_str_alg(out, password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
				  crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13))
		return err__fail(err, ENOMEM, "password: hashing failed (out of memory)");
	return 0;
}

int password__verify(const char *hash, const char *password, struct st_err *err)
{
	pthread_once(&once, init);
	size_t len = strlen(password);
	if (!sodium_ok || len > PASSWORD_MAX || !hash || strncmp(hash, "$argon2id$", 10) ||
	    crypto_pwhash_str_verify(hash, password, len))
		return err__fail(err, EACCES, "password does not match");
	return 0;
}
