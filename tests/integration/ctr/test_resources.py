"""Limits take effect on the cgroups this host has (v1 controllers on the hybrid
machine, v2 where present): memory OOM kill, pids fork failure, cpu quota,
update of a live limit."""
import json
import os
from pathlib import Path

from conftest import skip_loudly, wait_for
from ctrlib import ctr  # noqa: F401  (fixture)


def cgroup_file(ctr, cid, controller, v1name, v2name):
    st = json.loads((ctr.root / cid / "state.json").read_text())
    for h in st["cgroup"]["hierarchies"]:
        if st["cgroup"]["v2"]:
            return Path(h["dir"]) / v2name
        if controller in h["name"].split(","):
            return Path(h["dir"]) / v1name
    raise AssertionError(f"no {controller} hierarchy in {st['cgroup']}")


def test_memory_limit_oom_kills(ctr):
    ctr.config["linux"]["resources"]["memory"] = {"limit": 32 << 20, "swap": 32 << 20}
    ctr.config["root"]["readonly"] = False
    # 64 MiB into tmpfs-backed /dev/shm is charged to the container's memory
    r = ctr.run("/bin/sh", "-c", "dd if=/dev/zero of=/dev/shm/big bs=1M count=60 2>/dev/null; echo rc=$?")
    assert "rc=137" in r.stdout, (r.stdout, r.stderr)  # dd was OOM-killed (SIGKILL)
    ctr.assert_clean(ctr.ids[-1])


def test_memory_below_limit_runs(ctr):
    ctr.config["linux"]["resources"]["memory"] = {"limit": 64 << 20}
    r = ctr.run("/bin/sh", "-c", "dd if=/dev/zero of=/dev/shm/ok bs=1M count=8 2>/dev/null; echo survived")
    assert r.returncode == 0 and "survived" in r.stdout


def test_pids_limit_fork_fails(ctr):
    ctr.config["linux"]["resources"]["pids"] = {"limit": 5}
    r = ctr.run("/bin/sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done 2>&1; echo done")
    assert "can't fork" in r.stdout + r.stderr or "Resource temporarily unavailable" in r.stdout + r.stderr
    ctr.assert_clean(ctr.ids[-1])


def test_cpu_quota_observable_and_update(ctr):
    ctr.config["linux"]["resources"]["cpu"] = {"quota": 20000, "period": 100000, "shares": 512}
    ctr.config["linux"]["resources"]["pids"] = {"limit": 50}
    ctr.args("/bin/sleep", "300")
    cid = ctr.new_id()
    ctr("run", "-d", cid, check=True)
    quota = cgroup_file(ctr, cid, "cpu", "cpu.cfs_quota_us", "cpu.max")
    assert quota.read_text().split()[0] == "20000"
    # the container's own view of its cgroup shows the same limit
    r = ctr("exec", cid, "/bin/sh", "-c", "cat /sys/fs/cgroup/cpu*/cpu.cfs_quota_us /sys/fs/cgroup/cpu.max 2>/dev/null | head -n1")
    assert r.stdout.split()[0] == "20000", r.stderr
    ctr("update", "--cpu-quota", "50000", "--pids-limit", "7", "--memory", "100M", cid, check=True)
    assert quota.read_text().split()[0] == "50000"
    assert cgroup_file(ctr, cid, "pids", "pids.max", "pids.max").read_text().strip() == "7"
    mem = cgroup_file(ctr, cid, "memory", "memory.limit_in_bytes", "memory.max")
    assert int(mem.read_text()) == 100 << 20
    res = ctr.root.parent / "res.json"
    res.write_text(json.dumps({"pids": {"limit": 9}}))
    ctr("update", "-r", str(res), cid, check=True)
    assert cgroup_file(ctr, cid, "pids", "pids.max", "pids.max").read_text().strip() == "9"
    ctr("delete", "--force", cid, check=True)
    ctr.assert_clean(cid)


def test_cpu_quota_throttles(ctr):
    ctr.config["linux"]["resources"]["cpu"] = {"quota": 10000, "period": 100000}
    ctr.args("/bin/sh", "-c", "while :; do :; done")
    cid = ctr.new_id()
    ctr("run", "-d", cid, check=True)

    def throttled():  # once the loop got more than its 10 ms of a period (a busy machine: later)
        stat = cgroup_file(ctr, cid, "cpu", "cpu.stat", "cpu.stat").read_text()
        fields = dict(line.split() for line in stat.splitlines())
        return int(fields.get("nr_throttled", 0)) > 0 and stat
    wait_for("the quota to throttle the loop", throttled)
    ctr("delete", "--force", cid, check=True)
    ctr.assert_clean(cid)


def own_cgroup(controller):
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, keys, path = line.split(":", 2)
        if controller in keys.split(","):
            return path
    raise AssertionError(f"no {controller} line in /proc/self/cgroup")


def test_cgroups_path_absolute_and_relative(ctr):
    ctr.args("/bin/sleep", "300")
    for relative in (False, True):
        cid = ctr.new_id()
        parent = f"strata-test-{cid}"
        ctr.config["linux"]["cgroupsPath"] = f"{parent}/{cid}" if relative else f"/{parent}/{cid}"
        ctr.write_config()
        ctr("run", "-d", cid, check=True)
        pids_dir = cgroup_file(ctr, cid, "pids", ".", ".").resolve()
        base = Path("/sys/fs/cgroup/pids") / (own_cgroup("pids").lstrip("/") if relative else "")
        assert pids_dir == (base / parent / cid).resolve()
        assert str(ctr.state(cid)["pid"]) in (pids_dir / "cgroup.procs").read_text().split()
        ctr("delete", "--force", cid, check=True)
        # the leaf and the parent strata-ctr made are gone; nothing else touched
        assert not (base / parent).exists()
        assert base.exists()


def test_blkio_throttle(ctr):
    st = os.stat("/")
    major, minor = os.major(st.st_dev), os.minor(st.st_dev)
    if not Path(f"/sys/dev/block/{major}:{minor}").exists():
        skip_loudly(f"/ is not on a block device ({major}:{minor}): nothing to throttle")
    # throttling applies to the whole disk, not a partition
    disk = Path(f"/sys/dev/block/{major}:{minor}").resolve()
    if (disk / "partition").exists():
        major, minor = (int(x) for x in (disk.parent / "dev").read_text().split(":"))
    ctr.config["linux"]["resources"]["blockIO"] = {
        "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 1048576}],
        "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 100}]}
    ctr.args("/bin/sh", "-c", "cat /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device "
                              "/sys/fs/cgroup/blkio/blkio.throttle.write_iops_device 2>/dev/null || "
                              "cat /sys/fs/cgroup/io.max")
    r = ctr("run", ctr.new_id())
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert f"{major}:{minor} 1048576" in text or f"{major}:{minor} rbps=1048576" in text, text
    assert f"{major}:{minor} 100" in text or "wiops=100" in text, text
    ctr.assert_clean(ctr.ids[-1])


def test_systemd_cgroup_path_without_systemd(ctr):
    # no systemd here: "slice:prefix:name" maps to the same directory systemd
    # would make, created and removed by strata-ctr itself
    ctr.args("/bin/sleep", "300")
    cid = ctr.new_id()
    ctr.config["linux"]["cgroupsPath"] = f"strata-test.slice:strata:{cid}"
    ctr.write_config()
    ctr("--systemd-cgroup", "run", "-d", cid, check=True)
    pids_dir = cgroup_file(ctr, cid, "pids", ".", ".").resolve()
    assert pids_dir == Path(f"/sys/fs/cgroup/pids/strata-test.slice/strata-{cid}.scope")
    assert str(ctr.state(cid)["pid"]) in (pids_dir / "cgroup.procs").read_text().split()
    ctr("delete", "--force", cid, check=True)
    assert not Path("/sys/fs/cgroup/pids/strata-test.slice").exists()
    ctr.assert_clean(cid)


def test_shared_created_parent_survives_the_first_delete(ctr):
    ctr.args("/bin/sleep", "300")
    a, b = ctr.new_id(), ctr.new_id()
    parent = f"strata-shared-{a}"
    for cid in (a, b):
        ctr.config["linux"]["cgroupsPath"] = f"/{parent}/{cid}"
        ctr.write_config()
        ctr("run", "-d", cid, check=True)
    r = ctr("delete", "--force", a)
    assert r.returncode == 0 and r.stderr == "", r.stderr  # no spurious warning
    assert Path(f"/sys/fs/cgroup/pids/{parent}/{b}").exists()
    ctr("delete", "--force", b, check=True)
    # b found the parent already there, so it is not b's to remove: the test
    # cleans it up (a, its maker, could not while b lived in it)
    for h in Path("/sys/fs/cgroup").iterdir():
        if (h / parent).is_dir():
            (h / parent).rmdir()


def test_init_and_exec_are_in_every_hierarchy(ctr):
    """The init joins each v1 hierarchy itself and is cloned into the unified
    one; exec'd processes the same way: /proc/PID/cgroup shows it for all."""
    ctr.args("/bin/sleep", "300")
    cid = ctr.new_id()
    ctr("run", "-d", cid, check=True)
    ctr("exec", "-d", "--pid-file", str(ctr.root.parent / "exec.pid"), cid, "/bin/sleep", "300", check=True)
    exec_pid = int((ctr.root.parent / "exec.pid").read_text())
    for pid in (ctr.state(cid)["pid"], exec_pid):
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        assert lines and all(line.split(":", 2)[2] == f"/{cid}" for line in lines), lines
    ctr("delete", "--force", cid, check=True)
    ctr.assert_clean(cid)
