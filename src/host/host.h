/* The daemon's shared state. One lock (host.lock) serializes every
 * operation that reads or changes domains, pools or networks: operations are
 * short (milliseconds), and two conflicting calls then simply see each
 * other's result. What waits on a guest's VMM (a start waiting for it to
 * come up included) lets go of the lock and marks the domain busy instead
 * (struct dom's busy, domains__op_begin). */
#ifndef STRATA_HOST_HOST_H
#define STRATA_HOST_HOST_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "host/store.h"
#include "host/vmproc.h"

enum dom_state { DOM_SHUTOFF, DOM_RUNNING, DOM_PAUSED };

struct dom {
	struct dom *next;
	char uuid[37];
	char *name;
	json_t *def;
	bool autostart;
	enum dom_state state;
	/* running (or paused) only */
	struct vmproc proc;
	int pidfd;             /* the keeper's (or, failing that, the VMM's) */
	uint64_t gen;          /* identifies this run in the supervisor's epoll */
	int64_t started_at;
	bool shutting_down;
	uint64_t shutdown_deadline_ns;
	const char *stop_reason; /* set when stratad itself ends the run */
	bool restart;            /* start again once the process has ended (reboot) */
	/* how the last run ended */
	char last_reason[64];
	/* The operation talking to the VMM without host.lock (domains__op_begin):
	 * another one is refused (409) rather than queued behind a VMM that may
	 * not answer; readers (GETs) share the domain with it. Either keeps the
	 * domain from being undefined. */
	bool transient; /* undefined once it is shut off (strata create) */
	const char *busy;
	uint64_t busy_since_ns;
	unsigned readers;
};

struct host {
	pthread_mutex_t lock;
	struct store *store;
	char *state_dir, *run_dir, *log_dir;
	const char *vm_binary;
	const char *lvm_config; /* --lvm-config: given to every lvm2 command */
	struct dom *doms;
	unsigned nr_doms;
	int epfd;
	uint64_t next_gen;
	unsigned shutdown_timeout_s;
	unsigned start_timeout_s; /* how long a start waits for the VMM's control socket */
	volatile int quitting;
	pthread_t supervisor;
	struct image_cache *images; /* image_cache.h */
};

#endif
