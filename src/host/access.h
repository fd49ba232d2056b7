/* Who may change things on this host: root and the members of the `strata`
 * group (as primary or supplementary group); everyone else reads. One rule
 * for the unix socket's peers (api.c) and the web UI's logins (web_login.c). */
#ifndef STRATA_HOST_ACCESS_H
#define STRATA_HOST_ACCESS_H

#include <stdbool.h>
#include <sys/types.h>

/* The `strata` group's id, or (gid_t)-1 when there is none. */
gid_t access__strata_gid(void);
/* Whether uid (with primary group gid and the given supplementary groups) has full access. */
bool access__full(uid_t uid, gid_t gid, const gid_t *groups, size_t nr_groups);

#endif
