/* Base64 (RFC 4648 section 4) and its URL-safe alphabet (section 5). */
#ifndef STRATA_COMMON_BASE64_H
#define STRATA_COMMON_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum base64_alphabet { BASE64_STD, BASE64_URL };

/* Encodes len bytes into a malloc'd NUL-terminated string, with '=' padding
 * when pad is set. */
int base64__encode(enum base64_alphabet abc, const uint8_t *data, size_t len, int pad,
		   char **out, struct st_err *err);
/* Decodes text (padding optional, no whitespace) into a malloc'd buffer;
 * refuses a character outside the alphabet, misplaced padding and a length
 * no encoding has. */
int base64__decode(enum base64_alphabet abc, const char *text, size_t text_len, uint8_t **out,
		   size_t *out_len, struct st_err *err);

#endif
