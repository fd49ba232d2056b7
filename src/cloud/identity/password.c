#include "cloud/identity/password.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

_Static_assert(crypto_pwhash_STRBYTES <= PASSWORD_HASH_MAX, "PASSWORD_HASH_MAX too small");

/* The cache of successful verifications (password.h says why): direct
 * mapped by the stored hash; a collision replaces the older entry. */
#define CACHE_SLOTS 1024

struct cache_entry {
	uint8_t which[32]; /* keyed BLAKE2b of the stored hash: the entry's owner */
	uint8_t tag[32];   /* keyed BLAKE2b of the stored hash and the password */
	time_t until;      /* CLOCK_MONOTONIC seconds; 0: empty */
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int sodium_ok;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_entry cache[CACHE_SLOTS];
static uint8_t cache_key[crypto_generichash_KEYBYTES];
static unsigned cache_seconds = PASSWORD_CACHE_DEFAULT_S;
static unsigned long slow_checks;

static void init(void)
{
	sodium_ok = sodium_init() >= 0;
	if (sodium_ok)
		randombytes_buf(cache_key, sizeof(cache_key));
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

static time_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* The entry's owner and tag for (hash, password). */
static void cache_keys(const char *hash, const char *password, uint8_t which[32], uint8_t tag[32])
{
	crypto_generichash_state st;
	size_t hlen = strlen(hash) + 1; /* with its NUL: no (hash, password) split is ambiguous */
	crypto_generichash(which, 32, (const uint8_t *)hash, hlen, cache_key, sizeof(cache_key));
	crypto_generichash_init(&st, cache_key, sizeof(cache_key), 32);
	crypto_generichash_update(&st, (const uint8_t *)hash, hlen);
	crypto_generichash_update(&st, (const uint8_t *)password, strlen(password));
	crypto_generichash_final(&st, tag, 32);
}

static struct cache_entry *slot_of(const uint8_t which[32])
{
	uint32_t i;
	memcpy(&i, which, sizeof(i));
	return &cache[i % CACHE_SLOTS];
}

static bool cache_hit(const uint8_t which[32], const uint8_t tag[32])
{
	pthread_mutex_lock(&cache_lock);
	struct cache_entry *e = slot_of(which);
	bool hit = cache_seconds && e->until && now_s() < e->until &&
		   sodium_memcmp(e->which, which, 32) == 0 && sodium_memcmp(e->tag, tag, 32) == 0;
	pthread_mutex_unlock(&cache_lock);
	return hit;
}

static void cache_put(const uint8_t which[32], const uint8_t tag[32])
{
	pthread_mutex_lock(&cache_lock);
	if (cache_seconds) {
		struct cache_entry *e = slot_of(which);
		memcpy(e->which, which, 32);
		memcpy(e->tag, tag, 32);
		e->until = now_s() + (time_t)cache_seconds;
	}
	pthread_mutex_unlock(&cache_lock);
}

void password__set_cache_seconds(unsigned seconds)
{
	pthread_mutex_lock(&cache_lock);
	cache_seconds = seconds;
	if (!seconds)
		sodium_memzero(cache, sizeof(cache));
	pthread_mutex_unlock(&cache_lock);
}

int password__verify(const char *hash, const char *password, struct st_err *err)
{
	pthread_once(&once, init);
	size_t len = strlen(password);
	if (!sodium_ok || len > PASSWORD_MAX || !hash || strncmp(hash, "$argon2id$", 10))
		return err__fail(err, EACCES, "password does not match");
	uint8_t which[32], tag[32];
	cache_keys(hash, password, which, tag);
	if (cache_hit(which, tag))
		return 0;
	/* a miss, a wrong password included, pays the whole Argon2id */
	__atomic_add_fetch(&slow_checks, 1, __ATOMIC_RELAXED);
	if (crypto_pwhash_str_verify(hash, password, len))
		return err__fail(err, EACCES, "password does not match");
	cache_put(which, tag);
	return 0;
}

unsigned long password__slow_checks(void)
{
	return __atomic_load_n(&slow_checks, __ATOMIC_RELAXED);
}
