/* web-download's fetch: libcurl, http and https only, every redirect checked
 * against the same rules before it is followed (a URL may never make the
 * cloud open a file:// or reach a port it does not allow), the bytes
 * streamed into an image upload (its quota and the size cap). */
#ifndef STRATA_CLOUD_IMAGES_WEB_H
#define STRATA_CLOUD_IMAGES_WEB_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "cloud/images/images.h"

/* Whether url may be fetched: http or https, a port in ports ("80,443"),
 * at most 2048 characters. EINVAL with the reason when not. */
int images_web__check_url(const char *url, const char *ports, struct st_err *err);

/* Fetches url into up (images__upload_write), refusing more than max bytes;
 * *stop set makes it give up. EREMOTEIO when the server fails. */
int images_web__fetch(const char *url, const char *ports, int64_t max, const bool *stop,
		      struct images_upload *up, struct st_err *err);

#endif
