#include "host/access.h"

#include <grp.h>
#include <stddef.h>

gid_t access__strata_gid(void)
{
	struct group gr, *res = NULL;
	char buf[4096];
	if (getgrnam_r("strata", &gr, buf, sizeof(buf), &res) || !res)
		return (gid_t)-1;
	return gr.gr_gid;
}

bool access__full(uid_t uid, gid_t gid, const gid_t *groups, size_t nr_groups)
{
	if (uid == 0)
		return true;
	gid_t g = access__strata_gid();
	if (g == (gid_t)-1)
		return false;
	if (gid == g)
		return true;
	for (size_t i = 0; i < nr_groups; i++)
		if (groups[i] == g)
			return true;
	return false;
}
