#include "common/http_path.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The next non-empty segment at or after *p: its start and length; false at the end. */
static bool next_segment(const char **p, const char **seg, size_t *len)
{
	while (**p == '/')
		(*p)++;
	if (!**p)
		return false;
	*seg = *p;
	*len = strcspn(*p, "/");
	*p += *len;
	return true;
}

bool http_path__match(const char *tmpl, const char *raw, struct http_path_capture *caps, size_t *ncaps)
{
	const char *t = tmpl, *r = raw, *ts, *rs;
	size_t tl, rl;
	*ncaps = 0;
	for (;;) {
		bool more_t = next_segment(&t, &ts, &tl), more_r = next_segment(&r, &rs, &rl);
		if (!more_t || !more_r)
			return more_t == more_r;
		if (tl >= 2 && ts[0] == '{' && ts[tl - 1] == '}') {
			if (*ncaps == HTTP_PATH_CAPTURES_MAX)
				return false;
			caps[(*ncaps)++] = (struct http_path_capture){ts + 1, tl - 2, rs, rl};
		} else if (tl != rl || memcmp(ts, rs, tl)) {
			return false;
		}
	}
}

/* A bad URL is the client's error (class EINVAL), not an errno worth printing. */
static int einval(struct st_err *err, int rc)
{
	if (err)
		err->errnum = EINVAL;
	return rc;
}

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int http_path__decode(const char *src, size_t len, bool segment, bool plus_is_space, char **out, struct st_err *err)
{
	char *d = malloc(len + 1);
	if (!d)
		return err__fail(err, ENOMEM, "decoding the URL");
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = src[i];
		if (c == '%') {
			int hi = i + 2 < len ? hex(src[i + 1]) : -1;
			int lo = hi >= 0 ? hex(src[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				free(d);
				return einval(err, err__fail(err, 0, "malformed %%-escape in the URL"));
			}
			c = (char)(hi << 4 | lo);
			i += 2;
			if (c == 0 || (segment && c == '/')) {
				free(d);
				return einval(err, err__fail(err, 0, "a name in the URL may not contain an encoded %s",
							   c ? "'/'" : "NUL"));
			}
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		d[n++] = c;
	}
	d[n] = 0;
	*out = d;
	return 0;
}

void http_path__encode(const char *in, char *out, size_t size)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t n = 0;
	if (!size)
		return;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		bool plain = isalnum(*p) || strchr("-._~", *p);
		if (n + (plain ? 1 : 3) >= size)
			break;
		if (plain) {
			out[n++] = (char)*p;
			continue;
		}
		out[n++] = '%';
		out[n++] = digits[*p >> 4];
		out[n++] = digits[*p & 15];
	}
	out[n] = 0;
}
