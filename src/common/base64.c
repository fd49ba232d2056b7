#include "common/base64.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char std_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int base64__encode(enum base64_alphabet abc, const uint8_t *data, size_t len, int pad,
		   char **out, struct st_err *err)
{
	const char *chars = abc == BASE64_URL ? url_chars : std_chars;
	char *s = malloc((len + 2) / 3 * 4 + 1);
	if (!s)
		return err__fail(err, ENOMEM, "base64: out of memory");
	char *o = s;
	size_t i = 0;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
		*o++ = chars[v >> 18 & 63];
		*o++ = chars[v >> 12 & 63];
		*o++ = chars[v >> 6 & 63];
		*o++ = chars[v & 63];
	}
	if (len - i) {
		uint32_t v = (uint32_t)data[i] << 16 | (len - i == 2 ? (uint32_t)data[i + 1] << 8 : 0);
		*o++ = chars[v >> 18 & 63];
		*o++ = chars[v >> 12 & 63];
		if (len - i == 2)
			*o++ = chars[v >> 6 & 63];
		else if (pad)
			*o++ = '=';
		if (pad)
			*o++ = '=';
	}
	*o = '\0';
	*out = s;
	return 0;
}

static int value_of(const char *chars, char c)
{
	const char *p = c ? strchr(chars, c) : NULL;
	return p ? (int)(p - chars) : -1;
}

int base64__decode(enum base64_alphabet abc, const char *text, size_t text_len, uint8_t **out,
		   size_t *out_len, struct st_err *err)
{
	const char *chars = abc == BASE64_URL ? url_chars : std_chars;
	size_t n = text_len;
	if (n % 4 == 0 && n && text[n - 1] == '=')
		n -= text[n - 2] == '=' ? 2 : 1;
	if (n % 4 == 1)
		return err__fail(err, EINVAL, "base64: impossible length %zu", text_len);
	uint8_t *buf = malloc(n / 4 * 3 + 3);
	if (!buf)
		return err__fail(err, ENOMEM, "base64: out of memory");
	size_t o = 0;
	uint32_t acc = 0;
	for (size_t i = 0; i < n; i++) {
		int v = value_of(chars, text[i]);
		if (v < 0) {
			free(buf);
			return err__fail(err, EINVAL, "base64: invalid character at %zu", i);
		}
		acc = acc << 6 | (uint32_t)v;
		if (i % 4 == 3) {
			buf[o++] = (uint8_t)(acc >> 16);
			buf[o++] = (uint8_t)(acc >> 8);
			buf[o++] = (uint8_t)acc;
			acc = 0;
		}
	}
	/* A partial group: its unused low bits must be zero (one encoding per value). */
	if (n % 4 == 2) {
		if (acc & 0xf)
			goto noncanonical;
		buf[o++] = (uint8_t)(acc >> 4);
	} else if (n % 4 == 3) {
		if (acc & 0x3)
			goto noncanonical;
		buf[o++] = (uint8_t)(acc >> 10);
		buf[o++] = (uint8_t)(acc >> 2);
	}
	*out = buf;
	*out_len = o;
	return 0;
noncanonical:
	free(buf);
	return err__fail(err, EINVAL, "base64: trailing bits set");
}
