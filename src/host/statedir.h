/* The state directory's own files, checked at start. */
#ifndef STRATA_HOST_STATEDIR_H
#define STRATA_HOST_STATEDIR_H

#include "common/err.h"

/* stratad's files in dir (the database and its -wal/-shm/-journal, the lock,
 * run/, log/ and the VMM logs in it): a file other users may read is made
 * private (logged); one owned by another uid, or a symbolic link where
 * stratad's file belongs, is refused (one line). */
int statedir__check(const char *dir, struct st_err *err);

#endif
