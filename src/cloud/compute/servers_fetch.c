/* The servers' state, and the URLs hosts fetch image data from: stratad
 * gets only a URL and a SHA-512 (no token of the cloud's), so the URL
 * carries its own permission: an HMAC-SHA256 of the image id and an expiry
 * time under a key kept in the database (every node of the cloud signs and
 * checks with the same key). */
#include "cloud/compute/servers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "cloud/compute/servers_db.h"

#define FETCH_VALID_SECONDS 3600
#define KEY_NAME "image_fetch_key"

static void hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static int load_key(struct servers *s, struct st_err *err)
{
	unsigned char fresh[32];
	char text[65];
	if (RAND_bytes(fresh, sizeof(fresh)) != 1)
		return err__fail(err, EIO, "no random bytes");
	hex(fresh, sizeof(fresh), text);
	/* the first node to start makes it; every other one reads that one */
	const char *p[] = {KEY_NAME, text};
	cleanup_rows struct db_rows *rows = NULL;
	const char *name = KEY_NAME;
	if (db__exec(s->db, "INSERT INTO compute_secret (name, value) VALUES (?, ?) ON CONFLICT (name)"
		     " DO NOTHING", p, 2, err) < 0 ||
	    db__query(s->db, "SELECT value FROM compute_secret WHERE name = ?", &name, 1, &rows, err) < 0)
		return -1;
	const char *v = rows->nrows ? db_rows__get(rows, 0, 0) : NULL;
	if (!v || strlen(v) != 64)
		return err__fail(err, EINVAL, "compute_secret %s is damaged", KEY_NAME);
	for (size_t i = 0; i < 32; i++) {
		unsigned x;
		sscanf(v + 2 * i, "%2x", &x);
		s->key[i] = (unsigned char)x;
	}
	return 0;
}

int servers__init(struct servers *s, struct db *db, struct images *im,
		  const struct scheduler_config *sched, const struct hosts_config *hosts,
		  const char *base_url, struct st_err *err)
{
	*s = (struct servers){.db = db, .images = im, .sched = sched, .hosts = hosts};
	if (snprintf(s->base_url, sizeof(s->base_url), "%s", base_url) >= (int)sizeof(s->base_url))
		return err__fail(err, EINVAL, "the cloud's URL is too long: %s", base_url);
	if (util__uuid4(s->controller, err) < 0)
		return -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->idle, NULL);
	return load_key(s, err);
}

void servers__fini(struct servers *s)
{
	pthread_mutex_lock(&s->lock);
	if (s->busy)
		log__info("waiting for %u server worker(s)", s->busy);
	while (s->busy)
		pthread_cond_wait(&s->idle, &s->lock);
	pthread_mutex_unlock(&s->lock);
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->lock);
}

static void sign(const struct servers *s, const char *image, const char *expires, char out[65])
{
	unsigned char mac[32];
	unsigned n = sizeof(mac);
	char msg[256];
	snprintf(msg, sizeof(msg), "%s\n%s", image, expires);
	HMAC(EVP_sha256(), s->key, sizeof(s->key), (const unsigned char *)msg, strlen(msg), mac, &n);
	hex(mac, 32, out);
}

int servers__fetch_url(struct servers *s, const char *image_id, char *out, size_t size,
		       struct st_err *err)
{
	char expires[24], sig[65];
	snprintf(expires, sizeof(expires), "%lld", (long long)time(NULL) + FETCH_VALID_SECONDS);
	sign(s, image_id, expires, sig);
	if (snprintf(out, size, "%s/compute/strata/image-data/%s?expires=%s&sig=%s", s->base_url,
		     image_id, expires, sig) >= (int)size)
		return err__fail(err, ENAMETOOLONG, "image URL too long");
	return 0;
}

int servers__fetch_open(struct servers *s, const char *image_id, const char *expires,
			const char *sig, int *fd, uint64_t *size, struct st_err *err)
{
	char want[65], md5[33];
	if (!expires || !sig || strlen(sig) != 64 || strlen(image_id) > 64)
		return err__fail_class(err, EPERM, "This URL needs its expires and sig");
	sign(s, image_id, expires, want);
	if (CRYPTO_memcmp(want, sig, 64) || strtoll(expires, NULL, 10) < (long long)time(NULL))
		return err__fail_class(err, EPERM, "This URL's signature is wrong or it has expired");
	struct images_caller admin = {.admin = true, .member = true};
	return images__download(s->images, &admin, image_id, fd, size, md5, err);
}
