/* What virsh's setmem, setvcpus, edit, dommemstat and vcpuinfo do to or
 * read of a domain: the balloon of a running guest, the vCPU count of the
 * next start, a new definition for a shut-off domain, the VMM's vCPU
 * threads. Called with host->lock held; what asks the VMM lets go of it
 * (domains__op_begin). */
#ifndef STRATA_HOST_DOMAIN_TUNE_H
#define STRATA_HOST_DOMAIN_TUNE_H

#include <jansson.h>
#include <stdint.h>

#include "common/err.h"
#include "host/host.h"

/* The running guest's balloon target: it keeps kib KiB of its memory (at
 * most its definition's). */
int domain_tune__set_memory(struct host *h, struct dom *d, uint64_t kib, struct st_err *err);
/* virsh dommemstat's figures of a running guest, in KiB (counts for the
 * faults): actual, swap_in, ..., rss, as far as the guest's balloon driver
 * reports them. */
int domain_tune__memstats(struct host *h, struct dom *d, json_t **out, struct st_err *err);
/* The vCPU count of the next start. */
int domain_tune__set_vcpus(struct host *h, struct dom *d, uint64_t n, struct st_err *err);
/* Each vCPU: {"vcpu", and while it runs "cpu" (the host CPU it last ran
 * on), "state", "cpu_time_ns" (its thread's), "affinity" ("yy-y": one
 * character per host CPU)}. */
json_t *domain_tune__vcpus(struct host *h, const struct dom *d);
/* Replaces a shut-off domain's definition (virsh edit): same name and uuid,
 * checked as a define's. */
int domain_tune__redefine(struct host *h, struct dom *d, const json_t *input, struct st_err *err);

#endif
