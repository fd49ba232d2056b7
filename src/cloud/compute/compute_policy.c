/* Nova's default rules as check strings. Nova writes admin as
 * "is_admin:True", which oslo.context derives from context_is_admin; here
 * it is that rule itself. */
#include "cloud/compute/compute_policy.h"

#include <errno.h>
#include <string.h>

#include "common/json_util.h"
#include "common/util.h"

#define ADMIN "rule:context_is_admin"
#define READER_OR_ADMIN "rule:project_reader_or_admin"
#define MEMBER_OR_ADMIN "rule:project_member_or_admin"
#define USER_OR_ADMIN "(rule:context_is_admin) or user_id:%(user_id)s"

const struct policy_rule compute_policy__rules[] = {
	{"context_is_admin", "role:admin"},
	{"admin_api", "rule:context_is_admin"},
	{"project_member_api", "role:member and project_id:%(project_id)s"},
	{"project_reader_api", "role:reader and project_id:%(project_id)s"},
	{"project_member_or_admin", "rule:project_member_api or rule:context_is_admin"},
	{"project_reader_or_admin", "rule:project_reader_api or rule:context_is_admin"},
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
	{"os_compute_api:os-availability-zone:list", "@"},
	{"os_compute_api:os-availability-zone:detail", ADMIN},
	{"os_compute_api:os-server-groups:create", MEMBER_OR_ADMIN},
	{"os_compute_api:os-server-groups:index", READER_OR_ADMIN},
	{"os_compute_api:os-server-groups:index:all_projects", ADMIN},
	{"os_compute_api:os-server-groups:show", READER_OR_ADMIN},
	{"os_compute_api:os-server-groups:delete", MEMBER_OR_ADMIN},
	{"os_compute_api:os-quota-sets:show", READER_OR_ADMIN},
	{"os_compute_api:os-quota-sets:defaults", "@"},
	{"os_compute_api:os-quota-sets:detail", READER_OR_ADMIN},
	{"os_compute_api:os-quota-sets:update", ADMIN},
	{"os_compute_api:os-quota-sets:delete", ADMIN},
	{"os_compute_api:os-quota-class-sets:show", ADMIN},
	{"os_compute_api:os-quota-class-sets:update", ADMIN},
	{"os_compute_api:limits", "@"},
	{"os_compute_api:limits:other_project", ADMIN},
	{"os_compute_api:servers:create", MEMBER_OR_ADMIN},
	{"os_compute_api:servers:index", READER_OR_ADMIN},
	{"os_compute_api:servers:index:get_all_tenants", ADMIN},
	{"os_compute_api:servers:detail", READER_OR_ADMIN},
	{"os_compute_api:servers:detail:get_all_tenants", ADMIN},
	{"os_compute_api:servers:show", READER_OR_ADMIN},
	{"os_compute_api:servers:delete", MEMBER_OR_ADMIN},
	{"os_compute_api:servers:update", MEMBER_OR_ADMIN},
	{"os_compute_api:servers:start", MEMBER_OR_ADMIN},
	{"os_compute_api:servers:stop", MEMBER_OR_ADMIN},
	{"os_compute_api:servers:reboot", MEMBER_OR_ADMIN},
	{"os_compute_api:servers:rebuild", MEMBER_OR_ADMIN},
	{"os_compute_api:servers:create_image", MEMBER_OR_ADMIN},
	{"os_compute_api:os-pause-server:pause", MEMBER_OR_ADMIN},
	{"os_compute_api:os-pause-server:unpause", MEMBER_OR_ADMIN},
	{"os_compute_api:os-suspend-server:suspend", MEMBER_OR_ADMIN},
	{"os_compute_api:os-suspend-server:resume", MEMBER_OR_ADMIN},
	{"os_compute_api:os-lock-server:lock", MEMBER_OR_ADMIN},
	{"os_compute_api:os-lock-server:unlock", MEMBER_OR_ADMIN},
	{"os_compute_api:os-lock-server:unlock:unlock_override", ADMIN},
	{"os_compute_api:server-metadata:index", READER_OR_ADMIN},
	{"os_compute_api:server-metadata:show", READER_OR_ADMIN},
	{"os_compute_api:server-metadata:create", MEMBER_OR_ADMIN},
	{"os_compute_api:server-metadata:update", MEMBER_OR_ADMIN},
	{"os_compute_api:server-metadata:update_all", MEMBER_OR_ADMIN},
	{"os_compute_api:server-metadata:delete", MEMBER_OR_ADMIN},
	{"os_compute_api:os-server-tags:index", READER_OR_ADMIN},
	{"os_compute_api:os-server-tags:show", READER_OR_ADMIN},
	{"os_compute_api:os-server-tags:update", MEMBER_OR_ADMIN},
	{"os_compute_api:os-server-tags:update_all", MEMBER_OR_ADMIN},
	{"os_compute_api:os-server-tags:delete", MEMBER_OR_ADMIN},
	{"os_compute_api:os-server-tags:delete_all", MEMBER_OR_ADMIN},
	{"os_compute_api:os-instance-actions:list", READER_OR_ADMIN},
	{"os_compute_api:os-instance-actions:show", READER_OR_ADMIN},
	{"os_compute_api:os-instance-actions:events", ADMIN},
	{"os_compute_api:os-simple-tenant-usage:list", ADMIN},
	{"os_compute_api:os-simple-tenant-usage:show", READER_OR_ADMIN},
	{"os_compute_api:os-services:list", ADMIN},
	{"os_compute_api:os-services:update", ADMIN},
	{"os_compute_api:os-services:delete", ADMIN},
	{"os_compute_api:os-hypervisors:list", ADMIN},
	{"os_compute_api:os-hypervisors:list-detail", ADMIN},
	{"os_compute_api:os-hypervisors:statistics", ADMIN},
	{"os_compute_api:os-hypervisors:show", ADMIN},
	{"os_compute_api:os-hypervisors:uptime", ADMIN},
	{"os_compute_api:os-hypervisors:search", ADMIN},
};
const size_t compute_policy__n_rules = ST_ARRAY_SIZE(compute_policy__rules);

int compute_policy__check(const struct compute_caller *c, const char *rule, const char *owner,
			  struct st_err *err)
{
	if (!c->policy)
		return 0;
	cleanup_json json_t *target = json_pack("{s:s,s:s}", "project_id", owner ? owner : c->project_id,
						"user_id", owner ? owner : c->user_id);
	if (target && policy__check(c->policy, rule, c->creds, target))
		return 0;
	return err__fail_class(err, EPERM, "Policy doesn't allow %s to be performed.", rule);
}
