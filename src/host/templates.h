/* Guest templates (Kimchi's idea): a saved recipe a new guest starts from,
 * kept in the store. A template is what a domain definition has that does
 * not belong to one guest: memory, vCPUs, the kernel/initrd/cmdline, NICs
 * (network and model, never a MAC) and disks as recipes, each one of
 *   {"pool": P, "capacity": bytes or "10G", "format": "qcow2"|"raw"}  a new empty volume
 *   {"pool": P, "base": V, "mode": "copy"|"overlay"}                 a copy (or qcow2 overlay) of P/V
 *   {"path": "/abs", "readonly": true|false}                          a host file, shared
 * The new-guest wizard turns the recipes into volumes and the rest into a
 * domain definition. Called with the host lock held. */
#ifndef STRATA_HOST_TEMPLATES_H
#define STRATA_HOST_TEMPLATES_H

#include <jansson.h>

#include "common/err.h"
#include "host/host.h"

json_t *templates__list(struct host *h);
int templates__get(struct host *h, const char *name, json_t **out, struct st_err *err);
/* {"name", "description"?, ...the recipe} */
int templates__define(struct host *h, const json_t *in, json_t **out, struct st_err *err);
/* Replaces the recipe of template name (the body's "name", if any, must be name). */
int templates__update(struct host *h, const char *name, const json_t *in, json_t **out, struct st_err *err);
int templates__delete(struct host *h, const char *name, struct st_err *err);
/* {"name", "guest", "description"?}: the recipe of a defined guest; its
 * pool volumes become copies of them ("base"), its files stay shared. */
int templates__from_guest(struct host *h, const json_t *in, json_t **out, struct st_err *err);

#endif
