/* web-download's fetch (images_web.h). Redirects are followed here, not by
 * libcurl, so that each target is checked before any request reaches it. */
#include "cloud/images/images_web.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/cleanup.h"

#define URL_MAX 2048
#define REDIRECTS_MAX 5

static bool port_allowed(const char *port, const char *ports)
{
	size_t n = strlen(port);
	for (const char *p = ports; *p;) {
		size_t k = strcspn(p, ",");
		if (k == n && !strncmp(p, port, n))
			return true;
		p += k + (p[k] == ',');
	}
	return false;
}

int images_web__check_url(const char *url, const char *ports, struct st_err *err)
{
	if (!url || strlen(url) > URL_MAX)
		return err__fail_class(err, EINVAL, "The web-download URI must be a string of at most %d"
					       " characters.", URL_MAX);
	CURLU *h = curl_url();
	char *scheme = NULL, *port = NULL;
	int rc = 0;
	if (!h)
		return err__fail(err, ENOMEM, "out of memory");
	if (curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		rc = err__fail_class(err, EINVAL, "The URI %.128s is not a valid URL.", url);
	else if (strcmp(scheme, "http") && strcmp(scheme, "https"))
		rc = err__fail_class(err, EINVAL, "The URI scheme %.16s is not allowed: web-download"
						  " takes http and https only.", scheme);
	else if (!port_allowed(port, ports))
		rc = err__fail_class(err, EINVAL, "The URI's port %.8s is not allowed (allowed: %.64s).",
				     port, ports);
	curl_free(scheme);
	curl_free(port);
	curl_url_cleanup(h);
	return rc;
}

struct fetch {
	CURL *curl;
	struct images_upload *up;
	int64_t max, done;
	const bool *stop;
	struct st_err werr; /* why the write callback stopped */
};

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct fetch *f = arg;
	size_t len = size * n;
	long code = 0;
	curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 300 && code < 400)
		return len; /* a redirect's body: not the image */
	f->done += (int64_t)len;
	if (f->done > f->max) {
		err__fail_class(&f->werr, E2BIG, "The image at the URI is larger than %" PRId64 " bytes.",
				f->max);
		return 0;
	}
	return images__upload_write(f->up, data, len, &f->werr) < 0 ? 0 : len;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	const struct fetch *f = arg;
	return *f->stop; /* nonzero aborts the transfer */
}

static void setup(CURL *c, struct fetch *f, char *cerr)
{
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	/* a server that stalls for a minute has failed */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, f);
}

/* One request; *next the redirect's target (to check and follow) or NULL. */
static int get_once(struct fetch *f, const char *url, char **next, struct st_err *err)
{
	char cerr[CURL_ERROR_SIZE] = "";
	*next = NULL;
	curl_easy_reset(f->curl);
	setup(f->curl, f, cerr);
	curl_easy_setopt(f->curl, CURLOPT_URL, url);
	CURLcode rc = curl_easy_perform(f->curl);
	if (rc == CURLE_WRITE_ERROR && f->werr.errnum) {
		*err = f->werr;
		return -1;
	}
	if (rc == CURLE_FILESIZE_EXCEEDED)
		return err__fail_class(err, E2BIG, "The image at the URI is larger than %" PRId64
					       " bytes.", f->max);
	if (rc != CURLE_OK) {
		cerr[strcspn(cerr, "\n")] = 0;
		return err__fail_class(err, EREMOTEIO, "Fetching %.256s failed: %s", url,
				       cerr[0] ? cerr : curl_easy_strerror(rc));
	}
	long code = 0;
	char *target = NULL;
	curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code < 300 || code >= 400)
		return 0;
	curl_easy_getinfo(f->curl, CURLINFO_REDIRECT_URL, &target);
	if (!target)
		return err__fail_class(err, EREMOTEIO, "%.256s: a redirect (%ld) without a target",
				       url, code);
	*next = strdup(target);
	return *next ? 0 : err__fail(err, ENOMEM, "out of memory");
}

int images_web__fetch(const char *url, const char *ports, int64_t max, const bool *stop,
		      struct images_upload *up, struct st_err *err)
{
	struct fetch f = {.up = up, .max = max, .stop = stop};
	cleanup_free char *current = strdup(url);
	if (!current || !(f.curl = curl_easy_init()))
		return err__fail(err, ENOMEM, "out of memory");
	int rc = -1;
	for (int hop = 0;; hop++) {
		char *next;
		if (images_web__check_url(current, ports, err) < 0 ||
		    get_once(&f, current, &next, err) < 0)
			break;
		if (!next) {
			rc = 0;
			break;
		}
		free(current);
		current = next;
		if (hop == REDIRECTS_MAX) {
			err__fail_class(err, EREMOTEIO, "More than %d redirects from %.256s",
					REDIRECTS_MAX, url);
			break;
		}
	}
	curl_easy_cleanup(f.curl);
	if (rc < 0 && *stop)
		err__fail(err, ECANCELED, "strata-cloud is stopping");
	return rc;
}
