#!/usr/bin/python3
"""Nova's own filter scheduler core beside ours: Debian's python3-nova (26,
Zed) HostFilterHandler and HostWeightHandler (what FilterScheduler runs per
instance) over N HostState objects built in memory from the same simulated
hosts as scheduler-sim (scheduler/sim_hosts.c's formulas, repeated here), with
10 filters and 4 weighers. NOT the whole Nova: no nova-api, no conductor, no
RabbitMQ, no placement (Nova 26 has no Ram/Core/Disk filters: placement's
allocation-candidates query does that part) and no database read of the host
states; those cost more on top. docs/cloud.md ("Scheduler benchmark").

    bench/nova_scheduler.py [--hosts N] [--requests R]"""
import argparse
import datetime
import json
import logging
import os
import resource
import sys
import time

try:
    import nova.conf
    from nova import objects
    from nova.scheduler import filters as nova_filters
    from nova.scheduler import host_manager
    from nova.scheduler import weights as nova_weights
except ImportError as e:
    sys.exit(f"nova_scheduler.py: Nova is not installed here ({e}): apt-get install python3-nova")

FILTERS = ["ComputeFilter", "AvailabilityZoneFilter", "ComputeCapabilitiesFilter",
           "AggregateInstanceExtraSpecsFilter", "ImagePropertiesFilter", "ServerGroupAntiAffinityFilter",
           "ServerGroupAffinityFilter", "SameHostFilter", "DifferentHostFilter", "NumInstancesFilter"]
WEIGHERS = ["RAMWeigher", "CPUWeigher", "DiskWeigher", "IoOpsWeigher"]
BASE = ["sse4.2", "aes", "pclmulqdq", "ssse3", "cx16", "pcid", "sse4.1", "movbe", "popcnt", "xsave",
        "osxsave", "rdrand", "fsgsbase", "smep", "erms", "invpcid", "f16c", "bmi1"]


def cpu_info(model):
    return json.dumps({"arch": "x86_64", "model": f"Model{model}",
                       "features": BASE + (["avx", "avx2", "fma"] if model % 2 == 0 else [])})


def host(i, aggregates, now):
    """sim_hosts__host(i) as a Nova HostState."""
    size = 1 + i * 7 % 8
    vcpus, ram, disk = 16 * size, 16 * size * 2048 * (1 + i % 4), 500 * (1 + i * 3 % 8)
    n = i % 5
    used_v, used_r, used_d = n * (1 + i % 4), n * (2048 << (i % 3)), n * (20 + (i % 7) * 10)
    h = host_manager.HostState(f"host-{i:06d}", f"host-{i:06d}", "cell1")
    h.uuid = f"00000000-0000-0000-0000-{i:012d}"
    h.total_usable_ram_mb, h.free_ram_mb = ram, ram - used_r
    h.total_usable_disk_gb, h.disk_mb_used, h.free_disk_mb = disk, used_d * 1024, (disk - used_d) * 1024
    h.vcpus_total, h.vcpus_used = vcpus, used_v
    h.num_instances, h.num_io_ops = n, 0
    h.cpu_info = cpu_info(i // 2 % 8)
    h.hypervisor_type, h.hypervisor_version = "QEMU", 7002000
    h.supported_instances = [("x86_64", "kvm", "hvm")]
    h.cpu_allocation_ratio, h.ram_allocation_ratio, h.disk_allocation_ratio = 4.0, 1.0, 1.0
    h.aggregates = [aggregates[i % 3], aggregates[3 + (i % 2)]]
    h.instances = {}
    h.service = {"disabled": i % 97 == 0, "forced_down": i % 89 == 0, "host": h.host,
                 "binary": "nova-compute", "created_at": now,
                 "last_seen_up": now if i % 89 else now - datetime.timedelta(hours=1)}
    h.updated = now
    return h


def request(r):
    specs = {"aggregate_instance_extra_specs:ssd": "true"}
    if r % 2:
        specs["capabilities:cpu_info:features"] = "<in> avx"
    flavor = objects.Flavor(vcpus=1 + r % 8, memory_mb=1024 << (r % 4), root_gb=10 + r % 30, ephemeral_gb=0,
                            swap=0, extra_specs=specs)
    return objects.RequestSpec(flavor=flavor, image=objects.ImageMeta.from_dict({"properties": {}}),
                               availability_zone=f"az{r % 3 + 1}" if r % 5 else None,
                               instance_group=None, scheduler_hints={}, num_instances=1,
                               ignore_hosts=None, force_hosts=None, force_nodes=None,
                               requested_destination=None, project_id="p", user_id="u",
                               instance_uuid=f"11111111-0000-4000-8000-{r:012d}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=10000)
    ap.add_argument("--requests", type=int, default=50)
    a = ap.parse_args()
    # Nova's warnings (ComputeFilter's "has not been heard from") formatted as a
    # deployment's log file would take them, into /dev/null
    logging.basicConfig(stream=open(os.devnull, "w"), level=logging.WARNING)
    conf = nova.conf.CONF
    conf([], project="nova")
    conf.set_override("query_placement_for_availability_zone", False, "scheduler")
    objects.register_all()
    now = datetime.datetime.utcnow()
    aggregates = [objects.Aggregate(id=z + 1, name=f"az{z + 1}", hosts=[],
                                    metadata={"availability_zone": f"az{z + 1}"}) for z in range(3)]
    aggregates += [objects.Aggregate(id=4, name="ssd", hosts=[], metadata={"ssd": "true"}),
                   objects.Aggregate(id=5, name="hdd", hosts=[], metadata={"ssd": "false"})]
    hosts = [host(i, aggregates, now) for i in range(a.hosts)]
    fh, wh = nova_filters.HostFilterHandler(), nova_weights.HostWeightHandler()
    by_name = {c.__name__: c for c in fh.get_matching_classes(["nova.scheduler.filters.all_filters"])}
    filters = [by_name[f]() for f in FILTERS]
    wby = {c.__name__: c for c in wh.get_matching_classes(["nova.scheduler.weights.all_weighers"])}
    weighers = [wby[w]() for w in WEIGHERS]
    wall, cpu, placed = [], [], 0
    start = time.monotonic()
    for r in range(a.requests):
        spec = request(r)
        w0, c0 = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
        passed = fh.get_filtered_objects(filters, hosts, spec, 0)
        if passed:
            weighed = wh.get_weighed_objects(weighers, passed, spec)
            placed += bool(weighed)
        c1 = resource.getrusage(resource.RUSAGE_SELF)
        wall.append(time.monotonic() - w0)
        cpu.append(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime)
    total = time.monotonic() - start
    print(f"nova_scheduler: {a.hosts} hosts, {len(filters)} filters, {len(weighers)} weighers, "
          f"{a.requests} requests ({placed} placed), Nova {nova_version()}")
    print(f"  {a.requests / total:.1f} decisions per second (wall)")
    for what, t in (("wall", wall), ("CPU", cpu)):
        t.sort()
        print(f"  {what} per decision: p50 {t[len(t) // 2] * 1e3:.2f} ms, "
              f"p99 {t[len(t) * 99 // 100] * 1e3:.2f} ms, max {t[-1] * 1e3:.2f} ms")


def nova_version():
    try:
        from nova import version
        return version.version_string()
    except Exception:  # noqa: BLE001
        return "?"


if __name__ == "__main__":
    main()
