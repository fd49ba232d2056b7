#include "ctr/seccomp_profile.h"
#include "common/log.h"

#include <errno.h>
#include <seccomp.h>
#include <string.h>

static int parse_action(const char *name, json_t *errno_ret, uint32_t default_errno, uint32_t *out,
			struct st_err *err)
{
	uint32_t e = errno_ret && json_is_integer(errno_ret) ? (uint32_t)json_integer_value(errno_ret)
							     : default_errno;
	if (!name)
		return err__fail(err, 0, "linux.seccomp: missing action");
	if (!strcmp(name, "SCMP_ACT_ALLOW"))
		*out = SCMP_ACT_ALLOW;
	else if (!strcmp(name, "SCMP_ACT_ERRNO"))
		*out = SCMP_ACT_ERRNO(e);
	else if (!strcmp(name, "SCMP_ACT_KILL") || !strcmp(name, "SCMP_ACT_KILL_THREAD"))
		*out = SCMP_ACT_KILL_THREAD;
	else if (!strcmp(name, "SCMP_ACT_KILL_PROCESS"))
		*out = SCMP_ACT_KILL_PROCESS;
	else if (!strcmp(name, "SCMP_ACT_TRAP"))
		*out = SCMP_ACT_TRAP;
	else if (!strcmp(name, "SCMP_ACT_TRACE"))
		*out = SCMP_ACT_TRACE(e);
	else if (!strcmp(name, "SCMP_ACT_LOG"))
		*out = SCMP_ACT_LOG;
	else
		return err__fail(err, 0, "linux.seccomp: unsupported action %s", name);
	return 0;
}

static int parse_op(const char *op, enum scmp_compare *out)
{
	static const struct {
		const char *name;
		enum scmp_compare op;
	} ops[] = {{"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
		   {"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ},
		   {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
		   {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
	for (size_t i = 0; op && i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(op, ops[i].name)) {
			*out = ops[i].op;
			return 0;
		}
	return -1;
}

static int arch_token(const char *name)
{
	static const struct {
		const char *name;
		uint32_t arch;
	} archs[] = {{"SCMP_ARCH_X86", SCMP_ARCH_X86},       {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
		     {"SCMP_ARCH_X32", SCMP_ARCH_X32},       {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
		     {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64}, {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
		     {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},   {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64}};
	for (size_t i = 0; i < sizeof(archs) / sizeof(archs[0]); i++)
		if (!strcmp(name, archs[i].name))
			return (int)archs[i].arch;
	return 0;
}

static int add_rule(scmp_filter_ctx ctx, json_t *rule, uint32_t def_action, uint32_t def_errno,
		    size_t idx, struct st_err *err)
{
	json_t *names = json_object_get(rule, "names"), *args = json_object_get(rule, "args"), *n;
	uint32_t action;
	size_t i;
	if (!json_is_object(rule) || !json_is_array(names))
		return err__fail(err, 0, "linux.seccomp.syscalls[%zu] needs a names array", idx);
	if (parse_action(json_string_value(json_object_get(rule, "action")),
			 json_object_get(rule, "errnoRet"), def_errno, &action, err) < 0)
		return -1;
	if (action == def_action)
		return 0;
	struct scmp_arg_cmp cmp[6];
	unsigned ncmp = 0;
	if (args && !json_is_array(args))
		return err__fail(err, 0, "linux.seccomp.syscalls[%zu].args must be an array", idx);
	json_t *a;
	json_array_foreach(args, i, a) {
		enum scmp_compare op;
		json_t *index = json_object_get(a, "index");
		if (ncmp >= 6 || !json_is_integer(index) || json_integer_value(index) < 0 ||
		    json_integer_value(index) > 5 ||
		    parse_op(json_string_value(json_object_get(a, "op")), &op) < 0)
			return err__fail(err, 0, "linux.seccomp.syscalls[%zu].args[%zu] is malformed", idx, i);
		cmp[ncmp++] = (struct scmp_arg_cmp){
			.arg = (unsigned)json_integer_value(index), .op = op,
			.datum_a = (scmp_datum_t)json_integer_value(json_object_get(a, "value")),
			.datum_b = (scmp_datum_t)json_integer_value(json_object_get(a, "valueTwo"))};
	}
	json_array_foreach(names, i, n) {
		const char *name = json_string_value(n);
		if (!name)
			return err__fail(err, 0, "linux.seccomp.syscalls[%zu].names must be strings", idx);
		int nr = seccomp_syscall_resolve_name(name);
		if (nr == __NR_SCMP_ERROR) {
			log__debug("seccomp: unknown syscall %s ignored", name);
			continue;
		}
		int r = seccomp_rule_add_array(ctx, action, nr, ncmp, cmp);
		if (r < 0)
			return err__fail(err, -r, "linux.seccomp: rule for %s", name);
	}
	return 0;
}

int seccomp_profile__build(json_t *profile, void **out, struct st_err *err)
{
	uint32_t def_action, def_errno = EPERM;
	json_t *de = json_object_get(profile, "defaultErrnoRet");
	if (de && json_is_integer(de))
		def_errno = (uint32_t)json_integer_value(de);
	if (parse_action(json_string_value(json_object_get(profile, "defaultAction")), de, def_errno,
			 &def_action, err) < 0)
		return err__prefix(err, "defaultAction");
	scmp_filter_ctx ctx = seccomp_init(def_action);
	if (!ctx)
		return err__fail(err, 0, "seccomp_init failed");
	/* Loading happens before the uid switch where allowed; NNP only if asked. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	json_t *archs = json_object_get(profile, "architectures"), *a, *rule;
	size_t i;
	json_array_foreach(archs, i, a) {
		int arch = json_is_string(a) ? arch_token(json_string_value(a)) : 0;
		if (!arch) {
			seccomp_release(ctx);
			return err__fail(err, 0, "linux.seccomp: unknown architecture %s",
				       json_is_string(a) ? json_string_value(a) : "?");
		}
		int r = seccomp_arch_add(ctx, (uint32_t)arch);
		if (r < 0 && r != -EEXIST) {
			seccomp_release(ctx);
			return err__fail(err, -r, "linux.seccomp: add architecture %s", json_string_value(a));
		}
	}
	json_array_foreach(json_object_get(profile, "syscalls"), i, rule) {
		if (add_rule(ctx, rule, def_action, def_errno, i, err) < 0) {
			seccomp_release(ctx);
			return -1;
		}
	}
	*out = ctx;
	return 0;
}

int seccomp_profile__load(void *filter, struct st_err *err)
{
	int r = seccomp_load(filter);
	if (r < 0)
		return err__fail(err, -r, "load the seccomp filter");
	return 0;
}

void seccomp_profile__free(void *filter)
{
	if (filter)
		seccomp_release(filter);
}
