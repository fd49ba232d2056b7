"""Defects the OCI runtime conformance suite (runtime-tools) and podman found:
each test failed before its fix (issue 12)."""
import os
import subprocess
from pathlib import Path

from conftest import skip_loudly, wait_for
from ctrlib import ctr  # noqa: F401  (fixture)
from test_isolation import first_and_join, out

CGROUP_ROOT = Path("/sys/fs/cgroup")


def wait_stopped(ctr, cid):
    wait_for(f"{cid} to stop", lambda: ctr.state(cid)["status"] == "stopped")


def test_delete_force_of_a_missing_container_succeeds(ctr):
    r = ctr("delete", "--force", "never-created")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    r = ctr("delete", "never-created")
    assert r.returncode != 0 and "does not exist" in r.stderr
    r = ctr("delete", "--force", "bad/id")
    assert r.returncode != 0 and "invalid container id" in r.stderr


def test_start_returns_once_the_program_runs(ctr):
    """/proc/PID/exe is the program as soon as start returns (it was still
    strata-ctr in 3 of 5 tries). A startContainer hook (run by the container
    process between start and the exec) makes the window wide."""
    ctr.config["hooks"] = {"startContainer": [{"path": "/bin/sleep", "args": ["sleep", "0.3"]}]}
    ctr.args("/bin/sleep", "300")
    for _ in range(3):
        cid = ctr.new_id()
        ctr("create", cid, check=True)
        pid = ctr.state(cid)["pid"]
        ctr("start", cid, check=True)
        exe = os.readlink(f"/proc/{pid}/exe")
        assert exe.endswith("/busybox"), f"after start the container process runs {exe}"
        ctr("delete", "--force", cid, check=True)
        ctr.assert_clean(cid)


def test_kill_right_after_start_reaches_the_programs_handler(ctr, tmp_path):
    """The program installs a USR1 handler as its first act; a kill sent as
    soon as start returns must reach the handler, not the default action
    (a startContainer hook widens the window). A poststart hook sees the
    program already running."""
    log = tmp_path / "poststart.log"
    hook = tmp_path / "hook.sh"
    hook.write_text("#!/bin/sh\nread s\n"
                    "pid=$(echo \"$s\" | sed 's/.*\"pid\": *\\([0-9]*\\).*/\\1/')\n"
                    f"readlink /proc/$pid/exe >> {log}\n")
    hook.chmod(0o755)
    cfg = ctr.config
    cfg["root"]["readonly"] = False
    cfg["hooks"] = {"poststart": [{"path": str(hook)}],
                    "startContainer": [{"path": "/bin/sleep", "args": ["sleep", "1"]}]}
    caught = ctr.bundle / "rootfs" / "caught"
    ctr.args("/bin/sh", "-c", "trap 'echo USR1 > /caught; exit 0' USR1; while :; do sleep 0.05; done")
    for i in range(3):
        caught.unlink(missing_ok=True)
        cid = ctr.new_id()
        ctr("create", cid, check=True)
        ctr("start", cid, check=True)
        ctr("kill", cid, "USR1", check=True)
        wait_stopped(ctr, cid)
        assert caught.exists(), f"try {i}: USR1 killed the container before its handler existed"
        ctr("delete", cid, check=True)
        ctr.assert_clean(cid)
    exes = log.read_text().split()
    assert len(exes) == 3 and all(e.endswith("/busybox") for e in exes), exes


def test_failing_poststart_and_poststop_hooks_only_warn(ctr, tmp_path):
    log = tmp_path / "hooks.log"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\necho \"$1\" >> {log}\n")
    hook.chmod(0o755)
    cfg = ctr.config
    cfg["hooks"] = {k: [{"path": "/bin/false"}, {"path": str(hook), "args": ["hook.sh", k]}]
                    for k in ("poststart", "poststop")}
    ctr.args("/bin/sleep", "300")
    cid = ctr.new_id()
    ctr("create", cid, check=True)
    r = ctr("start", cid)
    assert r.returncode == 0, r.stderr
    assert "warning" in r.stderr and "/bin/false" in r.stderr
    assert ctr.state(cid)["status"] == "running"
    assert log.read_text().split() == ["poststart"]
    ctr("kill", cid, "KILL", check=True)
    wait_stopped(ctr, cid)
    r = ctr("delete", cid)
    assert r.returncode == 0, r.stderr
    assert log.read_text().split() == ["poststart", "poststop"]
    ctr.assert_clean(cid)
    # run: the same, and the exit code is the program's
    ctr.args("/bin/sh", "-c", "exit 3")
    r = ctr("run", ctr.new_id())
    assert r.returncode == 3, r.stderr
    assert log.read_text().split() == ["poststart", "poststop"] * 2


def test_rootfs_propagation_unbindable(ctr):
    ctr.config["linux"]["rootfsPropagation"] = "unbindable"
    o = out(ctr, "awk '$5 == \"/\"' /proc/self/mountinfo")
    assert "unbindable" in o, o


def test_hostname_set_in_a_joined_uts_namespace(ctr):
    first, pid = first_and_join(ctr, "uts")
    ctr.config["hostname"] = "joined-host"
    assert out(ctr, "hostname").strip() == "joined-host"
    r = subprocess.run(["nsenter", "-t", str(pid), "-u", "hostname"], capture_output=True, text=True)
    assert r.stdout.strip() == "joined-host"
    assert os.uname().nodename != "joined-host"
    ctr("delete", "--force", first, check=True)
    # without any uts namespace a hostname is still refused
    ctr.config["linux"]["namespaces"] = [n for n in ctr.config["linux"]["namespaces"] if n["type"] != "uts"]
    r = ctr.run("/bin/true")
    assert r.returncode != 0 and "uts namespace" in r.stderr


def memory_v1():
    d = CGROUP_ROOT / "memory"
    return d if (d / "memory.limit_in_bytes").exists() else None


def test_memory_kernel_tcp(ctr):
    mem = memory_v1()
    if not mem:
        skip_loudly("no cgroup v1 memory controller here")
    ctr.config["linux"]["resources"]["memory"] = {"kernelTCP": 16 << 20}
    if not (mem / "memory.kmem.tcp.limit_in_bytes").exists():
        r = ctr.run("/bin/true")
        assert r.returncode != 0 and "kernelTCP" in r.stderr and len(r.stderr.splitlines()) == 1
        return
    o = out(ctr, "cat /sys/fs/cgroup/memory/memory.kmem.tcp.limit_in_bytes")
    assert o.strip() == str(16 << 20)


def v1_controller(name):
    return any(name in h.name.split(",") for h in CGROUP_ROOT.iterdir() if (h / "tasks").exists())


def test_network_resources_applied_or_refused(ctr):
    for key, value, ctl, path in (
            ("classID", 0x100001, "net_cls", "net_cls/net_cls.classid"),
            ("priorities", [{"name": "lo", "priority": 7}], "net_prio", "net_prio/net_prio.ifpriomap")):
        ctr.config["linux"]["resources"]["network"] = {key: value}
        if not v1_controller(ctl):
            r = ctr.run("/bin/true")
            assert r.returncode != 0, f"network.{key} accepted without the {ctl} controller"
            assert ctl in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
            ctr.assert_clean(ctr.ids[-1])
        else:
            o = out(ctr, f"cat /sys/fs/cgroup/{path}")
            assert (str(value) if key == "classID" else "lo 7") in o


def hugetlb_dir(cid):
    """The container's cgroup holding hugetlb and the limit file's suffix."""
    for h in CGROUP_ROOT.iterdir():
        if "hugetlb" in h.name.split(",") and (h / "tasks").exists():
            return h / cid, "limit_in_bytes"
    uni = CGROUP_ROOT / "unified"
    if (uni / "cgroup.controllers").exists() and "hugetlb" in (uni / "cgroup.controllers").read_text().split():
        return uni / cid, "max"
    return None, None


def test_hugepage_limits_applied_or_refused(ctr):
    sizes = os.listdir("/sys/kernel/mm/hugepages") if os.path.isdir("/sys/kernel/mm/hugepages") else []
    if "hugepages-2048kB" not in sizes:
        skip_loudly("this kernel has no 2 MB huge pages")
    ctr.config["linux"]["resources"]["hugepageLimits"] = [{"pageSize": "2MB", "limit": 4 << 21}]
    ctr.args("/bin/sleep", "300")
    cid = ctr.new_id()
    r = ctr("create", cid)
    d, suffix = hugetlb_dir(cid)
    if d is None:
        assert r.returncode != 0 and "hugetlb" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    else:
        assert r.returncode == 0, r.stderr
        assert (d / f"hugetlb.2MB.{suffix}").read_text().strip() == str(4 << 21)
        ctr("delete", "--force", cid, check=True)
    ctr.assert_clean(cid)
    ctr.config["linux"]["resources"]["hugepageLimits"] = [{"pageSize": "3MB", "limit": 1 << 22}]
    r = ctr.run("/bin/true")
    assert r.returncode != 0 and "3MB" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    ctr.assert_clean(ctr.ids[-1])


def test_capability_the_runtime_lacks_fails_at_create(ctr):
    # The runtime itself runs without CAP_SYS_MODULE in its bounding set.
    ctr.wrapper = ["setpriv", "--bounding-set", "-sys_module"]
    caps = ctr.config["process"]["capabilities"]
    for k in ("bounding", "effective", "permitted"):
        caps[k] = caps[k] + ["CAP_SYS_MODULE"]
    ctr.args("/bin/true")
    cid = ctr.new_id()
    r = ctr("create", cid)
    assert r.returncode != 0, "create accepted a capability the runtime cannot grant"
    assert "CAP_SYS_MODULE" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    ctr.assert_clean(cid)
    # granted when the runtime holds it
    ctr.wrapper = []
    r = ctr.run("/bin/sh", "-c", "grep CapEff /proc/self/status")
    assert r.returncode == 0, r.stderr


def test_device_file_mode_with_type_bits(ctr):
    # podman sends the whole st_mode (0o20600 for a char device)
    ctr.config["linux"]["devices"] = [{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
                                       "fileMode": 0o20600, "uid": 0, "gid": 0}]
    o = out(ctr, "stat -c '%F %t:%T %a' /dev/mynull; echo hi > /dev/mynull && echo wrote")
    assert o.splitlines() == ["character special file 1:3 600", "wrote"]


def test_container_process_leads_its_own_session(ctr):
    o = out(ctr, "echo $$ $(cut -d' ' -f6 /proc/$$/stat)")
    pid, sid = o.split()
    assert pid == sid, f"session {sid}, not its own ({pid})"
    ctr.config["process"]["terminal"] = False
    ctr.config["linux"]["namespaces"] = [n for n in ctr.config["linux"]["namespaces"] if n["type"] != "pid"]
    ctr.args("/bin/sleep", "300")
    cid = ctr.new_id()
    ctr("run", "-d", cid, check=True)
    pid = ctr.state(cid)["pid"]
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    assert int(stat[3]) == pid and os.getsid(pid) == pid  # pgrp and session
    ctr("delete", "--force", cid, check=True)
