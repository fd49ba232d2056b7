/* The host's CPUs, memory, disk and CPU model, read from /proc and statvfs. */
#include "host/host_resources.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/cleanup.h"

/* "Key: value" of /proc/meminfo in kB, or -1. */
static long long meminfo_kb(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "re");
	if (!f)
		return -1;
	char line[256];
	long long v = -1;
	size_t klen = strlen(key);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtoll(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The features as a sorted array of the flags line's words. */
static json_t *features_of(char *flags)
{
	char *words[1024];
	size_t n = 0;
	char *save = NULL;
	for (char *w = strtok_r(flags, " \t\n", &save); w && n < 1024; w = strtok_r(NULL, " \t\n", &save))
		words[n++] = w;
	qsort(words, n, sizeof(words[0]), cmp_str);
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(words[i]));
	return a;
}

/* The value after "key<tabs>: " in /proc/cpuinfo's line, or NULL. */
static char *cpuinfo_value(char *line, const char *key)
{
	size_t klen = strlen(key);
	if (strncmp(line, key, klen) || (line[klen] != '\t' && line[klen] != ' ' && line[klen] != ':'))
		return NULL;
	char *colon = strchr(line, ':');
	if (!colon)
		return NULL;
	char *v = colon + 1 + (colon[1] == ' ');
	v[strcspn(v, "\n")] = 0;
	return v;
}

/* The first CPU's vendor, model name and flags (x86's "flags", arm64's "Features"). */
static json_t *cpu_info(void)
{
	struct utsname u;
	json_t *info = json_object();
	if (uname(&u) == 0)
		json_object_set_new(info, "arch", json_string(u.machine));
	FILE *f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return info;
	cleanup_free char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		char *v;
		if (line[0] == '\n')
			break; /* the first processor's block ends */
		if ((v = cpuinfo_value(line, "vendor_id")))
			json_object_set_new(info, "vendor", json_string(v));
		else if ((v = cpuinfo_value(line, "model name")))
			json_object_set_new(info, "model", json_string(v));
		else if ((v = cpuinfo_value(line, "flags")) || (v = cpuinfo_value(line, "Features")))
			json_object_set_new(info, "features", features_of(v));
	}
	fclose(f);
	return info;
}

json_t *host_resources__get(const char *state_dir)
{
	json_t *r = json_object();
	char name[256];
	if (gethostname(name, sizeof(name)) == 0) {
		name[sizeof(name) - 1] = 0;
		json_object_set_new(r, "hostname", json_string(name));
	}
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus > 0)
		json_object_set_new(r, "vcpus", json_integer(cpus));
	long long total = meminfo_kb("MemTotal"), avail = meminfo_kb("MemAvailable");
	if (total >= 0)
		json_object_set_new(r, "memory_mb", json_integer(total / 1024));
	if (avail >= 0)
		json_object_set_new(r, "memory_available_mb", json_integer(avail / 1024));
	struct statvfs vfs;
	if (state_dir && statvfs(state_dir, &vfs) == 0) {
		unsigned long long gib = 1ULL << 30;
		json_object_set_new(r, "disk_gb", json_integer((json_int_t)(vfs.f_blocks * vfs.f_frsize / gib)));
		json_object_set_new(r, "disk_available_gb",
				    json_integer((json_int_t)(vfs.f_bavail * vfs.f_frsize / gib)));
	}
	double load[1];
	if (cpus > 0 && getloadavg(load, 1) == 1)
		json_object_set_new(r, "load_1m", json_real(load[0] / (double)cpus));
	json_object_set_new(r, "cpu_info", cpu_info());
	return r;
}

/* /proc/cpuinfo's figures over every processor block: the first "cpu MHz",
 * the distinct "physical id"s, "cpu cores" and "siblings". */
static void cpu_topology(json_int_t *mhz, json_int_t *sockets, json_int_t *cores, json_int_t *siblings)
{
	*mhz = *sockets = *cores = *siblings = 0;
	FILE *f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return;
	cleanup_free char *line = NULL;
	size_t cap = 0;
	unsigned long long seen = 0; /* physical ids below 64 */
	while (getline(&line, &cap, f) > 0) {
		char *v;
		if ((v = cpuinfo_value(line, "cpu MHz")) && !*mhz)
			*mhz = (json_int_t)strtod(v, NULL);
		else if ((v = cpuinfo_value(line, "physical id")) && strtoul(v, NULL, 10) < 64)
			seen |= 1ull << strtoul(v, NULL, 10);
		else if ((v = cpuinfo_value(line, "cpu cores")))
			*cores = strtoll(v, NULL, 10);
		else if ((v = cpuinfo_value(line, "siblings")))
			*siblings = strtoll(v, NULL, 10);
	}
	fclose(f);
	*sockets = __builtin_popcountll(seen);
}

json_t *host_resources__node(void)
{
	struct utsname u;
	json_int_t mhz, sockets, cores, siblings, cells = 0;
	cpu_topology(&mhz, &sockets, &cores, &siblings);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (!sockets)
		sockets = 1;
	if (!cores)
		cores = cpus > 0 ? cpus / sockets : 1;
	for (int n = 0; n < 1024; n++) {
		char p[64];
		snprintf(p, sizeof(p), "/sys/devices/system/node/node%d", n);
		if (access(p, F_OK) < 0)
			break;
		cells++;
	}
	return json_pack("{s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I}", "cpu_model", uname(&u) == 0 ? u.machine : "",
			 "cpus", (int)(cpus > 0 ? cpus : 0), "mhz", mhz, "sockets", sockets, "cores_per_socket", cores,
			 "threads_per_core", siblings >= cores && cores ? siblings / cores : 1, "numa_cells",
			 cells ? cells : 1, "memory_kib", (json_int_t)meminfo_kb("MemTotal"));
}

json_t *host_resources__cpu_info(void)
{
	return cpu_info();
}
