/* Nova's policy rules with their default check strings (Nova 26, Zed), in
 * the policy engine every service shares (cloud/policy/policy.h): the
 * daemon adds compute_policy__rules to it with policy__add_defaults, so an
 * operator's `serve --policy-file` overrides compute's rules as it does
 * identity's. The logic asks by rule name. */
#ifndef STRATA_CLOUD_COMPUTE_POLICY_H
#define STRATA_CLOUD_COMPUTE_POLICY_H

#include <stddef.h>

#include "common/err.h"
#include "cloud/compute/compute.h"
#include "cloud/policy/policy.h"

/* Nova's base rules (context_is_admin, project_reader_api, ...) and every
 * os_compute_api rule the compute service checks. */
extern const struct policy_rule compute_policy__rules[];
extern const size_t compute_policy__n_rules;

/* 0 when c's policy allows rule for a target owned by owner (NULL: the
 * caller's own): the target is {"project_id": owner, "user_id": owner}, so
 * rules read a project id, or for the keypairs a user id. EPERM with Nova's
 * "Policy doesn't allow RULE to be performed." otherwise. A caller without
 * a policy (the service's own work, never a request) passes. */
int compute_policy__check(const struct compute_caller *c, const char *rule, const char *owner,
			  struct st_err *err);

#endif
