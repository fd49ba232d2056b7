/* libFuzzer: stratad's domain definition parsers (src/host/domdef.c for
 * JSON, src/host/domxml.c for libvirt XML) must refuse or accept any body
 * without crashing, leaking or reading out of bounds; and whatever they
 * accept must survive the round trip definition -> XML export -> import ->
 * check unchanged (what `strata dumpxml` hands out can be defined again).
 * Bodies whose root is <network> or <pool> go through the libvirt network
 * and pool XML import (src/host/netxml.c), whose export must import again
 * to the same JSON. All of them parse with the XML hardening of
 * src/host/xmldoc.c (no DTD, no entities, no network) as stratad does. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/domdef.h"
#include "host/domxml.h"
#include "host/netxml.h"

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

/* A pool's info has the path its define derived from the volume group. */
static void pool_as_stored(json_t *in)
{
	const char *vg = json_string_value(json_object_get(in, "vg"));
	if (vg && !json_object_get(in, "path")) {
		char path[300];
		snprintf(path, sizeof(path), "/dev/%s", vg);
		json_object_set_new(in, "path", json_string(path));
	}
}

static void netpool_round_trip(const char *text, size_t len, bool pool)
{
	struct st_err err = {0};
	json_t *in = NULL, *again = NULL;
	if ((pool ? netxml__pool_import : netxml__network_import)(text, len, &in, &err) < 0)
		return;
	if (pool)
		pool_as_stored(in);
	char *xml = pool ? netxml__pool_export(in) : netxml__network_export(in);
	if (!xml)
		abort();
	if ((pool ? netxml__pool_import : netxml__network_import)(xml, strlen(xml), &again, &err) < 0)
		again = NULL;
	if (again && pool)
		pool_as_stored(again);
	if (!again || !json_equal(in, again)) {
		char *a = json_dumps(in, JSON_SORT_KEYS), *b = again ? json_dumps(again, JSON_SORT_KEYS) : NULL;
		fprintf(stderr, "%s round trip changed:\n%s\n%s\nXML:\n%s\n%s\n", pool ? "pool" : "network", a,
			b ? b : "(refused)", xml, again ? "" : err.msg);
		abort();
	}
	json_decref(again);
	json_decref(in);
	free(xml);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	if (size >= 8 && !memcmp(text, "<network", 8)) {
		netpool_round_trip(text, size, false);
		return 0;
	}
	if (size >= 5 && !memcmp(text, "<pool", 5)) {
		netpool_round_trip(text, size, true);
		return 0;
	}
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
