"""What the container sees: its own pid 1, hostname, mounts, network (only lo),
masked and readonly paths, capabilities, seccomp, user namespace, sysctl."""
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from ctrlib import Ctr, ctr  # noqa: F401  (fixture)


PROC_NS = {"network": "net", "mount": "mnt"}


@pytest.fixture
def userns_ctr():
    """A Ctr whose bundle a mapped root (host uid 100000+) can reach: pytest's
    own tmp directories are private to host root."""
    d = Path(tempfile.mkdtemp(prefix="strata-ctr-userns-"))
    d.chmod(0o755)
    c = Ctr(d)
    yield c
    for cid in c.ids:
        c("delete", "--force", cid)
    shutil.rmtree(d, ignore_errors=True)


def map_root_to(ctr, host_id):
    """A new user namespace whose 65536 ids start at host_id."""
    lin = ctr.config["linux"]
    lin["namespaces"].append({"type": "user"})
    lin["uidMappings"] = [{"containerID": 0, "hostID": host_id, "size": 65536}]
    lin["gidMappings"] = [{"containerID": 0, "hostID": host_id, "size": 65536}]
    return lin


def first_and_join(ctr, *types):
    """Run a first container, point the config's namespaces of `types` at it."""
    ctr.args("/bin/sleep", "300")
    first = ctr.new_id()
    ctr("run", "-d", first, check=True)
    pid = ctr.state(first)["pid"]
    for ns in ctr.config["linux"]["namespaces"]:
        if ns["type"] in types:
            ns["path"] = f"/proc/{pid}/ns/{PROC_NS.get(ns['type'], ns['type'])}"
    return first, pid


def out(ctr, script, **kw):
    r = ctr.run("/bin/sh", "-c", script, **kw)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_pid_namespace_and_no_host_processes(ctr):
    o = out(ctr, "echo $$; ls /proc | grep -c '^[0-9]'")
    pid1, nprocs = o.split()
    assert pid1 == "1"
    assert int(nprocs) <= 3  # sh, ls, grep: never the host's processes


def test_hostname_and_uts(ctr):
    ctr.config["hostname"] = "box-under-test"
    assert out(ctr, "hostname").strip() == "box-under-test"
    assert os.uname().nodename != "box-under-test"


def test_network_namespace_has_only_lo(ctr):
    ifaces = out(ctr, "ls /sys/class/net").split()
    assert ifaces == ["lo"]


def test_mounts_are_private_and_rootfs_is_readonly(ctr):
    o = out(ctr, "cat /proc/mounts; touch /x 2>/dev/null && echo wrote || echo ro")
    assert o.strip().endswith("ro")
    assert "/work" not in o  # none of the host's mounts are visible
    assert " /dev/pts devpts " in o and " /dev/shm tmpfs " in o and " /dev/mqueue mqueue " in o


def test_masked_and_readonly_paths(ctr):
    o = out(ctr, "cat /proc/kcore | wc -c; ls /sys/firmware | wc -l;"
                 "echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo rw || echo ro")
    assert o.split() == ["0", "0", "ro"]


def test_capability_not_granted_is_refused(ctr):
    r = ctr.run("/bin/sh", "-c", "mount -t tmpfs t /tmp")
    assert r.returncode != 0
    assert "denied" in r.stderr or "not permitted" in r.stderr
    caps = ctr.config["process"]["capabilities"]
    for k in caps:
        caps[k] = caps[k] + ["CAP_SYS_ADMIN"]
    ctr.config["root"]["readonly"] = False
    r = ctr.run("/bin/sh", "-c", "mount -t tmpfs t /tmp && echo mounted")
    assert r.returncode == 0 and "mounted" in r.stdout, r.stderr


def test_seccomp_rule_returns_configured_errno(ctr):
    ctr.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}],
    }
    ctr.config["root"]["readonly"] = False
    r = ctr.run("/bin/sh", "-c", "mkdir /tmp/x")
    assert r.returncode != 0
    assert "Permission denied" in r.stderr  # EACCES (13), not the EPERM default


def test_user_env_cwd_rlimits_nnp(ctr):
    p = ctr.config["process"]
    p["user"] = {"uid": 65534, "gid": 65534, "additionalGids": [5]}
    p["env"] = ["PATH=/bin", "ANSWER=42"]
    p["cwd"] = "/tmp"
    p["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 322}]
    o = out(ctr, "id -u; id -g; id -G; echo $ANSWER; pwd; ulimit -n; grep NoNewPrivs /proc/self/status")
    lines = o.splitlines()
    assert lines[:2] == ["65534", "65534"]
    assert "5" in lines[2].split()
    assert lines[3:6] == ["42", "/tmp", "321"]
    assert lines[6].split() == ["NoNewPrivs:", "1"]


def test_user_namespace_with_mappings(userns_ctr):
    ctr = userns_ctr
    map_root_to(ctr, 100000)
    o = out(ctr, "id -u; cat /proc/self/uid_map")
    lines = o.splitlines()
    assert lines[0] == "0"
    assert lines[1].split() == ["0", "100000", "65536"]
    ctr.assert_clean(ctr.ids[-1])
    # exec joins the user namespace too, then the others
    ctr.args("/bin/sleep", "300")
    cid = ctr.new_id()
    ctr("run", "-d", cid, check=True)
    r = ctr("exec", cid, "/bin/sh", "-c", "id -u; cat /proc/self/uid_map; echo $$")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[:4] == ["0", "0", "100000", "65536"]
    ctr("delete", "--force", cid, check=True)
    ctr.assert_clean(cid)


def test_join_namespace_by_path(ctr):
    first, pid = first_and_join(ctr, "network", "uts")
    ctr.config.pop("hostname", None)
    ctr.config["process"]["args"] = ["/bin/sh", "-c", "hostname; readlink /proc/self/ns/net"]
    ctr.write_config()
    r = ctr("run", ctr.new_id())
    assert r.returncode == 0, r.stderr
    host_view = os.readlink(f"/proc/{pid}/ns/net")
    assert r.stdout.split()[1] == host_view
    ctr("delete", "--force", first, check=True)


def test_sysctl_and_oom_score_adj(ctr):
    ctr.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    ctr.config["process"]["oomScoreAdj"] = 333
    o = out(ctr, "cat /proc/sys/net/ipv4/ip_forward; cat /proc/self/oom_score_adj")
    assert o.split() == ["1", "333"]


def test_no_pivot_falls_back_to_move_and_chroot(ctr):
    ctr.args("/bin/sh", "-c", "ls /; cat /proc/self/mountinfo | wc -l")
    r = ctr("run", "--no-pivot", ctr.new_id())
    assert r.returncode == 0, r.stderr
    assert "bin" in r.stdout.split() and "work" not in r.stdout.split()
    ctr.assert_clean(ctr.ids[-1])


def test_linux_devices_are_created_and_allowed(ctr):
    ctr.config["linux"]["devices"] = [{"path": "/dev/extra/null2", "type": "c", "major": 1, "minor": 3,
                                       "fileMode": 0o600, "uid": 0, "gid": 0}]
    o = out(ctr, "stat -c '%F %t:%T %a' /dev/extra/null2; echo hi > /dev/extra/null2 && echo wrote")
    assert o.splitlines() == ["character special file 1:3 600", "wrote"]


def test_device_cgroup_denies_unlisted_devices(ctr):
    # CAP_MKNOD lets the node be made; the device cgroup (deny all but the
    # defaults) still refuses to open it
    caps = ctr.config["process"]["capabilities"]
    for k in caps:
        caps[k] = caps[k] + ["CAP_MKNOD"]
    r = ctr.run("/bin/sh", "-c", "mknod /dev/mem2 c 1 1 && cat /dev/mem2 > /dev/null")
    assert r.returncode != 0
    assert "not permitted" in r.stderr


def test_rootfs_propagation_setting(ctr):
    ctr.config["linux"]["rootfsPropagation"] = "private"
    o = out(ctr, "awk '$5 == \"/\"' /proc/self/mountinfo")
    assert o.strip() and "shared:" not in o and "master:" not in o
    ctr.config["linux"]["rootfsPropagation"] = "shared"
    o = out(ctr, "awk '$5 == \"/\"' /proc/self/mountinfo")
    assert "shared:" in o


def test_join_pid_namespace_by_path(ctr):
    first, _ = first_and_join(ctr, "pid")
    ctr.config["process"]["args"] = ["/bin/sh", "-c", "cat /proc/1/cmdline; echo; echo $$"]
    ctr.write_config()
    r = ctr("run", ctr.new_id())
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("/bin/sleep")  # the first container's init is our pid 1
    assert lines[1] != "1"
    ctr.assert_clean(ctr.ids[-1])
    ctr("delete", "--force", first, check=True)


def test_join_user_namespace_by_path(userns_ctr):
    ctr = userns_ctr
    lin = map_root_to(ctr, 200000)
    first, _ = first_and_join(ctr, "user")
    # the second container has no mappings of its own: it joins the first's
    del lin["uidMappings"], lin["gidMappings"]
    ctr.config["process"]["args"] = ["/bin/sh", "-c", "id -u; cat /proc/self/uid_map"]
    ctr.write_config()
    r = ctr("run", ctr.new_id())
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "0", "200000", "65536"]
    ctr("delete", "--force", first, check=True)
    ctr.assert_clean(first)
