/* libFuzzer: Nova's extra-spec operator parser and matcher. The input is
 * "VALUE\nREQUIREMENT"; parse, validate and match must not crash, and the
 * results must agree with what the operators mean: a plain requirement
 * matches exactly its own text, <in> matches a value that is its operand,
 * a requirement the validator accepts parses to the same operator. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/scheduler/extra_specs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	char *nl = strchr(text, '\n');
	const char *value = text, *req = "";
	if (nl) {
		*nl = '\0';
		req = nl + 1;
	}
	struct extra_specs_req r;
	if (extra_specs__parse(req, &r, NULL) < 0) {
		free(text);
		return 0;
	}
	bool matched = extra_specs__match(&r, value);
	if (extra_specs__match(&r, NULL))
		abort(); /* a host without the capability never matches */
	if (r.op == EXTRA_SPECS_PLAIN && matched != !strcmp(value, req))
		abort();
	if (r.op == EXTRA_SPECS_IN && r.n_words && !extra_specs__match(&r, r.words[0]))
		abort();
	if ((r.op == EXTRA_SPECS_OR || r.op == EXTRA_SPECS_STR_EQ) && r.n_words &&
	    !extra_specs__match(&r, r.words[0]))
		abort();
	if (r.op == EXTRA_SPECS_STR_NE && r.n_words && extra_specs__match(&r, r.words[0]))
		abort();
	if (extra_specs__validate(req, NULL) == 0 && r.op != EXTRA_SPECS_PLAIN && r.n_words == 0)
		abort(); /* the validator lets no operator without operands through */
	extra_specs__free(&r);
	double d;
	extra_specs__parse_number(value, &d);
	free(text);
	return 0;
}
