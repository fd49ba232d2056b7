/* The runtime's per-container state: <root>/<id>/state.json (+ exec.fifo while
 * created), the status derived from it, and the OCI state JSON. */
#ifndef STRATA_CTR_STATE_H
#define STRATA_CTR_STATE_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/err.h"

int state__check_id(const char *id, struct st_err *err);
void state__path(const char *root, const char *id, const char *file, char *out, size_t size);
/* mkdir <root>/<id>; fails clearly when the id is in use. */
int state__create_dir(const char *root, const char *id, struct st_err *err);
void state__remove_dir(const char *root, const char *id);
int state__write(const char *root, const char *id, json_t *state, struct st_err *err);
int state__load(const char *root, const char *id, json_t **out, struct st_err *err);

/* Start time (clock ticks since boot) of pid, 0 when gone or a zombie. */
unsigned long long state__proc_starttime(pid_t pid);
/* "created", "running", "paused" or "stopped" from a loaded state. */
const char *state__status(const char *root, json_t *state);
bool state__alive(json_t *state);
/* The runtime-spec state object (new reference). */
json_t *state__oci(json_t *state, const char *status);
/* Same for a container still being created (hooks need it). */
char *state__oci_string(const char *id, const char *status, pid_t pid, const char *bundle,
			json_t *annotations);

#endif
