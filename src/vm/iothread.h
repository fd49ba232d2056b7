/* The I/O thread: device work (queue notifications, tap and socket traffic)
 * runs here, off the vCPU threads, driven by epoll over eventfds and sockets. */
#ifndef STRATA_VM_IOTHREAD_H
#define STRATA_VM_IOTHREAD_H

#include <stdint.h>

#include "common/err.h"

struct io_watch {
	int fd;
	void (*fn)(struct io_watch *w, uint32_t events);
	void *opaque;
	unsigned index;
};

int iothread__add(struct io_watch *w, uint32_t events, struct st_err *err);
void iothread__del(struct io_watch *w);
/* Changes the events a watch waits for. */
int iothread__mod(struct io_watch *w, uint32_t events);
/* Starts the thread (once, after the devices registered their watches). */
int iothread__start(struct st_err *err);

#endif
