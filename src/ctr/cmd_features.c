/* features: what this runtime supports (runtime-spec features.md). */
#include "ctr/ctr_cmd.h"

static int cmd_features(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err)
{
	(void)g;
	int r = ctr_cmd__no_options(argc, argv, false, err);
	if (r < 0)
		return r;
	puts("{\n"
	     "  \"ociVersionMin\": \"1.0.0\",\n"
	     "  \"ociVersionMax\": \"1.1.0\",\n"
	     "  \"hooks\": [\"prestart\", \"createRuntime\", \"createContainer\", \"startContainer\", "
	     "\"poststart\", \"poststop\"],\n"
	     "  \"mountOptions\": [\"ro\", \"rw\", \"nosuid\", \"suid\", \"nodev\", \"dev\", \"noexec\", "
	     "\"exec\", \"bind\", \"rbind\", \"private\", \"rprivate\", \"shared\", \"rshared\", "
	     "\"slave\", \"rslave\", \"relatime\", \"noatime\", \"strictatime\"],\n"
	     "  \"linux\": {\n"
	     "    \"namespaces\": [\"cgroup\", \"ipc\", \"mount\", \"network\", \"pid\", \"user\", \"uts\"],\n"
	     "    \"cgroup\": {\"v1\": true, \"v2\": true, \"systemd\": false},\n"
	     "    \"seccomp\": {\"enabled\": true}\n"
	     "  }\n"
	     "}");
	return 0;
}

const struct ctr_cmd ctr_cmd__features = {"features", cmd_features};
