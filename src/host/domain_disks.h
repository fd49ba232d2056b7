/* Disks while a domain is defined or running. Attaching adds a disk to the
 * definition and, when the domain runs, to the guest (PCI hotplug);
 * detaching takes it out of the definition and asks a running guest to eject
 * it. Built on domains.h (which does not call back here). Called with
 * host->lock held. */
#ifndef STRATA_HOST_DOMAIN_DISKS_H
#define STRATA_HOST_DOMAIN_DISKS_H

#include <jansson.h>

#include "common/err.h"
#include "host/host.h"

int domain_disks__attach(struct host *h, struct dom *d, const json_t *in, json_t **out, struct st_err *err);
int domain_disks__detach(struct host *h, struct dom *d, const char *target, struct st_err *err);

#endif
