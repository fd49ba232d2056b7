/* Running a helper program (qemu-img, ip, nft, dnsmasq) to completion. */
#ifndef STRATA_HOST_HELPER_H
#define STRATA_HOST_HELPER_H

#include "common/err.h"

/* Runs argv (argv[0] looked up in PATH) with stdin from /dev/null; stdout is
 * captured into *out (malloc'd, if out is non-NULL); on a nonzero exit the
 * last line of stderr becomes the error (errnum EIO). */
int helper__run(const char *const *argv, char **out, struct st_err *err);

/* Fails like st_fail, but cls is the error's class for the API's status
 * mapping (EINVAL 400, ENOENT 404, EEXIST/EBUSY 409...), not an errno
 * worth printing: the message gets no strerror() suffix. */
#define host__fail(err, cls, ...) host__class((err), (cls), st_fail((err), 0, __VA_ARGS__))
static inline int host__class(struct st_err *err, int cls, int rc)
{
	if (err)
		err->errnum = cls;
	return rc;
}

#endif
