/* The event stream: a ring of the last EVENTS_RING events, each with a
 * sequence number; readers (SSE connections) wait for seq > last seen.
 * Thread-safe on its own lock. */
#ifndef STRATA_HOST_EVENTS_H
#define STRATA_HOST_EVENTS_H

#include <jansson.h>
#include <stdint.h>

void events__init(void);
/* kind: defined, started, paused, resumed, stopped, crashed, undefined (and
 * pool-/net- kinds); reason: why, in a word or two. */
void events__emit(const char *kind, const char *object, const char *name, const char *uuid, const char *reason);
/* The same with more fields (extra: an object, taken over; its keys never
 * replace the ones above): a volume download's bytes done and total. */
void events__emit_extra(const char *kind, const char *object, const char *name, const char *uuid, const char *reason,
			json_t *extra);
/* The sequence number the next event will get. */
uint64_t events__next_seq(void);
/* Waits up to timeout_ms for the event numbered seq (or the oldest kept one
 * if seq has left the ring); returns a new reference, NULL on timeout or
 * when events__shutdown() was called (*closed set). */
json_t *events__wait(uint64_t *seq, int timeout_ms, int *closed);
void events__shutdown(void);

#endif
