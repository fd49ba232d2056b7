/* Nova's default rules, by name. */
#include "cloud/compute/compute_policy.h"

#include <errno.h>
#include <string.h>

enum check {
	ANY,                /* "@" */
	ADMIN,              /* rule:context_is_admin */
	READER_OR_ADMIN,    /* admin, or a reader of the target project */
	MEMBER_OR_ADMIN,    /* admin, or a member of the target project */
	OWNER_OR_ADMIN,     /* admin, or the target is the caller's project */
	USER_OR_ADMIN,      /* admin, or the target is the caller (owner is a user id) */
};

static const struct {
	const char *rule;
	enum check check;
} rules[] = {
	{"os_compute_api:os-flavor-manage:create", ADMIN},
	{"os_compute_api:os-flavor-manage:update", ADMIN},
	{"os_compute_api:os-flavor-manage:delete", ADMIN},
	{"os_compute_api:os-flavor-extra-specs:index", READER_OR_ADMIN},
	{"os_compute_api:os-flavor-extra-specs:show", READER_OR_ADMIN},
	{"os_compute_api:os-flavor-extra-specs:create", ADMIN},
	{"os_compute_api:os-flavor-extra-specs:update", ADMIN},
	{"os_compute_api:os-flavor-extra-specs:delete", ADMIN},
	{"os_compute_api:os-flavor-access", ADMIN},
	{"os_compute_api:os-flavor-access:add_tenant_access", ADMIN},
	{"os_compute_api:os-flavor-access:remove_tenant_access", ADMIN},
	{"os_compute_api:os-keypairs:index", USER_OR_ADMIN},
	{"os_compute_api:os-keypairs:show", USER_OR_ADMIN},
	{"os_compute_api:os-keypairs:create", USER_OR_ADMIN},
	{"os_compute_api:os-keypairs:delete", USER_OR_ADMIN},
	{"os_compute_api:os-aggregates:index", ADMIN},
	{"os_compute_api:os-aggregates:create", ADMIN},
	{"os_compute_api:os-aggregates:show", ADMIN},
	{"os_compute_api:os-aggregates:update", ADMIN},
	{"os_compute_api:os-aggregates:delete", ADMIN},
	{"os_compute_api:os-aggregates:add_host", ADMIN},
	{"os_compute_api:os-aggregates:remove_host", ADMIN},
	{"os_compute_api:os-aggregates:set_metadata", ADMIN},
	{"os_compute_api:os-availability-zone:list", ANY},
	{"os_compute_api:os-availability-zone:detail", ADMIN},
	{"os_compute_api:os-server-groups:create", MEMBER_OR_ADMIN},
	{"os_compute_api:os-server-groups:index", READER_OR_ADMIN},
	{"os_compute_api:os-server-groups:index:all_projects", ADMIN},
	{"os_compute_api:os-server-groups:show", READER_OR_ADMIN},
	{"os_compute_api:os-server-groups:delete", MEMBER_OR_ADMIN},
	{"os_compute_api:os-quota-sets:show", READER_OR_ADMIN},
	{"os_compute_api:os-quota-sets:defaults", ANY},
	{"os_compute_api:os-quota-sets:detail", READER_OR_ADMIN},
	{"os_compute_api:os-quota-sets:update", ADMIN},
	{"os_compute_api:os-quota-sets:delete", ADMIN},
	{"os_compute_api:os-quota-class-sets:show", ADMIN},
	{"os_compute_api:os-quota-class-sets:update", ADMIN},
	{"os_compute_api:limits", ANY},
	{"os_compute_api:limits:other_project", ADMIN},
	{"os_compute_api:servers:create", MEMBER_OR_ADMIN},
	{"os_compute_api:servers:index", READER_OR_ADMIN},
	{"os_compute_api:servers:index:get_all_tenants", ADMIN},
	{"os_compute_api:servers:detail", READER_OR_ADMIN},
	{"os_compute_api:servers:detail:get_all_tenants", ADMIN},
	{"os_compute_api:servers:show", READER_OR_ADMIN},
	{"os_compute_api:servers:delete", MEMBER_OR_ADMIN},
};

static bool passes(const struct compute_caller *c, enum check check, const char *owner)
{
	bool own = !owner || (c->project_id[0] && !strcmp(owner, c->project_id));
	switch (check) {
	case ANY: return true;
	case ADMIN: return c->admin;
	case READER_OR_ADMIN: return c->admin || (c->reader && own);
	case MEMBER_OR_ADMIN: return c->admin || (c->member && own);
	case OWNER_OR_ADMIN: return c->admin || own;
	case USER_OR_ADMIN: return c->admin || !owner || !strcmp(owner, c->user_id);
	}
	return false;
}

int compute_policy__check(const struct compute_caller *c, const char *rule, const char *owner,
			  struct st_err *err)
{
	enum check check = ADMIN;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (!strcmp(rules[i].rule, rule))
			check = rules[i].check;
	if (passes(c, check, owner))
		return 0;
	return err__fail_class(err, EPERM, "Policy doesn't allow %s to be performed.", rule);
}
