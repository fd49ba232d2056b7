/* What this host offers guests, as GET /v1/host reports it under
 * "resources": what a cloud (strata-cloud's compute hosts) schedules on. */
#ifndef STRATA_HOST_HOST_RESOURCES_H
#define STRATA_HOST_HOST_RESOURCES_H

#include <jansson.h>

/* {"hostname", "vcpus", "memory_mb", "memory_available_mb", "disk_gb",
 * "disk_available_gb" (the file system of state_dir, where the instance
 * pools live by default), "load_1m" (the 1-minute load average divided by
 * the vCPUs), "cpu_info": {"arch", "vendor", "model", "features": [...]}
 * (/proc/cpuinfo's flags of the first CPU, sorted)}. A value the host cannot
 * read is left out. */
json_t *host_resources__get(const char *state_dir);
/* virsh nodeinfo's figures: {"cpu_model" (the architecture, as virsh
 * says), "cpus", "mhz", "sockets", "cores_per_socket", "threads_per_core",
 * "numa_cells", "memory_kib"}. */
json_t *host_resources__node(void);
/* "cpu_info" of host_resources__get alone. */
json_t *host_resources__cpu_info(void);

#endif
