/* Nova's extra-spec requirement language, as its filter scheduler reads a
 * flavor's extra specs and an aggregate's metadata
 * (nova/scheduler/filters/extra_specs_ops.py): "OP OPERAND..." where OP is
 * one of
 *   =  (number >=)   ==  !=  >=  <=  (numbers)
 *   s==  s!=  s>=  s>  s<=  s<  (strings, byte order = code point order)
 *   <in> S       (S is a substring of the value: "<in> avx" matches "avx2")
 *   <all-in> S1 S2 ...   (each is a substring)
 *   <or> V1 <or> V2 ...  (the value equals one of the Vs exactly)
 * A requirement whose first word is not an operator is compared with the
 * value as a whole string. Words are split on whitespace as Python's
 * str.split() does (ASCII whitespace and \x1c-\x1f).
 *
 * Matching is Nova's, lenient: a missing operand or a number that does not
 * parse is "no match" (Nova would raise ValueError/IndexError there).
 * extra_specs__validate() is the strict check the API applies before it
 * stores an extra spec, so that such requirements never reach a filter. */
#ifndef STRATA_CLOUD_SCHEDULER_EXTRA_SPECS_H
#define STRATA_CLOUD_SCHEDULER_EXTRA_SPECS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

enum extra_specs_op {
	EXTRA_SPECS_PLAIN,    /* no operator: whole-string equality */
	EXTRA_SPECS_NUM_AT_LEAST, /* "=" */
	EXTRA_SPECS_NUM_EQ,
	EXTRA_SPECS_NUM_NE,
	EXTRA_SPECS_NUM_GE,
	EXTRA_SPECS_NUM_LE,
	EXTRA_SPECS_STR_EQ,
	EXTRA_SPECS_STR_NE,
	EXTRA_SPECS_STR_GE,
	EXTRA_SPECS_STR_GT,
	EXTRA_SPECS_STR_LE,
	EXTRA_SPECS_STR_LT,
	EXTRA_SPECS_IN,
	EXTRA_SPECS_ALL_IN,
	EXTRA_SPECS_OR,
};

/* A parsed requirement: the operator and the words after it. */
struct extra_specs_req {
	enum extra_specs_op op;
	const char *text;     /* the whole requirement (PLAIN compares with it) */
	const char **words;   /* operands, in one allocation with their text */
	size_t n_words;
};

/* Splits req into its operator and operands (req must outlive *out). Fails
 * only when memory runs out. */
int extra_specs__parse(const char *req, struct extra_specs_req *out, struct st_err *err);
void extra_specs__free(struct extra_specs_req *r);

/* Does value (NULL: the host lacks it) satisfy the requirement? */
bool extra_specs__match(const struct extra_specs_req *r, const char *value);

/* Parse + match + free in one call (false when memory runs out). */
bool extra_specs__match_text(const char *value, const char *req);

/* Strict syntax: an operator takes its operands (exactly one for the
 * comparisons and <in>, one or more for <all-in>, "<or> V (<or> V)*" for
 * <or>), numeric operators take a number, and a first word spelt like an
 * operator ("<...>") must be one. Fails with EINVAL and what is wrong. */
int extra_specs__validate(const char *req, struct st_err *err);

/* Python's float(): the whole string (surrounding whitespace allowed) is a
 * decimal number, inf, infinity or nan. */
bool extra_specs__parse_number(const char *s, double *out);

#endif
