/* Python's str() of a JSON value. Nova's ComputeCapabilitiesFilter matches
 * an operator against str(capability), so a list of CPU features is the
 * text "['avx', 'sse4.2']" and "<in> avx" is a substring test on it (which
 * "avx2" passes too: Nova's documented edge). */
#include "cloud/scheduler/filters.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(struct filter_text *t, const char *s, size_t n)
{
	if (t->failed)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 64;
		while (cap < t->len + n + 1)
			cap *= 2;
		char *b = realloc(t->buf, cap);
		if (!b) {
			t->failed = true;
			return;
		}
		t->buf = b;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

static void puts_(struct filter_text *t, const char *s)
{
	put(t, s, strlen(s));
}

/* repr() of a str: single quotes unless it holds ' and no ". */
static void put_repr(struct filter_text *t, const char *s, size_t n)
{
	char q = memchr(s, '\'', n) && !memchr(s, '"', n) ? '"' : '\'';
	put(t, &q, 1);
	size_t run = 0; /* characters copied as they are, in one go */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		bool plain = c >= 0x20 && c != 0x7f && c != '\\' && c != (unsigned char)q;
		if (plain) {
			run++;
			continue;
		}
		put(t, s + i - run, run);
		run = 0;
		if (c == '\\' || c == (unsigned char)q) {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(t, esc, 2);
		} else if (c == '\n') {
			puts_(t, "\\n");
		} else if (c == '\r') {
			puts_(t, "\\r");
		} else if (c == '\t') {
			puts_(t, "\\t");
		} else {
			snprintf(esc, sizeof(esc), "\\x%02x", c);
			puts_(t, esc);
		}
	}
	put(t, s + n - run, run);
	put(t, &q, 1);
}

/* repr() of a float: the shortest digits that read back, in fixed notation
 * for exponents -4..15 and d.ddde+XX otherwise, with ".0" on integers. */
static void put_float(struct filter_text *t, double d)
{
	if (isnan(d)) {
		puts_(t, "nan");
		return;
	}
	if (isinf(d)) {
		puts_(t, d < 0 ? "-inf" : "inf");
		return;
	}
	char e[40];
	for (int p = 1; p <= 17; p++) {
		snprintf(e, sizeof(e), "%.*e", p - 1, d);
		if (strtod(e, NULL) == d)
			break;
	}
	char *ep = strchr(e, 'e');
	int exp = atoi(ep + 1);
	*ep = '\0';
	char digits[24];
	size_t nd = 0;
	bool neg = e[0] == '-';
	for (char *p = e + neg; *p; p++)
		if (*p != '.')
			digits[nd++] = *p;
	digits[nd] = '\0';
	char out[64];
	size_t o = 0;
	if (neg)
		out[o++] = '-';
	if (exp < -4 || exp >= 16) {
		out[o++] = digits[0];
		if (nd > 1) {
			out[o++] = '.';
			for (size_t i = 1; i < nd; i++)
				out[o++] = digits[i];
		}
		snprintf(out + o, sizeof(out) - o, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
		puts_(t, out);
		return;
	}
	if (exp < 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (int i = -1; i > exp; i--)
			out[o++] = '0';
		for (size_t i = 0; i < nd; i++)
			out[o++] = digits[i];
	} else {
		for (int i = 0; i <= exp; i++)
			out[o++] = (size_t)i < nd ? digits[i] : '0';
		out[o++] = '.';
		if ((size_t)exp + 1 >= nd)
			out[o++] = '0';
		for (size_t i = (size_t)exp + 1; i < nd; i++)
			out[o++] = digits[i];
	}
	out[o] = '\0';
	puts_(t, out);
}

static void put_value(struct filter_text *t, const json_t *v, bool nested, int depth)
{
	char num[32];
	if (depth > 64) {
		t->failed = true;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_STRING:
		if (nested)
			put_repr(t, json_string_value(v), json_string_length(v));
		else
			put(t, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		puts_(t, num);
		break;
	case JSON_REAL: put_float(t, json_real_value(v)); break;
	case JSON_TRUE: puts_(t, "True"); break;
	case JSON_FALSE: puts_(t, "False"); break;
	case JSON_NULL: puts_(t, "None"); break;
	case JSON_ARRAY: {
		puts_(t, "[");
		size_t i;
		const json_t *e;
		json_array_foreach(v, i, e) {
			if (i)
				puts_(t, ", ");
			put_value(t, e, true, depth + 1);
		}
		puts_(t, "]");
		break;
	}
	case JSON_OBJECT: {
		puts_(t, "{");
		const char *k;
		const json_t *e;
		bool first = true;
		json_object_foreach((json_t *)v, k, e) {
			if (!first)
				puts_(t, ", ");
			first = false;
			put_repr(t, k, strlen(k));
			puts_(t, ": ");
			put_value(t, e, true, depth + 1);
		}
		puts_(t, "}");
		break;
	}
	}
}

const char *filters__python_str_into(const json_t *v, struct filter_text *t)
{
	if (!v || json_is_null(v))
		return NULL;
	t->len = 0;
	t->failed = false;
	put(t, "", 0);
	put_value(t, v, false, 0);
	return t->failed ? NULL : t->buf;
}

char *filters__python_str(const json_t *v)
{
	struct filter_text t = {0};
	const char *s = filters__python_str_into(v, &t);
	char *copy = s ? strdup(s) : NULL;
	free(t.buf);
	return copy;
}
