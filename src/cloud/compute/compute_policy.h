/* Nova's policy rules with their default check strings (Nova 26, Zed):
 * "os_compute_api:os-flavor-manage:create" is admin_api, and so on. The
 * logic asks by rule name, so that a policy file can later change a rule
 * without touching the callers. */
#ifndef STRATA_CLOUD_COMPUTE_POLICY_H
#define STRATA_CLOUD_COMPUTE_POLICY_H

#include "common/err.h"
#include "cloud/compute/compute.h"

/* 0 when the caller passes rule for a target of owner (NULL: the caller's
 * own): a project id, or for the keypairs' rules a user id; EPERM with
 * Nova's "Policy doesn't allow RULE to be performed." otherwise. An unknown
 * rule refuses (admins only). */
int compute_policy__check(const struct compute_caller *c, const char *rule, const char *owner,
			  struct st_err *err);

#endif
