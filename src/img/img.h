/* strata-img: one file per subcommand; shared helpers in common.c. */
#ifndef STRATA_IMG_IMG_H
#define STRATA_IMG_IMG_H

#include <stdbool.h>
#include <stdint.h>

#include "block/block.h"

struct img_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
};

extern const struct img_cmd img_cmd_create, img_cmd_info, img_cmd_check, img_cmd_convert,
	img_cmd_compare, img_cmd_map, img_cmd_snapshot, img_cmd_commit, img_cmd_rebase, img_cmd_resize,
	img_cmd_measure, img_cmd_amend, img_cmd_bench;

/* Prints the error once and returns the exit code for "failed" (1). */
int img__die(const struct st_err *err);
/* --help and usage errors */
int img__usage(const struct img_cmd *c, bool error);
/* -o key=value[,key=value...] into creation options; parsed in place (o points into list) */
int img__parse_create_opts(char *list, struct blk_create_opts *o, struct st_err *err);
int img__open(const char *path, const char *fmt, bool writable, bool no_backing, struct blk **out,
	     struct st_err *err);
/* -t/-T cache modes as qemu-img has them: unsafe (no fdatasync; convert's
 * default for its target), writeback/writethrough (page cache, flushes
 * sync), none/directsync (O_DIRECT, flushes sync). */
struct img_cache {
	bool no_sync, direct;
};
int img__parse_cache(const char *mode, struct img_cache *c, struct st_err *err);
int img__open_cache(const char *path, const char *fmt, bool writable, bool no_backing, const struct img_cache *cache,
		   struct blk **out, struct st_err *err);
/* progress on stdout, "    (12.34/100%)", only when enabled */
void img__progress(bool on, uint64_t done, uint64_t total);
/* status through the whole chain: DATA if any layer has data, else ZERO;
 * depth is the layer that decided, len the run from off */
int img__chain_status(struct blk *b, uint64_t off, uint64_t len, struct block__status *st, unsigned *depth,
		     struct blk **layer, struct st_err *err);
bool img__is_zero(const void *buf, uint64_t len);

#endif
