/* Keystone's default policy, as Keystone 22.0.2 (Debian 12) enforces it:
 * the files of keystone/common/policies/ for the calls strata-cloud serves, each new
 * rule or'ed with its deprecated one the way oslo.policy does while
 * [oslo_policy] enforce_new_defaults is False (Keystone's default). Check
 * strings are Keystone's own, unchanged; a policy file overrides any.
 * (POST /v3/users/{id}/password has no rule in Keystone either: the
 * original password is its check.) */
#include "cloud/identity/identity.h"

const struct policy_rule identity__policy_rules[] = {
	{"admin_required", "role:admin or is_admin:1"},
	{"service_role", "role:service"},
	{"service_or_admin", "rule:admin_required or rule:service_role"},
	{"owner", "user_id:%(user_id)s"},
	{"admin_or_owner", "rule:admin_required or rule:owner"},
	{"token_subject", "user_id:%(target.token.user_id)s"},
	{"admin_or_token_subject", "rule:admin_required or rule:token_subject"},
	{"service_admin_or_token_subject", "rule:service_or_admin or rule:token_subject"},
	{"identity:get_application_credential",
	 "((rule:admin_required) or (role:reader and system_scope:all) or rule:owner) or"
	 " (rule:admin_or_owner)"},
	{"identity:list_application_credentials",
	 "((rule:admin_required) or (role:reader and system_scope:all) or rule:owner) or"
	 " (rule:admin_or_owner)"},
	{"identity:create_application_credential", "user_id:%(user_id)s"},
	{"identity:delete_application_credential", "rule:admin_or_owner"},
	{"identity:get_auth_catalog", ""},
	{"identity:get_auth_projects", ""},
	{"identity:get_auth_domains", ""},
	{"identity:get_domain",
	 "(rule:admin_required or (role:reader and system_scope:all) or "
	 "token.domain.id:%(target.domain.id)s or "
	 "token.project.domain.id:%(target.domain.id)s) or (rule:admin_required or "
	 "token.project.domain.id:%(target.domain.id)s)"},
	{"identity:list_domains", "rule:admin_required or (role:reader and system_scope:all)"},
	{"identity:create_domain", "rule:admin_required"},
	{"identity:update_domain", "rule:admin_required"},
	{"identity:delete_domain", "rule:admin_required"},
	{"identity:get_endpoint", "rule:admin_required or (role:reader and system_scope:all)"},
	{"identity:list_endpoints",
	 "rule:admin_required or (role:reader and system_scope:all)"},
	{"identity:create_endpoint", "rule:admin_required"},
	{"identity:update_endpoint", "rule:admin_required"},
	{"identity:delete_endpoint", "rule:admin_required"},
	{"identity:check_grant",
	 "(rule:admin_required) or ((role:reader and system_scope:all) or ((role:reader "
	 "and domain_id:%(target.user.domain_id)s and "
	 "domain_id:%(target.project.domain_id)s) or (role:reader and "
	 "domain_id:%(target.user.domain_id)s and domain_id:%(target.domain.id)s) or "
	 "(role:reader and domain_id:%(target.group.domain_id)s and "
	 "domain_id:%(target.project.domain_id)s) or (role:reader and "
	 "domain_id:%(target.group.domain_id)s and domain_id:%(target.domain.id)s)) and "
	 "(domain_id:%(target.role.domain_id)s or None:%(target.role.domain_id)s))"},
	{"identity:list_grants",
	 "(rule:admin_required) or ((role:reader and system_scope:all) or (role:reader "
	 "and domain_id:%(target.user.domain_id)s and "
	 "domain_id:%(target.project.domain_id)s) or (role:reader and "
	 "domain_id:%(target.user.domain_id)s and domain_id:%(target.domain.id)s) or "
	 "(role:reader and domain_id:%(target.group.domain_id)s and "
	 "domain_id:%(target.project.domain_id)s) or (role:reader and "
	 "domain_id:%(target.group.domain_id)s and domain_id:%(target.domain.id)s))"},
	{"identity:create_grant",
	 "(rule:admin_required) or ((role:admin and domain_id:%(target.user.domain_id)s "
	 "and domain_id:%(target.project.domain_id)s) or (role:admin and "
	 "domain_id:%(target.user.domain_id)s and domain_id:%(target.domain.id)s) or "
	 "(role:admin and domain_id:%(target.group.domain_id)s and "
	 "domain_id:%(target.project.domain_id)s) or (role:admin and "
	 "domain_id:%(target.group.domain_id)s and domain_id:%(target.domain.id)s)) and "
	 "(domain_id:%(target.role.domain_id)s or None:%(target.role.domain_id)s)"},
	{"identity:revoke_grant",
	 "(rule:admin_required) or ((role:admin and domain_id:%(target.user.domain_id)s "
	 "and domain_id:%(target.project.domain_id)s) or (role:admin and "
	 "domain_id:%(target.user.domain_id)s and domain_id:%(target.domain.id)s) or "
	 "(role:admin and domain_id:%(target.group.domain_id)s and "
	 "domain_id:%(target.project.domain_id)s) or (role:admin and "
	 "domain_id:%(target.group.domain_id)s and domain_id:%(target.domain.id)s)) and "
	 "(domain_id:%(target.role.domain_id)s or None:%(target.role.domain_id)s)"},
	{"identity:list_system_grants_for_user",
	 "rule:admin_required or (role:reader and system_scope:all)"},
	{"identity:check_system_grant_for_user",
	 "rule:admin_required or (role:reader and system_scope:all)"},
	{"identity:create_system_grant_for_user", "rule:admin_required"},
	{"identity:revoke_system_grant_for_user", "rule:admin_required"},
	{"identity:list_system_grants_for_group",
	 "rule:admin_required or (role:reader and system_scope:all)"},
	{"identity:check_system_grant_for_group",
	 "rule:admin_required or (role:reader and system_scope:all)"},
	{"identity:create_system_grant_for_group", "rule:admin_required"},
	{"identity:revoke_system_grant_for_group", "rule:admin_required"},
	{"identity:get_group",
	 "(rule:admin_required) or (role:reader and system_scope:all) or (role:reader "
	 "and domain_id:%(target.group.domain_id)s)"},
	{"identity:list_groups",
	 "(rule:admin_required) or (role:reader and system_scope:all) or (role:reader "
	 "and domain_id:%(target.group.domain_id)s)"},
	{"identity:list_groups_for_user",
	 "((rule:admin_required) or (role:reader and system_scope:all) or (role:reader "
	 "and domain_id:%(target.user.domain_id)s) or user_id:%(user_id)s) or "
	 "(rule:admin_or_owner)"},
	{"identity:create_group", "rule:admin_required"},
	{"identity:update_group", "rule:admin_required"},
	{"identity:delete_group", "rule:admin_required"},
	{"identity:list_users_in_group",
	 "(rule:admin_required) or (role:reader and system_scope:all) or (role:reader "
	 "and domain_id:%(target.group.domain_id)s)"},
	{"identity:remove_user_from_group", "rule:admin_required"},
	{"identity:check_user_in_group",
	 "(rule:admin_required) or (role:reader and system_scope:all) or (role:reader "
	 "and domain_id:%(target.group.domain_id)s and "
	 "domain_id:%(target.user.domain_id)s)"},
	{"identity:add_user_to_group", "rule:admin_required"},
	{"identity:get_implied_role",
	 "rule:admin_required or (role:reader and system_scope:all)"},
	{"identity:list_implied_roles",
	 "rule:admin_required or (role:reader and system_scope:all)"},
	{"identity:create_implied_role", "rule:admin_required"},
	{"identity:delete_implied_role", "rule:admin_required"},
	{"identity:list_role_inference_rules",
	 "rule:admin_required or (role:reader and system_scope:all)"},
	{"identity:check_implied_role",
	 "rule:admin_required or (role:reader and system_scope:all)"},
	{"identity:list_policies", "rule:admin_required or (role:reader and system_scope:all)"},
	{"identity:get_project",
	 "((role:reader and system_scope:all) or (role:reader and "
	 "domain_id:%(target.project.domain_id)s) or project_id:%(target.project.id)s) "
	 "or (rule:admin_required or project_id:%(target.project.id)s)"},
	{"identity:list_projects",
	 "(rule:admin_required) or (role:reader and system_scope:all) or (role:reader "
	 "and domain_id:%(target.domain_id)s)"},
	{"identity:list_user_projects",
	 "((rule:admin_required) or (role:reader and system_scope:all) or (role:reader "
	 "and domain_id:%(target.user.domain_id)s) or user_id:%(target.user.id)s) or "
	 "(rule:admin_or_owner)"},
	{"identity:create_project", "rule:admin_required"},
	{"identity:update_project", "rule:admin_required"},
	{"identity:delete_project", "rule:admin_required"},
	{"identity:add_endpoint_to_project", "rule:admin_required"},
	{"identity:remove_endpoint_from_project", "rule:admin_required"},
	{"identity:get_region", ""},
	{"identity:list_regions", ""},
	{"identity:create_region", "rule:admin_required"},
	{"identity:update_region", "rule:admin_required"},
	{"identity:delete_region", "rule:admin_required"},
	{"identity:get_role", "rule:admin_required or (role:reader and system_scope:all)"},
	{"identity:list_roles", "rule:admin_required or (role:reader and system_scope:all)"},
	{"identity:create_role", "rule:admin_required"},
	{"identity:update_role", "rule:admin_required"},
	{"identity:delete_role", "rule:admin_required"},
	{"identity:list_role_assignments",
	 "(rule:admin_required) or (role:reader and system_scope:all) or (role:reader "
	 "and domain_id:%(target.domain_id)s and not None:%(target.domain_id)s)"},
	{"identity:get_service", "rule:admin_required or (role:reader and system_scope:all)"},
	{"identity:list_services", "rule:admin_required or (role:reader and system_scope:all)"},
	{"identity:create_service", "rule:admin_required"},
	{"identity:update_service", "rule:admin_required"},
	{"identity:delete_service", "rule:admin_required"},
	{"identity:check_token",
	 "(rule:admin_required or (role:reader and system_scope:all) or "
	 "rule:token_subject) or (rule:admin_or_token_subject)"},
	{"identity:validate_token",
	 "(rule:admin_required or (role:reader and system_scope:all) or "
	 "rule:service_role or rule:token_subject) or "
	 "(rule:service_admin_or_token_subject)"},
	{"identity:revoke_token",
	 "(rule:admin_required or rule:token_subject) or (rule:admin_or_token_subject)"},
	{"identity:get_user",
	 "((rule:admin_required) or (role:reader and system_scope:all) or (role:reader "
	 "and token.domain.id:%(target.user.domain_id)s) or user_id:%(target.user.id)s) "
	 "or (rule:admin_or_owner)"},
	{"identity:list_users",
	 "(rule:admin_required) or (role:reader and system_scope:all) or (role:reader "
	 "and domain_id:%(target.domain_id)s)"},
	{"identity:list_projects_for_user", ""},
	{"identity:list_domains_for_user", ""},
	{"identity:create_user", "rule:admin_required"},
	{"identity:update_user", "rule:admin_required"},
	{"identity:delete_user", "rule:admin_required"},
};

const size_t identity__n_policy_rules = sizeof(identity__policy_rules) /
					sizeof(identity__policy_rules[0]);
