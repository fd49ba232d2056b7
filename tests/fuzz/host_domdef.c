/* libFuzzer: stratad's domain definition parsers (src/host/domdef.c for
 * JSON, src/host/domxml.c for libvirt XML) must refuse or accept any body
 * without crashing, leaking or reading out of bounds; and whatever they
 * accept must survive the round trip definition -> XML export -> import ->
 * check unchanged (what `strata dumpxml` hands out can be defined again). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/domdef.h"
#include "host/domxml.h"

/* Pool volumes resolve to a fixed file: the parsers, not the pools, are
 * under test. */
static int resolve(void *ctx, const char *pool, const char *volume, char **path, const char **format,
		   struct st_err *err)
{
	(void)ctx, (void)pool, (void)volume;
	*format = "raw";
	*path = strdup("/dev/null");
	return *path ? 0 : err__fail(err, 0, "no memory");
}

static json_t *parse(const char *text, size_t len)
{
	struct st_err err = {0};
	json_t *in = NULL, *def = NULL;
	if (len && text[0] == '<') {
		if (domxml__import(text, len, &in, &err) < 0)
			return NULL;
	} else {
		in = json_loadb(text, len, 0, NULL);
	}
	if (in && domdef__check(in, resolve, NULL, &def, &err) < 0)
		def = NULL;
	json_decref(in);
	return def;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *def = parse((const char *)data, size);
	if (!def)
		return 0;
	char *xml = domxml__export(def);
	if (!xml)
		abort();
	json_t *again = parse(xml, strlen(xml));
	if (!again || !json_equal(def, again)) {
		char *a = json_dumps(def, JSON_SORT_KEYS), *b = again ? json_dumps(again, JSON_SORT_KEYS) : NULL;
		fprintf(stderr, "round trip changed the definition:\n%s\n%s\nXML:\n%s\n", a, b ? b : "(refused)", xml);
		abort();
	}
	json_decref(again);
	free(xml);
	json_decref(def);
	return 0;
}
