#include "vm/options.h"
#include "vm/sandbox.h"
#include "common/log.h"
#include "common/util.h"
#include "vm/cpuid.h"
#include "vm/hw/legacy.h"
#include "vm/vm.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void options__usage(void)
{
	printf(
"Usage: strata-vm --kernel FILE [options]\n"
"Runs one KVM guest: a Linux kernel (bzImage, or ELF vmlinux with a PVH note or\n"
"a 64-bit entry) or a freestanding test program (PVH ELF).\n"
"\n"
"  -k, --kernel FILE        kernel to boot\n"
"  -i, --initrd FILE        initial ramdisk\n"
"  -a, --cmdline STRING     kernel command line\n"
"  -c, --cpus N             number of vCPUs (default 1)\n"
"  -m, --memory SIZE        guest RAM, MiB unless suffixed K/M/G (default 256)\n"
"      --mem-prealloc       back all of guest RAM at start-up (and again after a reboot):\n"
"                           no host page faults while the guest runs; fails if the host\n"
"                           cannot\n"
"      --rtc-base BASE      the CMOS clock: utc (default), localtime, or a start time\n"
"                           YYYY-MM-DD[THH:MM:SS] (UTC) from which it runs; a time the\n"
"                           guest writes moves it (as QEMU's -rtc base=)\n"
"      --seccomp MODE       on (default): once set up, strata-vm and its threads may make\n"
"                           only the system calls a VMM needs, a refused one ends it with\n"
"                           one line naming it; log: allow and let the kernel log them; off\n"
"      --console SPEC       stdio (default), socket:PATH, file:PATH or none\n"
"      --control PATH       unix socket for JSON control commands\n"
"      --cpu-template NAME  host (all KVM supports) or nested\n"
"      --cpu-features LIST  +name/-name list applied to the CPU model; 'help' lists names\n"
"      --host-profile P     auto (default), native or nested: nested applies the CPU\n"
"                           template and kernel options a software-assisted nested KVM\n"
"                           needs (docs/nested-kvm.md)\n"
"      --unpack-kernel[=yes|no]  decompress a bzImage's payload on the host\n"
"                           (default: yes under the nested profile)\n"
"      --on-reboot ACTION   exit (default, status 3) or restart\n"
"      --kvm-device PATH    KVM device (default /dev/kvm)\n"
"      --disk PATH[,ro][,serial=S][,id=ID][,queues=N][,format=raw|qcow2]  a virtio-blk disk\n"
"                           (format probed when not given)\n"
"                           (repeatable, up to 8)\n"
"      --net tap=NAME|fd=N[,mac=MAC]  a virtio-net NIC on a tap device, opened by\n"
"                           name or inherited (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR); repeatable\n"
"      --rng                a virtio-rng device fed by getrandom()\n"
"      --vconsole SPEC      a virtio-console (hvc0): stdio (output only), file:PATH\n"
"                           or socket:PATH (one client: output and input)\n"
"      --balloon            a virtio-balloon (control: balloon-set, balloon-stats)\n"
"      --vsock cid=N,uds=PATH  a virtio-vsock: the guest reaches host port P at the unix\n"
"                           socket PATH_P; host clients connect to PATH, send\n"
"                           \"CONNECT P\\n\" and read \"OK <port>\\n\"\n"
"      --fw-cfg name=opt/X,file=F|string=S  an item of the fw_cfg device (ports\n"
"                           0x510-0x51b, QEMU's -fw_cfg); repeatable, names under opt/\n"
"      --virtio-rings split|packed  virtqueue layouts offered to drivers: split\n"
"                           (default) or packed as well (VIRTIO_F_RING_PACKED)\n"
"  -v, --verbose            say what strata-vm does (the final kernel command line\n"
"                           among it); STRATA_LOG=debug says more\n"
"  -h, --help               this help\n"
"  -V, --version            version\n"
"\n"
"Exit status: 0 guest powered off, 1 bad usage or setup error, 2 guest crashed,\n"
"3 guest rebooted, or the value a test guest wrote to the debug-exit port 0xf4.\n");
}

enum { OPT_CONSOLE = 256, OPT_CONTROL, OPT_TEMPLATE, OPT_FEATURES, OPT_PROFILE, OPT_UNPACK,
       OPT_REBOOT, OPT_KVM, OPT_DISK, OPT_RNG, OPT_VCONSOLE, OPT_BALLOON, OPT_NET, OPT_VSOCK,
       OPT_RINGS, OPT_PREALLOC, OPT_RTC_BASE, OPT_SECCOMP, OPT_FW_CFG };

int options__parse(int argc, char **argv, struct vm_config *cfg, struct st_err *err)
{
	static const struct option longopts[] = {
		{"kernel", required_argument, NULL, 'k'},
		{"initrd", required_argument, NULL, 'i'},
		{"cmdline", required_argument, NULL, 'a'},
		{"cpus", required_argument, NULL, 'c'},
		{"memory", required_argument, NULL, 'm'},
		{"console", required_argument, NULL, OPT_CONSOLE},
		{"control", required_argument, NULL, OPT_CONTROL},
		{"cpu-template", required_argument, NULL, OPT_TEMPLATE},
		{"cpu-features", required_argument, NULL, OPT_FEATURES},
		{"host-profile", required_argument, NULL, OPT_PROFILE},
		{"unpack-kernel", optional_argument, NULL, OPT_UNPACK},
		{"on-reboot", required_argument, NULL, OPT_REBOOT},
		{"kvm-device", required_argument, NULL, OPT_KVM},
		{"disk", required_argument, NULL, OPT_DISK},
		{"rng", no_argument, NULL, OPT_RNG},
		{"vconsole", required_argument, NULL, OPT_VCONSOLE},
		{"balloon", no_argument, NULL, OPT_BALLOON},
		{"net", required_argument, NULL, OPT_NET},
		{"vsock", required_argument, NULL, OPT_VSOCK},
		{"virtio-rings", required_argument, NULL, OPT_RINGS},
		{"mem-prealloc", no_argument, NULL, OPT_PREALLOC},
		{"rtc-base", required_argument, NULL, OPT_RTC_BASE},
		{"seccomp", required_argument, NULL, OPT_SECCOMP},
		{"fw-cfg", required_argument, NULL, OPT_FW_CFG},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	*cfg = (struct vm_config){.cmdline = "", .cpus = 1, .mem_bytes = 256ull << 20,
				  .console = "stdio", .unpack_kernel = -1,
				  .kvm_device = "/dev/kvm"};
	uint64_t v;
	int opt;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":k:i:a:c:m:vhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'k': cfg->kernel = optarg; break;
		case 'i': cfg->initrd = optarg; break;
		case 'a': cfg->cmdline = optarg; break;
		case 'v': cfg->verbose = true; break;
		case 'c':
			if (util__parse_u64(optarg, 1u << 20, &v, err) < 0)
				return err__prefix(err, "--cpus");
			cfg->cpus = (unsigned)v;
			break;
		case 'm':
			if (util__parse_size(optarg, 1ull << 20, &cfg->mem_bytes, err) < 0)
				return err__prefix(err, "--memory");
			break;
		case OPT_CONSOLE: cfg->console = optarg; break;
		case OPT_CONTROL: cfg->control = optarg; break;
		case OPT_TEMPLATE: cfg->cpu_template = optarg; break;
		case OPT_FEATURES:
			if (!strcmp(optarg, "help")) {
				cpuid__print_features();
				return 1;
			}
			cfg->cpu_features = optarg;
			break;
		case OPT_PROFILE:
			if (!strcmp(optarg, "auto")) cfg->profile = HOST_PROFILE_AUTO;
			else if (!strcmp(optarg, "native")) cfg->profile = HOST_PROFILE_NATIVE;
			else if (!strcmp(optarg, "nested")) cfg->profile = HOST_PROFILE_NESTED;
			else return err__fail(err, 0, "--host-profile: '%s' is not auto, native or nested", optarg);
			break;
		case OPT_UNPACK:
			if (!optarg || !strcmp(optarg, "yes")) cfg->unpack_kernel = 1;
			else if (!strcmp(optarg, "no")) cfg->unpack_kernel = 0;
			else return err__fail(err, 0, "--unpack-kernel: '%s' is not yes or no", optarg);
			break;
		case OPT_REBOOT:
			if (!strcmp(optarg, "exit")) cfg->reboot_restart = false;
			else if (!strcmp(optarg, "restart")) cfg->reboot_restart = true;
			else return err__fail(err, 0, "--on-reboot: '%s' is not exit or restart", optarg);
			break;
		case OPT_KVM: cfg->kvm_device = optarg; break;
		case OPT_DISK:
			if (cfg->nr_disks == VM_MAX_DISKS)
				return err__fail(err, 0, "--disk: at most %d disks", VM_MAX_DISKS);
			cfg->disks[cfg->nr_disks++] = optarg;
			break;
		case OPT_FW_CFG:
			if (cfg->nr_fw_cfg == FW_CFG_USER_MAX)
				return err__fail(err, 0, "--fw-cfg: at most %d items", FW_CFG_USER_MAX);
			if (fw_cfg__parse_user(optarg, &cfg->fw_cfg[cfg->nr_fw_cfg], err) < 0)
				return -1;
			for (unsigned i = 0; i < cfg->nr_fw_cfg; i++)
				if (!strcmp(cfg->fw_cfg[i].name, cfg->fw_cfg[cfg->nr_fw_cfg].name))
					return err__fail(err, 0, "--fw-cfg: %s given twice", cfg->fw_cfg[i].name);
			cfg->nr_fw_cfg++;
			break;
		case OPT_RNG: cfg->rng = true; break;
		case OPT_VCONSOLE: cfg->vconsole = optarg; break;
		case OPT_BALLOON: cfg->balloon = true; break;
		case OPT_PREALLOC: cfg->mem_prealloc = true; break;
		case OPT_RTC_BASE:
			if (rtc__parse_base(optarg, &cfg->rtc_base, err) < 0)
				return -1;
			break;
		case OPT_VSOCK: cfg->vsock = optarg; break;
		case OPT_RINGS:
			if (!strcmp(optarg, "split") || !strcmp(optarg, "packed"))
				cfg->virtio_packed = !strcmp(optarg, "packed");
			else
				return err__fail(err, 0, "--virtio-rings: '%s' is not split or packed", optarg);
			break;
		case OPT_NET:
			if (cfg->nr_nets == VM_MAX_DISKS)
				return err__fail(err, 0, "--net: at most %d NICs", VM_MAX_DISKS);
			cfg->nets[cfg->nr_nets++] = optarg;
			break;
		case OPT_SECCOMP:
			if (sandbox__parse(optarg, &cfg->seccomp, err) < 0)
				return -1;
			break;
		case 'h': options__usage(); return 1;
		case 'V': printf("strata-vm %s\n", STRATA_VERSION); return 1;
		case ':': return err__fail(err, 0, "option %s needs a value", argv[optind - 1]);
		default:
			return err__fail(err, 0, "unknown option %s (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return err__fail(err, 0, "unexpected argument '%s' (see --help)", argv[optind]);
	if (!cfg->kernel)
		return err__fail(err, 0, "no kernel given (--kernel FILE; see --help)");
	if (cfg->cpus == 0)
		return err__fail(err, 0, "--cpus must be at least 1");
	if (cfg->cpus > VM_MAX_CPUS)
		return err__fail(err, 0, "too many vCPUs: %u (strata-vm supports at most %d)", cfg->cpus,
			       VM_MAX_CPUS);
	const uint64_t min_mem = 8ull << 20;
	uint64_t host_mem = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
	if (cfg->mem_bytes < min_mem)
		return err__fail(err, 0, "--memory of %llu KiB is too small (at least 8 MiB)",
			       (unsigned long long)(cfg->mem_bytes >> 10));
	if (cfg->mem_bytes > host_mem)
		return err__fail(err, 0, "--memory of %llu MiB exceeds this host's %llu MiB of RAM",
			       (unsigned long long)(cfg->mem_bytes >> 20),
			       (unsigned long long)(host_mem >> 20));
	if (cfg->mem_bytes & ((1ull << 20) - 1))
		return err__fail(err, 0, "--memory must be a whole number of MiB");
	const char *level = getenv("STRATA_LOG");
	if (cfg->verbose && !(level && !strcmp(level, "debug")))
		log__set_level(ST_LOG_INFO);
	return 0;
}
