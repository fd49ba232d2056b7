"""Disks attached to and detached from a domain (virsh attach-disk and
detach-disk): while it is shut off only its definition changes; while it runs
stratad also hands the disk to strata-vm (PCI hotplug, docs/virtio.md), and the
test guest tests/guest/pci-hotplug.c, doing what a guest's ACPI and acpiphp do,
reads the hot disk's first bytes (checked here) and ejects it on the detach."""
import json
import os

from hostlib import Events, guest, stratad, wait_console  # noqa: F401  (fixture)


def fnv(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & ((1 << 64) - 1)
    return h


def define(d, name, body):
    f = d.state_dir / f"{name}.json"
    f.write_text(json.dumps({"name": name, "memory_mib": 64, **body}))
    d.cli("define", f)


def disks(d, name):
    return json.loads(d.cli("--json", "dominfo", name).stdout)["definition"]["disks"]


def test_attach_read_detach_while_running(stratad, tmp_path):
    d = stratad
    head = os.urandom(4096)
    hot = tmp_path / "hot.raw"
    hot.write_bytes(head + bytes((1 << 20) - 4096))
    define(d, "hp", {"os": {"kernel": guest("pci-hotplug"), "cmdline": "rounds=1 ejectwait=1 hold=1"}})
    ev = Events(d)
    d.cli("start", "hp")
    ev.expect("hp", "started")
    wait_console(d, "hp", "round 1: waiting for attach")
    # bad input first: nothing reaches the guest, the definition stays empty
    for args, what in ((["/nonexistent.raw"], "No such file"), ([str(hot), "sdb"], "not vda..vdz"),
                       ([str(hot), "--format", "vmdk"], "not raw or qcow2")):
        r = d.cli("attach-disk", "hp", *args, check=False)
        assert r.returncode == 1 and what in r.stderr and len(r.stderr.strip().splitlines()) == 1, r
    assert disks(d, "hp") == []
    out = d.cli("attach-disk", "hp", str(hot), "vdc").stdout
    assert "Disk vdc attached to the running guest" in out, out
    assert ev.expect("hp", "disk-attached")[0]["reason"] == "vdc attached to the running guest"
    console = wait_console(d, "hp", "waiting for detach")
    assert f"reads {head[:16].hex()} fnv {fnv(head):016x}" in console, console
    info = json.loads(d.cli("--json", "dominfo", "hp").stdout)
    assert [x["target"] for x in info["definition"]["disks"]] == ["vdc"]
    assert "device" not in info["definition"]["disks"][0], "the reply's device leaked into the definition"
    hot_dev = [x for x in info["devices"] if x.get("serial") == "vdc"]
    assert len(hot_dev) == 1 and hot_dev[0]["path"] == str(hot), info["devices"]
    rows = [line.split() for line in d.cli("domblklist", "hp").stdout.splitlines()[2:]]
    assert rows == [["vdc", str(hot), "raw", "rw", hot_dev[0]["name"]]], rows
    r = d.cli("attach-disk", "hp", str(hot), "vdc", check=False)
    assert r.returncode == 1 and "already has a disk vdc" in r.stderr, r
    r = d.cli("detach-disk", "hp", "vdx", check=False)
    assert r.returncode == 1 and "has no disk vdx" in r.stderr, r
    out = d.cli("detach-disk", "hp", "vdc").stdout
    assert "the guest ejects it" in out, out
    assert ev.expect("hp", "disk-detach-requested")[0]["reason"] == "vdc"
    assert disks(d, "hp") == []
    # the guest holds the eject until it gets a byte on its console
    wait_console(d, "hp", "removal of slot")
    rows = [line.split() for line in d.cli("domblklist", "hp").stdout.splitlines()[2:]]
    assert rows == [["vdc", str(hot), "-", "-", "(being", "ejected)"]], rows
    d.cli("console", "hp", input="e")
    # the guest ejects the slot, ends its one round and waits
    console = wait_console(d, "hp", "hotplug: done")
    assert "round 1: slot" in console and "ejected" in console, console[-2000:]
    info = json.loads(d.cli("--json", "dominfo", "hp").stdout)
    assert not [x for x in info["devices"] if x.get("type") == "virtio-blk"], info["devices"]
    log = (d.state_dir / "log" / "hp.log").read_text(errors="replace")
    assert "ejected by the guest" in log, log
    d.cli("destroy", "hp")


def test_attach_and_detach_while_shut_off(stratad, tmp_path):
    d = stratad
    pool = tmp_path / "pool"
    d.cli("pool-define-as", "hpp", "dir", pool)
    d.cli("vol-create-as", "hpp", "data.qcow2", "4M", "--format", "qcow2")
    raw = tmp_path / "ro.raw"
    raw.write_bytes(bytes(1 << 20))
    define(d, "off", {"os": {"kernel": guest("pci-hotplug")},
                      "disks": [{"path": str(raw), "readonly": True}]})
    ev = Events(d)
    out = d.cli("attach-disk", "off", "data.qcow2", "--pool", "hpp", "--format", "qcow2").stdout
    assert "Disk vdb attached (" in out and "running" not in out, out
    assert ev.expect("off", "disk-attached")[0]["reason"] == "vdb added"
    got = disks(d, "off")
    assert [(x["target"], x["format"], x.get("pool"), x["readonly"]) for x in got] == \
        [("vda", "raw", None, True), ("vdb", "qcow2", "hpp", False)], got
    assert '<source pool="hpp" volume="data.qcow2"/>' in d.cli("dumpxml", "off").stdout
    rows = [line.split() for line in d.cli("domblklist", "off").stdout.splitlines()[2:]]
    assert rows == [["vda", str(raw), "raw", "ro", "-"], ["vdb", str(pool / "data.qcow2"), "qcow2", "rw", "-"]], rows
    r = d.cli("attach-disk", "off", "nosuch.qcow2", "--pool", "hpp", check=False)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r
    r = d.cli("attach-disk", "nodom", str(raw), check=False)
    assert r.returncode == 1 and "nodom" in r.stderr, r
    status, body = d.call("POST", "/v1/domains/off/disks", {"path": str(raw), "bogus": 1})
    assert status == 400 and "bogus" in body["error"]["message"], (status, body)
    for i in range(6):  # eight disks at most
        d.cli("attach-disk", "off", str(raw), "--readonly")
    assert [x["target"] for x in disks(d, "off")] == [f"vd{c}" for c in "abcdefgh"]
    assert [e["reason"] for e in ev.expect("off", *["disk-attached"] * 6)] == [f"vd{c} added" for c in "cdefgh"]
    status, body = d.call("POST", "/v1/domains/off/disks", {"path": str(raw), "readonly": True})
    assert status == 409 and "8 disks" in body["error"]["message"], (status, body)
    out = d.cli("detach-disk", "off", "vdb").stdout
    assert "ejects" not in out, out
    assert ev.expect("off", "disk-detached")[0]["reason"] == "vdb"
    assert "vdb" not in [x["target"] for x in disks(d, "off")]
    d.cli("vol-delete", "data.qcow2", "--pool", "hpp")
    # the change is in the database: a restarted daemon still has it
    d.stop()
    d.start()
    assert [x["target"] for x in disks(d, "off")] == [f"vd{c}" for c in "acdefgh"]
