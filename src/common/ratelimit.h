/* Token buckets per key (a uid, a peer): a flood of one kind of event (refused
 * requests written to the audit table, refused connections written to the log)
 * is recorded at a bounded rate, and what was left out is counted so that one
 * summary can say so. Not thread-safe: the caller locks. */
#ifndef STRATA_COMMON_RATELIMIT_H
#define STRATA_COMMON_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>

#define RATELIMIT_KEYS 64

struct ratelimit_entry {
	long key;
	double tokens, last;      /* the bucket, and when it was last filled */
	unsigned long suppressed; /* events left out since the last summary */
	double first_suppressed;  /* when the first of them was */
};

struct ratelimit {
	double rate, burst; /* events a second once the burst is spent */
	struct ratelimit_entry e[RATELIMIT_KEYS];
	size_t n;
};

/* Whether key's event may be recorded at time now (seconds, monotonic); if
 * not, it is counted. With more keys than RATELIMIT_KEYS, the least recently
 * seen key is forgotten (its count with it). */
bool ratelimit__allow(struct ratelimit *rl, long key, double now);
/* A key whose left-out events are due a summary (the first of them at least
 * period seconds ago: one summary a period however long a flood lasts): true,
 * with the key and the count, which starts again at 0. */
bool ratelimit__take_suppressed(struct ratelimit *rl, double now, double period, long *key, unsigned long *count);
/* CLOCK_MONOTONIC in seconds. */
double ratelimit__now(void);

#endif
