"""Logical (LVM) pools: a volume group on a loop device made for the test
(removed afterwards, whatever happens); volumes created, listed, resized and
deleted through the API and the CLI, each change checked with lvm2's own
`lvs`; the pool's capacity is the volume group's. lvm2's device filter keeps
every command (stratad's and the test's) to the test's loop device.

Without device-mapper in the kernel (this CI's VM has none) logical volumes
cannot be activated: the pool then runs with activation off (stratad's
--lvm-config), which covers every metadata operation, and the test that
hands an LV to a guest SKIPs loudly."""
import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import skip_loudly
from hostlib import Stratad, cleanup, guest, short_tmpdir

def have_dm():
    """The kernel's own word (/dev/mapper/control may be a node lvm2 made)."""
    try:
        with open("/proc/misc") as f:
            return "device-mapper" in f.read()
    except OSError:
        return False


HAVE_DM = have_dm()


def lvm(cfg, *args):
    env = dict(os.environ, LVM_SUPPRESS_FD_WARNINGS="1")
    return subprocess.run([args[0], "--config", cfg, *args[1:]], capture_output=True, text=True, env=env)


@pytest.fixture
def vg(tmp_path):
    for tool in ("losetup", "pvcreate", "vgcreate", "lvs"):
        if not shutil.which(tool):
            skip_loudly(f"{tool} is missing (lvm2, util-linux): no logical pool test")
    if os.geteuid() != 0:
        skip_loudly("logical pools need root (loop devices, LVM)")
    img = tmp_path / "pv.img"
    img.write_bytes(b"")
    os.truncate(img, 64 << 20)
    r = subprocess.run(["losetup", "-f", "--show", str(img)], capture_output=True, text=True)
    if r.returncode != 0:
        skip_loudly(f"no loop device for the volume group: {r.stderr.strip()}")
    loop = r.stdout.strip()
    name = f"stvg{os.getpid()}"
    cfg = f'devices {{ filter = [ "a|^{loop}$|", "r|.*|" ] obtain_device_list_from_udev = 0 }}'
    if not HAVE_DM:
        print("\nNOTE: no device-mapper in this kernel: the logical pool runs with activation off")
        cfg += " global { activation = 0 }"
    try:
        for cmd in (["pvcreate", "-y", loop], ["vgcreate", name, loop]):
            r = lvm(cfg, *cmd)
            if r.returncode != 0:
                skip_loudly(f"{' '.join(cmd)} failed here: {r.stderr.strip()}")
        yield name, cfg
    finally:
        lvm(cfg, "vgremove", "-f", name)
        lvm(cfg, "pvremove", "-y", loop)
        subprocess.run(["losetup", "-d", loop])


@pytest.fixture
def lvd(vg):
    name, cfg = vg
    d = Stratad(short_tmpdir(), extra_args=["--lvm-config", cfg]).start()
    yield d, name, cfg
    cleanup(d)


def lvs(cfg, vg):
    r = lvm(cfg, "lvs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o", "lv_name,lv_size", vg)
    assert r.returncode == 0, r.stderr
    return {x["lv_name"]: int(x["lv_size"]) for x in json.loads(r.stdout)["report"][0]["lv"]}


def vg_size_free(cfg, vg):
    r = lvm(cfg, "vgs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o", "vg_size,vg_free", vg)
    row = json.loads(r.stdout)["report"][0]["vg"][0]
    return int(row["vg_size"]), int(row["vg_free"])


def test_logical_pool_volumes(lvd):
    d, vg, cfg = lvd
    pool = d.ok("POST", "/v1/pools", {"name": "lv", "type": "logical", "vg": vg})
    size, free = vg_size_free(cfg, vg)
    assert pool["type"] == "logical" and pool["vg"] == vg and pool["state"] == "active"
    assert pool["capacity"] == size and pool["available"] == free and pool["volumes"] == 0

    v = d.ok("POST", "/v1/pools/lv/volumes", {"name": "disk0", "capacity": "8M"})
    assert v["format"] == "raw" and v["capacity"] == 8 << 20 and v["path"] == f"/dev/{vg}/disk0"
    assert lvs(cfg, vg) == {"disk0": 8 << 20}
    d.cli("vol-create-as", "lv", "disk1", "4M")
    assert lvs(cfg, vg) == {"disk0": 8 << 20, "disk1": 4 << 20}
    listed = json.loads(d.cli("--json", "vol-list", "lv").stdout)
    assert sorted((x["name"], x["capacity"]) for x in listed) == [("disk0", 8 << 20), ("disk1", 4 << 20)]
    info = d.ok("GET", "/v1/pools/lv")
    assert info["available"] == free - (12 << 20) and info["volumes"] == 2
    assert d.cli("vol-path", "disk0", "--pool", "lv").stdout.strip() == f"/dev/{vg}/disk0"

    # resize: grow, refuse a silent shrink, shrink when asked
    assert d.ok("POST", "/v1/pools/lv/volumes/disk0/resize", {"capacity": "16M"})["capacity"] == 16 << 20
    assert lvs(cfg, vg)["disk0"] == 16 << 20
    status, reply = d.call("POST", "/v1/pools/lv/volumes/disk0/resize", {"capacity": "4M"})
    assert status == 400 and "shrink" in reply["error"]["message"]
    assert lvs(cfg, vg)["disk0"] == 16 << 20
    d.cli("vol-resize", "disk0", "4M", "--pool", "lv", "--shrink")
    assert lvs(cfg, vg)["disk0"] == 4 << 20

    # refusals change nothing
    before = lvs(cfg, vg)
    for body, code in (({"name": "disk0", "capacity": "4M"}, 409), ({"name": "q", "capacity": "4M", "format": "qcow2"}, 400),
                       ({"name": "../x", "capacity": "4M"}, 400), ({"name": "big", "capacity": "1G"}, 400)):
        status, reply = d.call("POST", "/v1/pools/lv/volumes", body)
        assert status == code, (body, reply)
    assert d.call("POST", "/v1/pools/lv/volumes/disk0/clone", {"name": "c"})[0] == 400
    assert d.call("GET", "/v1/pools/lv/volumes/nope")[0] == 404
    assert lvs(cfg, vg) == before

    d.cli("vol-delete", "disk1", "--pool", "lv")
    assert d.call("DELETE", "/v1/pools/lv/volumes/disk1")[0] == 404
    d.ok("DELETE", "/v1/pools/lv/volumes/disk0")
    assert lvs(cfg, vg) == {}
    d.ok("DELETE", "/v1/pools/lv")
    # the volume group is the administrator's: undefining the pool keeps it
    assert vg_size_free(cfg, vg) == (size, free)


def test_logical_pool_bad_input(lvd):
    d, vg, cfg = lvd
    for body in ({"name": "x", "type": "logical"}, {"name": "x", "type": "logical", "vg": "nosuchvg"},
                 {"name": "x", "type": "logical", "vg": vg, "path": "/tmp"}, {"name": "x", "type": "dir", "vg": vg},
                 {"name": "x", "type": "logical", "vg": "../etc"}):
        status, reply = d.call("POST", "/v1/pools", body)
        assert status == 400, (body, reply)
    assert d.ok("GET", "/v1/pools") == []
    d.cli("pool-define-as", "lv", "logical", vg)
    assert json.loads(d.cli("--json", "pool-info", "lv").stdout)["vg"] == vg
    # a domain's disk on an LV: defined with the LV's path; the pool stays while it is used
    d.ok("POST", "/v1/pools/lv/volumes", {"name": "root", "capacity": "4M"})
    dom = d.ok("POST", "/v1/domains", {"name": "onlv", "memory_mib": 16, "os": {"kernel": guest("pwrbtn")},
                                       "disks": [{"pool": "lv", "volume": "root"}]})
    assert dom["definition"]["disks"][0]["path"] == f"/dev/{vg}/root"
    assert d.call("DELETE", "/v1/pools/lv")[0] == 409
    if not HAVE_DM:
        # the LV has no device node without activation: start says so, and nothing runs
        status, reply = d.call("POST", "/v1/domains/onlv/start")
        assert status == 400 and f"/dev/{vg}/root" in reply["error"]["message"]
        assert d.vmm_pids() == []
    d.ok("DELETE", "/v1/domains/onlv?volumes=1")
    assert lvs(cfg, vg) == {}


def test_guest_writes_to_a_logical_volume(lvd):
    d, vg, cfg = lvd
    if not HAVE_DM:
        skip_loudly("no device-mapper in this kernel: logical volumes cannot be activated, so no guest can use one")
    d.ok("POST", "/v1/pools", {"name": "lv", "type": "logical", "vg": vg})
    d.ok("POST", "/v1/pools/lv/volumes", {"name": "root", "capacity": "8M"})
    d.ok("POST", "/v1/domains", {"name": "lvguest", "memory_mib": 64,
                                 "os": {"kernel": guest("host-io"), "cmdline": "seed=77"},
                                 "disks": [{"pool": "lv", "volume": "root"}]})
    from test_host_guest_io import pattern
    from hostlib import Events
    ev = Events(d)
    d.ok("POST", "/v1/domains/lvguest/start")
    assert ev.expect("lvguest", "started", "stopped", timeout=120)[1]["reason"] == "poweroff"
    with open(f"/dev/{vg}/root", "rb") as f:
        f.seek(1 << 20)
        assert f.read(65536) == pattern(77, 1 << 20, 65536)


def test_logical_pool_from_libvirt_xml(lvd, tmp_path):
    """Issue 13, item 12: a logical pool from libvirt's pool XML, and pool-dumpxml."""
    d, vg, cfg = lvd
    f = tmp_path / "pool.xml"
    f.write_text(f"<pool type='logical'><name>lvx</name><source><name>{vg}</name><device path='/dev/loop9'/>"
                 f"<format type='lvm2'/></source><target><path>/dev/{vg}</path></target></pool>")
    d.cli("pool-define", f)
    assert d.ok("GET", "/v1/pools/lvx")["vg"] == vg
    x = ET.fromstring(d.cli("pool-dumpxml", "lvx").stdout)
    assert x.get("type") == "logical" and x.find("source/name").text == vg
    assert x.find("target/path").text == f"/dev/{vg}"
    d.ok("DELETE", "/v1/pools/lvx")
