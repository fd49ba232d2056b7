/* Running a helper program (qemu-img, ip, nft, dnsmasq) to completion. */
#ifndef STRATA_HOST_HELPER_H
#define STRATA_HOST_HELPER_H

#include "common/err.h"

/* Runs argv (argv[0] looked up in PATH) with stdin from /dev/null; stdout is
 * captured into *out (malloc'd, if out is non-NULL); on a nonzero exit the
 * last line of stderr becomes the error (errnum EIO). */
int helper__run(const char *const *argv, char **out, struct st_err *err);

#endif
