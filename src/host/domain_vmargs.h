/* strata-vm's command line for a run of a domain: its definition as
 * options (--disk PATH,format=F,id=TARGET,serial=S; --balloon unless the
 * definition has none; --net fd=N,mac=M for the taps the keeper hands over). */
#ifndef STRATA_HOST_DOMAIN_VMARGS_H
#define STRATA_HOST_DOMAIN_VMARGS_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"
#include "host/host.h"

struct domain_vmargs {
	const char *argv[64];
	char *owned[2 * VMPROC_MAX_FDS];
	size_t nown;
	char cpus[16], mem[32], console[600], control[512], log[512], exit[512];
};

int domain_vmargs__build(struct host *h, const struct dom *d, struct domain_vmargs *a, struct st_err *err);
void domain_vmargs__free(struct domain_vmargs *a);
/* strata-vm's --disk (and disk-attach's "disk") for a disk of a definition
 * (malloc'd; NULL: no memory). */
char *domain_vmargs__disk_spec(const json_t *disk);

#endif
