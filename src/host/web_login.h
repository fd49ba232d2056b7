/* Checking a host account's password for the web UI, through PAM (the
 * service `strata`, /etc/pam.d/strata: pam_unix auth + account, as Cockpit
 * does), and the access that uid gets (access.h: root or the `strata` group
 * full, anyone else read-only). */
#ifndef STRATA_HOST_WEB_LOGIN_H
#define STRATA_HOST_WEB_LOGIN_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"

#define WEB_LOGIN_SERVICE "strata"

/* Whether user's password is right and the account usable; fails
 * EKEYREJECTED with the same message whatever was wrong (no such user, wrong
 * password, expired account). */
int web_login__check(const char *user, const char *password, uid_t *uid, bool *can_write, struct st_err *err);

#endif
