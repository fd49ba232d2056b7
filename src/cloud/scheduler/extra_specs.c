/* Nova's extra-spec operators; see extra_specs.h for the semantics. */
#include "cloud/scheduler/extra_specs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "cloud/scheduler/scheduler.h"

static const struct {
	const char *name;
	enum extra_specs_op op;
} op_names[] = {
	{"=", EXTRA_SPECS_NUM_AT_LEAST}, {"==", EXTRA_SPECS_NUM_EQ},   {"!=", EXTRA_SPECS_NUM_NE},
	{">=", EXTRA_SPECS_NUM_GE},      {"<=", EXTRA_SPECS_NUM_LE},   {"s==", EXTRA_SPECS_STR_EQ},
	{"s!=", EXTRA_SPECS_STR_NE},     {"s>=", EXTRA_SPECS_STR_GE},  {"s>", EXTRA_SPECS_STR_GT},
	{"s<=", EXTRA_SPECS_STR_LE},     {"s<", EXTRA_SPECS_STR_LT},   {"<in>", EXTRA_SPECS_IN},
	{"<all-in>", EXTRA_SPECS_ALL_IN}, {"<or>", EXTRA_SPECS_OR},
};

/* Python's str.split() whitespace, ASCII part. */
static bool is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static bool lookup_op(const char *word, enum extra_specs_op *op)
{
	for (size_t i = 0; i < ST_ARRAY_SIZE(op_names); i++)
		if (!strcmp(word, op_names[i].name)) {
			*op = op_names[i].op;
			return true;
		}
	return false;
}

static size_t count_words(const char *s)
{
	size_t n = 0;
	for (const char *p = s; *p;) {
		while (*p && is_space((unsigned char)*p))
			p++;
		if (!*p)
			break;
		n++;
		while (*p && !is_space((unsigned char)*p))
			p++;
	}
	return n;
}

int extra_specs__parse(const char *req, struct extra_specs_req *out, struct st_err *err)
{
	size_t n = count_words(req), len = strlen(req);
	*out = (struct extra_specs_req){.op = EXTRA_SPECS_PLAIN, .text = req};
	/* The pointer array and a copy of the text, cut into words, in one block. */
	char *block = malloc((n + 1) * sizeof(char *) + len + 1);
	if (!block)
		return err__fail(err, ENOMEM, "extra spec \"%.64s\": out of memory", req);
	const char **words = (const char **)block;
	char *text = block + (n + 1) * sizeof(char *);
	memcpy(text, req, len + 1);
	size_t k = 0;
	for (char *p = text; *p;) {
		while (*p && is_space((unsigned char)*p))
			*p++ = '\0';
		if (!*p)
			break;
		words[k++] = p;
		while (*p && !is_space((unsigned char)*p))
			p++;
	}
	words[k] = NULL;
	out->words = words;
	out->n_words = k;
	if (k > 0 && lookup_op(words[0], &out->op)) {
		out->words = words + 1;
		out->n_words = k - 1;
	}
	return 0;
}

void extra_specs__free(struct extra_specs_req *r)
{
	if (!r->words)
		return;
	/* words points into the block, one slot further when an operator was taken off. */
	free((void *)(r->op == EXTRA_SPECS_PLAIN ? r->words : r->words - 1));
	r->words = NULL;
}

bool extra_specs__parse_number(const char *s, double *out)
{
	while (is_space((unsigned char)*s))
		s++;
	/* strtod also reads hex and "nan(...)", which Python's float() refuses. */
	if (!*s || strpbrk(s, "xX(_"))
		return false;
	char *end;
	double v = strtod(s, &end);
	if (end == s)
		return false;
	while (is_space((unsigned char)*end))
		end++;
	if (*end)
		return false;
	/* Python keeps overflow as inf and underflow as 0, like strtod's result. */
	*out = v;
	return true;
}

static bool compare_numbers(enum extra_specs_op op, const char *value, const char *operand)
{
	double x, y;
	if (!extra_specs__parse_number(value, &x) || !extra_specs__parse_number(operand, &y))
		return false;
	switch (op) {
	case EXTRA_SPECS_NUM_AT_LEAST:
	case EXTRA_SPECS_NUM_GE: return x >= y;
	case EXTRA_SPECS_NUM_EQ: return x == y;
	case EXTRA_SPECS_NUM_NE: return x != y;
	case EXTRA_SPECS_NUM_LE: return x <= y;
	default: return false;
	}
}

static bool compare_strings(enum extra_specs_op op, const char *value, const char *operand)
{
	int c = strcmp(value, operand);
	switch (op) {
	case EXTRA_SPECS_STR_EQ: return c == 0;
	case EXTRA_SPECS_STR_NE: return c != 0;
	case EXTRA_SPECS_STR_GE: return c >= 0;
	case EXTRA_SPECS_STR_GT: return c > 0;
	case EXTRA_SPECS_STR_LE: return c <= 0;
	case EXTRA_SPECS_STR_LT: return c < 0;
	default: return false;
	}
}

/* "<or> v1 <or> v2": the values stand at even positions; whatever word
 * stands between them is skipped unchecked, as Nova does. */
static bool match_or(const struct extra_specs_req *r, const char *value)
{
	for (size_t i = 0; i < r->n_words; i += 2)
		if (!strcmp(r->words[i], value))
			return true;
	return false;
}

bool extra_specs__match(const struct extra_specs_req *r, const char *value)
{
	if (r->op == EXTRA_SPECS_PLAIN)
		return value && !strcmp(value, r->text);
	if (!value || r->n_words == 0)
		return false;
	switch (r->op) {
	case EXTRA_SPECS_OR: return match_or(r, value);
	case EXTRA_SPECS_IN: return strstr(value, r->words[0]) != NULL;
	case EXTRA_SPECS_ALL_IN:
		for (size_t i = 0; i < r->n_words; i++)
			if (!strstr(value, r->words[i]))
				return false;
		return true;
	case EXTRA_SPECS_STR_EQ:
	case EXTRA_SPECS_STR_NE:
	case EXTRA_SPECS_STR_GE:
	case EXTRA_SPECS_STR_GT:
	case EXTRA_SPECS_STR_LE:
	case EXTRA_SPECS_STR_LT: return compare_strings(r->op, value, r->words[0]);
	default: return compare_numbers(r->op, value, r->words[0]);
	}
}

bool extra_specs__match_text(const char *value, const char *req)
{
	struct extra_specs_req r;
	if (extra_specs__parse(req, &r, NULL) < 0)
		return false;
	bool ok = extra_specs__match(&r, value);
	extra_specs__free(&r);
	return ok;
}

static int check_or(const struct extra_specs_req *r, struct st_err *err)
{
	if (r->n_words % 2 == 0)
		return err__fail_class(err, EINVAL, "\"%.64s\": <or> wants \"<or> V1 <or> V2 ...\"", r->text);
	for (size_t i = 1; i < r->n_words; i += 2)
		if (strcmp(r->words[i], "<or>"))
			return err__fail_class(err, EINVAL, "\"%.64s\": \"%.32s\" where <or> belongs", r->text,
					       r->words[i]);
	return 0;
}

static int check_operands(const struct extra_specs_req *r, const char *op, struct st_err *err)
{
	switch (r->op) {
	case EXTRA_SPECS_OR: return check_or(r, err);
	case EXTRA_SPECS_ALL_IN:
		if (r->n_words == 0)
			return err__fail_class(err, EINVAL, "\"%.64s\": %s wants one or more values", r->text, op);
		return 0;
	default: break;
	}
	if (r->n_words != 1)
		return err__fail_class(err, EINVAL, "\"%.64s\": %s wants exactly one operand", r->text, op);
	double d;
	bool numeric = r->op >= EXTRA_SPECS_NUM_AT_LEAST && r->op <= EXTRA_SPECS_NUM_LE;
	if (numeric && !extra_specs__parse_number(r->words[0], &d))
		return err__fail_class(err, EINVAL, "\"%.64s\": %s compares numbers, \"%.32s\" is not one", r->text,
				       op, r->words[0]);
	return 0;
}

int extra_specs__validate(const char *req, struct st_err *err)
{
	struct extra_specs_req r;
	if (extra_specs__parse(req, &r, err) < 0)
		return -1;
	int rc = 0;
	if (r.op != EXTRA_SPECS_PLAIN) {
		rc = check_operands(&r, r.words[-1], err);
	} else if (r.n_words > 0) {
		size_t l = strlen(r.words[0]);
		if (l >= 2 && r.words[0][0] == '<' && r.words[0][l - 1] == '>')
			rc = err__fail_class(err, EINVAL, "\"%.64s\": unknown operator %.32s", req, r.words[0]);
	}
	extra_specs__free(&r);
	return rc;
}

static bool key_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-_:. ", c);
}

int scheduler__validate_extra_spec(const char *key, const char *value, struct st_err *err)
{
	size_t klen = key ? strlen(key) : 0;
	if (klen < 1 || klen > 255)
		return err__fail_class(err, EINVAL, "extra spec key must be 1 to 255 characters");
	for (size_t i = 0; i < klen; i++)
		if (!key_char((unsigned char)key[i]))
			return err__fail_class(err, EINVAL, "extra spec key \"%.64s\": only letters, digits and -_:. "
					       "and spaces are allowed", key);
	if (!value || strlen(value) > 255)
		return err__fail_class(err, EINVAL, "extra spec %.64s: the value must be at most 255 characters", key);
	const char *colon = strchr(key, ':');
	bool ours = !colon || !strncmp(key, "capabilities:", 13) || !strncmp(key, "aggregate_instance_extra_specs:", 31);
	if (ours && extra_specs__validate(value, err) < 0)
		return err__prefix(err, "extra spec %.64s", key);
	return 0;
}
