/* Token buckets per key (ratelimit.h). */
#include "common/ratelimit.h"

#include <time.h>

double ratelimit__now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct ratelimit_entry *entry_of(struct ratelimit *rl, long key, double now)
{
	size_t lru = 0;
	for (size_t i = 0; i < rl->n; i++) {
		if (rl->e[i].key == key)
			return &rl->e[i];
		if (rl->e[i].last < rl->e[lru].last)
			lru = i;
	}
	struct ratelimit_entry *e = rl->n < RATELIMIT_KEYS ? &rl->e[rl->n++] : &rl->e[lru];
	*e = (struct ratelimit_entry){.key = key, .tokens = rl->burst, .last = now};
	return e;
}

bool ratelimit__allow(struct ratelimit *rl, long key, double now)
{
	struct ratelimit_entry *e = entry_of(rl, key, now);
	e->tokens += (now - e->last) * rl->rate;
	if (e->tokens > rl->burst)
		e->tokens = rl->burst;
	e->last = now;
	if (e->tokens >= 1) {
		e->tokens -= 1;
		return true;
	}
	if (!e->suppressed++)
		e->first_suppressed = now;
	return false;
}

bool ratelimit__take_suppressed(struct ratelimit *rl, double now, double period, long *key, unsigned long *count)
{
	for (size_t i = 0; i < rl->n; i++) {
		struct ratelimit_entry *e = &rl->e[i];
		if (e->suppressed && now - e->first_suppressed >= period) {
			*key = e->key;
			*count = e->suppressed;
			e->suppressed = 0;
			return true;
		}
	}
	return false;
}
