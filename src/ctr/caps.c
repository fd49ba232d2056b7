#include "ctr/caps.h"
#include "ctr/config.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *const cap_names[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};

int caps__from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (!strcasecmp(name, cap_names[i]))
			return (int)i;
	return -1;
}

const char *caps__name(int cap)
{
	if (cap < 0 || cap >= (int)(sizeof(cap_names) / sizeof(cap_names[0])))
		return NULL;
	return cap_names[cap];
}

int caps__last_cap(void)
{
	static int last = -1;
	if (last >= 0)
		return last;
	char buf[16] = {0};
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	last = 40;
	if (f) {
		if (fgets(buf, sizeof(buf), f))
			last = atoi(buf);
		fclose(f);
	}
	return last;
}

int caps__drop_bounding(const uint64_t *caps, struct st_err *err)
{
	int last = caps__last_cap();
	for (int c = 0; c <= last && c < 64; c++) {
		if (caps[CAPSET_BOUNDING] & (1ull << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return err__fail_errno(err, "drop %s from the bounding set",
					     caps__name(c) ? caps__name(c) : "capability");
	}
	return 0;
}

int caps__check_grantable(const uint64_t *caps, struct st_err *err)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data) < 0)
		return err__fail_errno(err, "capget");
	uint64_t have = data[0].permitted | (uint64_t)data[1].permitted << 32;
	uint64_t want = caps[CAPSET_EFFECTIVE] | caps[CAPSET_PERMITTED] | caps[CAPSET_INHERITABLE];
	for (int c = 0; c < 64; c++)
		if ((want & ~have) & (1ull << c))
			return err__fail(err, EPERM,
				       "process.capabilities: %s cannot be granted: the runtime does not hold it "
				       "(not in its bounding set)", caps__name(c) ? caps__name(c) : "capability");
	return 0;
}

int caps__apply(const uint64_t *caps, struct st_err *err)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(caps[CAPSET_EFFECTIVE] >> (32 * i));
		data[i].permitted = (uint32_t)(caps[CAPSET_PERMITTED] >> (32 * i));
		data[i].inheritable = (uint32_t)(caps[CAPSET_INHERITABLE] >> (32 * i));
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return err__fail_errno(err, "capset");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return err__fail_errno(err, "clear ambient capabilities");
	/* The kernel only raises an ambient capability that is also permitted and
	 * inheritable; bundles (runc's default among them) often list it without
	 * the inheritable one, and runc skips those: so do we. */
	for (int c = 0; c < 64; c++)
		if ((caps[CAPSET_AMBIENT] & (1ull << c)) &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0 && errno != EPERM)
			return err__fail_errno(err, "raise ambient %s", caps__name(c) ? caps__name(c) : "?");
	return 0;
}
