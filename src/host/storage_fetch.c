/* Volumes from a URL: libcurl (http and https only: never file:// or any
 * other scheme a caller could point at the host), hashed with OpenSSL's
 * SHA-512 as the bytes arrive, written to the upload file of storage.h. */
#include "host/storage_fetch.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"
#include "host/events.h"
#include "host/storage.h"
#include "host/storage_format.h"

#define PROGRESS_STEP_MIN (1u << 20)
#define HASH_CHUNK (1u << 20)

int storage_fetch__init(struct st_err *err)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return err__fail(err, 0, "libcurl could not start");
	return 0;
}

struct fetch {
	const struct storage_fetch_progress *pr;
	int fd;
	EVP_MD_CTX *md;
	uint64_t done, total, next_report;
	int write_errno;
};

static void report(struct fetch *f)
{
	json_t *extra = json_pack("{s:I, s:I}", "bytes_done", (json_int_t)f->done, "bytes_total",
				  (json_int_t)(f->total ? f->total : f->done));
	events__emit_extra(f->pr->event, f->pr->object, f->pr->name, NULL, f->pr->reason, extra);
}

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct fetch *f = arg;
	size_t len = size * n;
	struct st_err err = {0};
	if (util__write_all(f->fd, data, len, &err) < 0) {
		f->write_errno = err.errnum ? err.errnum : EIO;
		return 0; /* libcurl stops with CURLE_WRITE_ERROR */
	}
	EVP_DigestUpdate(f->md, data, len);
	f->done += len;
	if (f->done >= f->next_report) {
		report(f);
		uint64_t step = f->total / 50 > PROGRESS_STEP_MIN ? f->total / 50 : PROGRESS_STEP_MIN;
		f->next_report = f->done + step;
	}
	return len;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	(void)dlnow, (void)ultotal, (void)ulnow;
	struct fetch *f = arg;
	if (dltotal > 0)
		f->total = (uint64_t)dltotal;
	return 0;
}

/* The whole body into f->fd: 0, or an error whose class says whose fault. */
static int download(const char *url, const char *token, struct fetch *f, struct st_err *err)
{
	CURL *c = curl_easy_init();
	if (!c)
		return err__fail(err, ENOMEM, "libcurl");
	struct curl_slist *headers = NULL;
	cleanup_free char *auth = NULL;
	if (token && (asprintf(&auth, "X-Auth-Token: %s", token) < 0 || !(headers = curl_slist_append(NULL, auth)))) {
		curl_easy_cleanup(c);
		return err__fail(err, ENOMEM, "libcurl");
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	char cerr[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	/* a server that stalls for a minute has failed */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, f);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	curl_slist_free_all(headers);
	if (rc == CURLE_OK)
		return 0;
	char shown[1024];
	storage_fetch__url_shown(url, shown, sizeof(shown));
	if (rc == CURLE_WRITE_ERROR && f->write_errno)
		return err__fail(err, f->write_errno, "fetching %s (nothing was stored)", shown);
	cerr[strcspn(cerr, "\n")] = 0;
	return err__fail_class(err, rc == CURLE_UNSUPPORTED_PROTOCOL ? EINVAL : EREMOTEIO, "fetching %s: %s", shown,
			       cerr[0] ? cerr : curl_easy_strerror(rc));
}

void storage_fetch__url_shown(const char *url, char *out, size_t len)
{
	snprintf(out, len, "%.*s", (int)strcspn(url, "?"), url);
}

bool storage_fetch__sha512_ok(const char *hex)
{
	if (!hex || strlen(hex) != STORAGE_FETCH_SHA512_HEX)
		return false;
	for (const char *p = hex; *p; p++)
		if (!isxdigit((unsigned char)*p))
			return false;
	return true;
}

static void hex_of(const unsigned char *md, unsigned n, char *out)
{
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static EVP_MD_CTX *sha512_new(struct st_err *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, EVP_sha512(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		err__fail(err, ENOMEM, "sha512");
		return NULL;
	}
	return md;
}

/* Frees md; got is its hex digest. */
static int sha512_end(EVP_MD_CTX *md, char got[STORAGE_FETCH_SHA512_HEX + 1], struct st_err *err)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	int ok = EVP_DigestFinal_ex(md, d, &n) == 1 && n * 2 == STORAGE_FETCH_SHA512_HEX;
	EVP_MD_CTX_free(md);
	if (!ok)
		return err__fail(err, EIO, "sha512");
	hex_of(d, n, got);
	return 0;
}

int storage_fetch__download(const char *url, const char *token, int fd, const struct storage_fetch_progress *pr,
			    char got[STORAGE_FETCH_SHA512_HEX + 1], uint64_t *bytes, struct st_err *err)
{
	struct fetch f = {.pr = pr, .fd = fd, .md = sha512_new(err)};
	if (!f.md)
		return -1;
	if (download(url, token, &f, err) < 0) {
		EVP_MD_CTX_free(f.md);
		return -1;
	}
	report(&f);
	*bytes = f.done;
	return sha512_end(f.md, got, err);
}

int storage_fetch__hash_fd(int fd, char got[STORAGE_FETCH_SHA512_HEX + 1], uint64_t *bytes, struct st_err *err)
{
	cleanup_free char *buf = malloc(HASH_CHUNK);
	EVP_MD_CTX *md = buf ? sha512_new(err) : NULL;
	if (!md)
		return buf ? -1 : err__fail(err, ENOMEM, "hash buffer");
	uint64_t off = 0;
	for (;;) {
		ssize_t n = pread(fd, buf, HASH_CHUNK, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			EVP_MD_CTX_free(md);
			return err__fail_errno(err, "reading for its hash");
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(md, buf, (size_t)n);
		off += (uint64_t)n;
	}
	*bytes = off;
	return sha512_end(md, got, err);
}

static int check_request(const json_t *in, const char **vol, const char **url, const char **sha, const char **fmt,
			 struct st_err *err)
{
	static const char *const keys[] = {"name", "source", "format", NULL};
	static const char *const source_keys[] = {"url", "sha512", NULL};
	const json_t *src = json_object_get(in, "source");
	if (json_util__check_keys(in, "request", keys, err) < 0)
		return err__class(err, EINVAL, -1);
	if (!json_is_object(src))
		return err__fail_class(err, EINVAL, "\"source\" is an object {\"url\", \"sha512\"}");
	if (json_util__check_keys(src, "source", source_keys, err) < 0)
		return err__class(err, EINVAL, -1);
	*vol = json_string_value(json_object_get(in, "name"));
	*url = json_string_value(json_object_get(src, "url"));
	*sha = json_string_value(json_object_get(src, "sha512"));
	if (!*url || (strncmp(*url, "http://", 7) && strncmp(*url, "https://", 8)))
		return err__fail_class(err, EINVAL, "source.url must be an http:// or https:// URL");
	if (!storage_fetch__sha512_ok(*sha))
		return err__fail_class(err, EINVAL, "source.sha512 must be 128 hex digits");
	return storage_format__parse(json_string_value(json_object_get(in, "format")), fmt, err);
}

int storage_fetch__create(struct host *h, const char *pool, const json_t *in, json_t **out, struct st_err *err)
{
	const char *vol = NULL, *url = NULL, *sha = NULL, *fmt = NULL;
	struct storage_upload u;
	if (check_request(in, &vol, &url, &sha, &fmt, err) < 0 || storage__volume_check_free(h, pool, vol, err) < 0 ||
	    storage__volume_upload_begin(h, pool, vol, &u, err) < 0)
		return -1;
	const struct storage_fetch_progress pr = {"volume-progress", "volume", vol, pool};
	char got[STORAGE_FETCH_SHA512_HEX + 1] = "";
	uint64_t bytes = 0;
	events__emit("volume-fetch-started", "volume", vol, NULL, pool);
	pthread_mutex_unlock(&h->lock);
	int rc = storage_fetch__download(url, NULL, u.fd, &pr, got, &bytes, err);
	pthread_mutex_lock(&h->lock);
	char shown[1024];
	storage_fetch__url_shown(url, shown, sizeof(shown));
	if (rc == 0 && strcasecmp(got, sha))
		rc = err__fail_class(err, EINVAL, "sha512 mismatch for %s: expected %.16s..., got %.16s... (%llu bytes); "
				     "nothing was stored", shown, sha, got, (unsigned long long)bytes);
	/* someone may have made the name while the body came in */
	if (rc < 0 || storage__volume_check_free(h, pool, vol, err) < 0) {
		storage__volume_upload_abort(&u);
		events__emit("volume-fetch-failed", "volume", vol, NULL, pool);
		return -1;
	}
	/* the format as the request declared it (or not): commit inspects declared content */
	return storage__volume_upload_commit(h, pool, vol, json_string_value(json_object_get(in, "format")), &u, out,
					     err);
}
