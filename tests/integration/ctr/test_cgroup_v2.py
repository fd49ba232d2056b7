"""The cgroup v2 code path. This host is hybrid (controllers on v1); in a private
mount namespace with the unified hierarchy mounted on /sys/fs/cgroup, strata-ctr
sees a pure v2 host: it must create, join, freeze, list and remove its cgroup
there. The unified tree has no controllers here, so limits are not checked."""
import json
from pathlib import Path

import pytest

from ctrlib import ctr  # noqa: F401  (fixture)
from conftest import skip_loudly

ENTER_V2 = 'umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && exec "$@"'


@pytest.fixture
def v2(ctr):
    if not Path("/sys/fs/cgroup/unified/cgroup.procs").exists():
        skip_loudly("no unified cgroup hierarchy at /sys/fs/cgroup/unified on this host")
    ctr.wrapper = ["unshare", "-m", "--propagation", "private", "sh", "-c", ENTER_V2, "v2"]
    ctr.config["linux"]["resources"] = {}
    return ctr


def test_v2_lifecycle(v2):
    v2.args("/bin/sleep", "300")
    cid = v2.new_id()
    r = v2("run", "-d", cid)
    assert r.returncode == 0, r.stderr
    st = json.loads((v2.root / cid / "state.json").read_text())["cgroup"]
    assert st["v2"] is True
    assert st["hierarchies"][0]["dir"] == f"/sys/fs/cgroup/{cid}"
    # the same directory, seen from the host through its unified mount
    host_dir = Path("/sys/fs/cgroup/unified") / cid
    procs = host_dir.joinpath("cgroup.procs").read_text().split()
    assert str(v2.state(cid)["pid"]) in procs
    v2("pause", cid, check=True)
    assert host_dir.joinpath("cgroup.freeze").read_text().strip() == "1"
    assert v2.state(cid)["status"] == "paused"
    v2("resume", cid, check=True)
    assert v2.state(cid)["status"] == "running"
    r = v2("exec", cid, "/bin/cat", "/proc/self/cgroup")
    assert r.stdout.strip().endswith("0::/"), r.stdout  # its own cgroup namespace
    assert len(json.loads(v2("ps", "--format", "json", cid, check=True).stdout)) == 1
    v2("delete", "--force", cid, check=True)
    assert not host_dir.exists()
    assert not (v2.root / cid).exists()


def test_v2_unified_resources_written(v2):
    # cgroup.max.descendants is a core (controller-less) file: it proves the
    # `unified` map reaches the container's v2 directory
    v2.config["linux"]["resources"] = {"unified": {"cgroup.max.descendants": "7"}}
    v2.args("/bin/sh", "-c", "cat /sys/fs/cgroup/cgroup.max.descendants")
    r = v2("run", v2.new_id())
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "7"
    v2.assert_clean(v2.ids[-1])


def test_unified_refused_on_v1(ctr):
    ctr.config["linux"]["resources"]["unified"] = {"cgroup.max.descendants": "7"}
    ctr.args("/bin/true")
    r = ctr("run", ctr.new_id())
    assert r.returncode != 0 and "needs cgroup v2" in r.stderr
    ctr.assert_clean(ctr.ids[-1])


def test_v2_device_rules_are_an_ebpf_program(v2):
    # In the v2 view the v1 devices controller is not joined: only the eBPF
    # program strata-ctr attaches can refuse the node CAP_MKNOD let us make.
    v2.config["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    caps = v2.config["process"]["capabilities"]
    for k in caps:
        caps[k] = caps[k] + ["CAP_MKNOD"]
    # a tty (4:9) is not among the defaults; opening it reads nothing
    v2.args("/bin/sh", "-c", "echo ok > /dev/null && echo null-ok; "
                             "mknod /dev/tty9 c 4 9 && head -c0 /dev/tty9 && echo tty-open")
    r = v2("run", v2.new_id())
    assert "null-ok" in r.stdout, r.stderr  # the default devices stay usable
    assert "tty-open" not in r.stdout and "not permitted" in r.stderr
    v2.assert_clean(v2.ids[-1])
    # an allow rule after the deny opens it again (the last match wins)
    v2.config["linux"]["resources"]["devices"].append(
        {"allow": True, "type": "c", "major": 4, "minor": 9, "access": "rwm"})
    v2.write_config()
    r = v2("run", v2.new_id())
    assert "tty-open" in r.stdout, r.stderr
    # access is checked too: mknod and read granted, write not
    v2.config["linux"]["resources"]["devices"][-1]["access"] = "mr"
    v2.args("/bin/sh", "-c", "mknod /dev/tty9 c 4 9 && head -c0 /dev/tty9 && echo tty-open; "
                             "echo x > /dev/tty9 && echo tty-written")
    r = v2("run", v2.new_id())
    assert "tty-open" in r.stdout and "tty-written" not in r.stdout, (r.stdout, r.stderr)
    # without device rules, nothing is attached
    v2.config["linux"]["resources"] = {}
    v2.write_config()
    r = v2("run", v2.new_id())
    assert "tty-open" in r.stdout, r.stderr


def test_v2_refuses_v1_only_knobs_and_applies_hugetlb(v2):
    """kernelTCP and network (net_cls/net_prio) have no v2 files: refused at
    create with one line, never ignored; hugepageLimits go to hugetlb.<size>.max
    where the tree offers hugetlb (it does here)."""
    for res, word in (({"memory": {"kernelTCP": 1 << 24}}, "kernelTCP"),
                      ({"network": {"classID": 7}}, "net_cls"),
                      ({"network": {"priorities": [{"name": "lo", "priority": 1}]}}, "net_prio")):
        v2.config["linux"]["resources"] = res
        r = v2.run("/bin/true")
        assert r.returncode != 0 and word in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
        assert not (v2.root / v2.ids[-1]).exists()
        assert not (Path("/sys/fs/cgroup/unified") / v2.ids[-1]).exists()
    if "hugetlb" not in Path("/sys/fs/cgroup/unified/cgroup.controllers").read_text().split() or \
            not Path("/sys/kernel/mm/hugepages/hugepages-2048kB").exists():
        skip_loudly("the unified tree offers no hugetlb controller (or no 2 MB pages) here")
    v2.config["linux"]["resources"] = {"hugepageLimits": [{"pageSize": "2MB", "limit": 6 << 21}]}
    v2.args("/bin/sh", "-c", "cat /sys/fs/cgroup/hugetlb.2MB.max")
    r = v2("run", v2.new_id())
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(6 << 21)
