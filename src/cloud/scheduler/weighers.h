/* The scheduler's weighers (internal to src/cloud/scheduler/). */
#ifndef STRATA_CLOUD_SCHEDULER_WEIGHERS_H
#define STRATA_CLOUD_SCHEDULER_WEIGHERS_H

#include <stddef.h>

#include "cloud/scheduler/filters.h"

/* Nova's nova.weights.normalize over n values in place: (w - min) / (max -
 * min) with min/max from the values unless given (has_min/has_max), all
 * equal -> all 0. */
void weighers__normalize(double *w, size_t n, bool has_min, double min, bool has_max, double max);

/* The raw weight one weigher gives a host (higher wins), before normalization. */
double weighers__raw(enum scheduler_weigher w, const struct filter_request *fr, const struct host_state *hs);

/* Sets hosts[i]->weight to the sum over the enabled weighers of
 * multiplier * normalized raw weight. With one host or none all weights are 0.
 * scratch holds n doubles. */
void weighers__weigh(const struct filter_request *fr, struct host_state **hosts, size_t n, double *scratch);

/* Each weigher's multiplier for h: the smallest "<key>" value in its
 * aggregates' metadata, else the configuration's (Nova's get_weight_multiplier). */
void weighers__host_multipliers(const struct scheduler_config *cfg, const struct scheduler_host *h,
				double out[SCHEDULER_WEIGHER_COUNT]);

/* "ram_weight_multiplier", ...: the configuration key and aggregate metadata key of w's multiplier. */
const char *weighers__multiplier_key(enum scheduler_weigher w);

#endif
