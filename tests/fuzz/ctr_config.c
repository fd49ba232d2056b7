/* libFuzzer: config.json parsing must reject or accept any input without
 * crashing, leaking or reading out of bounds; a resources object alone too. */
#include <stddef.h>
#include <stdint.h>

#include "ctr/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctr_config *cfg = NULL;
	struct st_err err = {0};
	if (config__parse((const char *)data, size, &cfg, &err) == 0)
		config__free(cfg);
	struct ctr_config *empty = config__new_empty();
	json_error_t jerr;
	json_t *res = json_loadb((const char *)data, size, 0, &jerr);
	if (json_is_object(res))
		config__parse_resources(empty, res, &err);
	json_decref(res);
	config__free(empty);
	return 0;
}
