#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "ctr/caps.h"
#include "ctr/config.h"
#include "ctr/state.h"

static struct ctr_config *parse_ok(const char *text)
{
	struct ctr_config *cfg = NULL;
	struct st_err err = {0};
	int r = config__parse(text, strlen(text), &cfg, &err);
	if (r < 0)
		fail_msg("unexpected parse error: %s", err.msg);
	return cfg;
}

static void parse_fails(const char *text, const char *needle)
{
	struct ctr_config *cfg = NULL;
	struct st_err err = {0};
	assert_int_equal(config__parse(text, strlen(text), &cfg, &err), -1);
	assert_null(cfg);
	if (!strstr(err.msg, needle))
		fail_msg("error '%s' does not mention '%s'", err.msg, needle);
}

#define MIN "\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"/bin/true\"]"

static void minimal_config(void **state)
{
	(void)state;
	struct ctr_config *cfg = parse_ok("{" MIN "}}");
	assert_string_equal(cfg->root_path, "rootfs");
	assert_false(cfg->root_readonly);
	assert_string_equal(cfg->process.args[0], "/bin/true");
	assert_null(cfg->process.args[1]);
	assert_string_equal(cfg->process.cwd, "/");
	assert_int_equal(cfg->process.umask, -1);
	assert_int_equal(cfg->n_ns, 0);
	config__free(cfg);
}

static void full_config(void **state)
{
	(void)state;
	struct ctr_config *cfg = parse_ok(
		"{" MIN ",\"user\":{\"uid\":1000,\"gid\":100,\"additionalGids\":[5,6],\"umask\":18},"
		"\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_SYS_ADMIN\"],\"ambient\":[\"CAP_KILL\"]},"
		"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":20}],\"noNewPrivileges\":true,"
		"\"oomScoreAdj\":-5},"
		"\"hostname\":\"h\",\"mounts\":[{\"destination\":\"/data\",\"source\":\"/srv\",\"type\":\"bind\","
		"\"options\":[\"rbind\",\"ro\",\"rslave\",\"mode=755\"]},"
		"{\"destination\":\"/tmp\",\"type\":\"tmpfs\",\"options\":[\"nosuid\",\"size=1m\"]}],"
		"\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"uts\"},{\"type\":\"network\","
		"\"path\":\"/proc/1/ns/net\"},{\"type\":\"user\"}],"
		"\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],"
		"\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],"
		"\"resources\":{\"memory\":{\"limit\":1048576,\"swap\":-1},\"pids\":{\"limit\":9},"
		"\"cpu\":{\"quota\":5000,\"period\":10000,\"cpus\":\"0\"},"
		"\"devices\":[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3}]},"
		"\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},\"maskedPaths\":[\"/proc/kcore\"],"
		"\"rootfsPropagation\":\"rprivate\"},"
		"\"hooks\":{\"poststop\":[{\"path\":\"/bin/hook\",\"timeout\":3}]}}");
	const struct ctr_process *p = &cfg->process;
	assert_int_equal(p->uid, 1000);
	assert_int_equal(p->gid, 100);
	assert_int_equal(p->n_additional_gids, 2);
	assert_int_equal(p->umask, 18);
	assert_true(p->caps[CAPSET_BOUNDING] == ((1ull << 5) | (1ull << 21)));
	assert_true(p->caps[CAPSET_AMBIENT] == (1ull << 5));
	assert_int_equal(p->n_rlimits, 1);
	assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
	assert_true(p->no_new_privs);
	assert_int_equal(p->oom_score_adj, -5);
	assert_int_equal(cfg->n_mounts, 2);
	assert_true(cfg->mounts[0].bind && (cfg->mounts[0].flags & MS_REC) && (cfg->mounts[0].flags & MS_RDONLY));
	assert_true(cfg->mounts[0].readonly_remount);
	assert_true(cfg->mounts[0].propagation == (MS_SLAVE | MS_REC));
	assert_string_equal(cfg->mounts[0].data, "mode=755");
	assert_string_equal(cfg->mounts[1].data, "size=1m");
	assert_true(cfg->mounts[1].flags & MS_NOSUID);
	assert_int_equal(cfg->ns_flags, CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWUSER);
	assert_string_equal(cfg->ns[2].path, "/proc/1/ns/net");
	assert_true(cfg->res.set & RES_MEM_LIMIT);
	assert_int_equal(cfg->res.mem_limit, 1048576);
	assert_int_equal(cfg->res.mem_swap, -1);
	assert_int_equal(cfg->res.pids_limit, 9);
	assert_int_equal(cfg->res.cpu_quota, 5000);
	assert_string_equal(cfg->res.cpus, "0");
	assert_int_equal(cfg->res.n_devices, 2);
	assert_int_equal(cfg->res.devices[1].major, 1);
	assert_false(cfg->res.devices[0].allow);
	assert_string_equal(cfg->sysctl[0], "net.ipv4.ip_forward");
	assert_true(cfg->rootfs_propagation == (MS_PRIVATE | MS_REC));
	assert_int_equal(cfg->hooks.n[HOOK_POSTSTOP], 1);
	assert_int_equal(cfg->hooks.list[HOOK_POSTSTOP][0].timeout, 3);
	assert_string_equal(cfg->hooks.list[HOOK_POSTSTOP][0].argv[0], "/bin/hook");
	config__free(cfg);
}

static void rejects_bad_configs(void **state)
{
	(void)state;
	parse_fails("{", "malformed JSON");
	parse_fails("[]", "JSON object");
	parse_fails("{\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"x\"]}}", "ociVersion");
	parse_fails("{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[]}}", "process.args");
	parse_fails("{" MIN "},\"linux\":{\"namespaces\":[{\"type\":\"bogus\"}]}}", "unknown namespace");
	parse_fails("{" MIN "},\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}}", "duplicate");
	parse_fails("{" MIN ",\"user\":{\"uid\":-1}}}", "process.user.uid");
	parse_fails("{" MIN ",\"capabilities\":{\"bounding\":[\"CAP_FLY\"]}}}", "CAP_FLY");
	parse_fails("{" MIN ",\"rlimits\":[{\"type\":\"RLIMIT_FOO\",\"soft\":1,\"hard\":1}]}}", "RLIMIT_FOO");
	parse_fails("{" MIN "},\"linux\":{\"namespaces\":[{\"type\":\"user\"}]}}", "uidMappings");
	parse_fails("{" MIN "},\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":0,\"size\":1}]}}",
		    "user namespace");
	parse_fails("{" MIN "},\"mounts\":[{\"destination\":\"rel\",\"type\":\"tmpfs\"}]}", "absolute");
	parse_fails("{" MIN "},\"hostname\":\"h\"}", "uts");
	parse_fails("{" MIN "},\"linux\":{\"sysctl\":{\"../x\":\"1\"}}}", "sysctl");
	parse_fails("{" MIN "},\"linux\":{\"resources\":{\"devices\":[{\"allow\":true,\"type\":\"z\"}]}}}", "type");
	parse_fails("{" MIN "},\"process\":{}}", "duplicate object key");
}

static void network_hugepages_kernel_tcp_and_device_modes(void **state)
{
	(void)state;
	struct ctr_config *cfg = parse_ok(
		"{" MIN "},\"linux\":{\"namespaces\":[{\"type\":\"uts\",\"path\":\"/proc/1/ns/uts\"}],"
		"\"devices\":[{\"path\":\"/dev/n\",\"type\":\"c\",\"major\":1,\"minor\":3,\"fileMode\":8630}],"
		"\"resources\":{\"memory\":{\"kernelTCP\":4096},"
		"\"network\":{\"classID\":1048577,\"priorities\":[{\"name\":\"eth0\",\"priority\":5}]},"
		"\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":8388608}]}},\"hostname\":\"h\"}");
	assert_int_equal(cfg->devices[0].mode, 0666); /* 0o20666: type bits dropped */
	assert_true(cfg->res.set & RES_MEM_KERNEL_TCP);
	assert_int_equal(cfg->res.mem_kernel_tcp, 4096);
	assert_true(cfg->res.set & RES_NET_CLASSID);
	assert_int_equal(cfg->res.net_classid, 1048577);
	assert_int_equal(cfg->res.n_net_prio, 1);
	assert_string_equal(cfg->res.net_prio[0].name, "eth0");
	assert_int_equal(cfg->res.net_prio[0].priority, 5);
	assert_int_equal(cfg->res.n_hugepages, 1);
	assert_string_equal(cfg->res.hugepages[0].page_size, "2MB");
	assert_int_equal(cfg->res.hugepages[0].limit, 8388608);
	assert_true(cfg->has_resources_limits);
	assert_true(config__has_ns(cfg, CLONE_NEWUTS));
	assert_false(config__has_ns(cfg, CLONE_NEWPID));
	config__free(cfg);
	parse_fails("{" MIN "},\"linux\":{\"resources\":{\"hugepageLimits\":[{\"pageSize\":\"2XB\",\"limit\":1}]}}}",
		    "pageSize");
	parse_fails("{" MIN "},\"linux\":{\"resources\":{\"network\":{\"priorities\":[{\"name\":\"a b\",\"priority\":1}]}}}}",
		    "priorities");
	parse_fails("{" MIN "},\"linux\":{\"devices\":[{\"path\":\"/dev/n\",\"type\":\"c\",\"fileMode\":65536}]}}",
		    "fileMode");
}

static void capability_names(void **state)
{
	(void)state;
	assert_int_equal(caps__from_name("CAP_SYS_ADMIN"), 21);
	assert_int_equal(caps__from_name("cap_chown"), 0);
	assert_int_equal(caps__from_name("CAP_NOPE"), -1);
	assert_string_equal(caps__name(40), "CAP_CHECKPOINT_RESTORE");
}

static void container_ids(void **state)
{
	(void)state;
	struct st_err err = {0};
	assert_int_equal(state__check_id("abc-1.2_x+y", &err), 0);
	assert_int_equal(state__check_id("", &err), -1);
	assert_int_equal(state__check_id("..", &err), -1);
	assert_int_equal(state__check_id("a/b", &err), -1);
	assert_int_equal(state__check_id("a b", &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(minimal_config),    cmocka_unit_test(full_config),
		cmocka_unit_test(rejects_bad_configs), cmocka_unit_test(capability_names),
		cmocka_unit_test(container_ids),
		cmocka_unit_test(network_hugepages_kernel_tcp_and_device_modes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
