/* The main thread's event loop (epoll): console input, control clients, stop. */
#ifndef STRATA_VM_LOOP_H
#define STRATA_VM_LOOP_H

#include <stdint.h>

#include "common/err.h"

struct loop_watch {
	int fd;
	void (*fn)(struct loop_watch *w, uint32_t events);
};

int loop__init(struct st_err *err);
int loop__add(struct loop_watch *w, uint32_t events, struct st_err *err);
void loop__del(struct loop_watch *w);
/* Waits up to timeout_ms (-1: forever) and runs the ready watches. */
void loop__run_once(int timeout_ms);

#endif
