/* The container's filesystem view, built inside its mount namespace:
 * config mounts (in order), /dev with the default devices, pivot_root (or
 * MS_MOVE + chroot where pivot_root cannot work), masked and readonly paths,
 * sysctls and a readonly root. */
#ifndef STRATA_CTR_ROOTFS_H
#define STRATA_CTR_ROOTFS_H

#include <stdbool.h>

#include "common/err.h"
#include "ctr/cgroup.h"
#include "ctr/config.h"

struct rootfs_ctx {
	const struct ctr_config *cfg;
	const char *rootfs;  /* absolute */
	const char *bundle;  /* relative mount sources resolve against it */
	const struct ctr_cgroup *cg;
	bool userns;         /* devices are bind mounted, not created */
	bool no_pivot;       /* MS_MOVE + chroot even where pivot_root works */
};

/* The mounts and /dev, under the rootfs still seen from the host's root. */
int rootfs__prepare(const struct rootfs_ctx *ctx, struct st_err *err);
/* pivot_root into it (or MS_MOVE + chroot), then its propagation. */
int rootfs__pivot(const struct rootfs_ctx *ctx, struct st_err *err);
/* Masked/readonly paths, sysctl, readonly root: after the pivot. */
int rootfs__finish(const struct rootfs_ctx *ctx, struct st_err *err);

/* Open (creating when missing) dest inside the directory rootfd as O_PATH,
 * never escaping it through symlinks. */
int rootfs__open_in_root(int rootfd, const char *dest, bool is_file, struct st_err *err);

#endif
