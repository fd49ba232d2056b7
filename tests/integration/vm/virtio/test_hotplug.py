"""PCI hotplug of virtio-blk disks (docs/virtio.md, "Disk hotplug"): the
control socket's disk-attach and disk-detach against the test guest
tests/guest/pci-hotplug.c, which does what a guest's AML and acpiphp do (GPE 1,
PCIU, PCID, B0EJ), and the DSDT's hotplug AML read back by iasl."""
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import vmtest as vt
from conftest import skip_loudly

pytestmark = pytest.mark.needs_kvm
READ_BYTES = 4096


@pytest.fixture(autouse=True)
def _kvm(kvm):
    return kvm


def make_image(path, size=1 << 20):
    data = os.urandom(READ_BYTES) + b"\0" * (size - READ_BYTES)
    path.write_bytes(data)
    return data[:READ_BYTES]


def fnv(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & ((1 << 64) - 1)
    return h


def read_line(head):
    """What the guest prints for a disk whose first 4 KiB are head."""
    return f"reads {head[:16].hex()} fnv {fnv(head):016x}"


def devices(ctl):
    r = ctl.execute("query-devices")
    assert "return" in r, r
    return {d["name"]: d for d in r["return"]["devices"]}


def open_files(pid):
    fds = Path(f"/proc/{pid}/fd")
    out = set()
    for fd in fds.iterdir():
        try:
            out.add(os.readlink(fd))
        except OSError:
            pass
    return out


def wait_until(what, cond, vm, timeout=20):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen in {timeout} s\n{vm.describe()}")
        time.sleep(0.05)


def wait_new(vm, text, timeout=30):
    """Waits for text on the console after what earlier waits matched (the
    guest prints the same lines again after a reboot)."""
    start = getattr(vm, "mark", 0)
    deadline = time.monotonic() + timeout
    while text not in vm.console[start:]:
        if time.monotonic() > deadline or not vm.alive():
            vm.wait_for(text if text not in vm.console else "\0never", timeout=1)
        time.sleep(0.02)
    vm.mark = vm.console.index(text, start) + len(text)


def error_of(reply):
    assert "error" in reply and "return" not in reply, reply
    assert reply["error"]["class"] == "GenericError", reply
    assert len(reply["error"]["desc"]) > 10, reply
    return reply["error"]["desc"]


def attach_round(vm, ctl, image, head, rnd, names, slots):
    wait_new(vm, f"hotplug: round {rnd}: waiting for attach")
    r = ctl.execute("disk-attach", disk=f"{image},serial=hot{rnd},id=vd{rnd}")
    assert "return" in r, r
    name, slot = r["return"]["device"], r["return"]["slot"]
    assert name not in names, f"device name {name} used twice: {names}"
    names.append(name)
    slots.append(slot)
    wait_new(vm, f"attached slot {slot} {read_line(head)}")
    dev = devices(ctl)[name]
    assert dev["hotplugged"] and not dev["unplug_pending"] and dev["slot"] == slot, dev
    # the host's id for the disk, apart from the serial the guest reads (stratad's target)
    assert dev["path"] == str(image) and dev["serial"] == f"hot{rnd}" and dev["id"] == f"vd{rnd}", dev
    assert dev["driver_ok"], dev
    assert str(image) in open_files(vm.proc.pid)
    return name, slot


def detach_round(vm, ctl, image, name, slot, rnd, ejectwait):
    wait_new(vm, f"hotplug: round {rnd}: waiting for detach of slot {slot}")
    r = ctl.execute("disk-detach", device=name)
    assert r.get("return") == {"device": name, "slot": slot}, r
    if ejectwait:
        assert devices(ctl)[name]["unplug_pending"] is True
        desc = error_of(ctl.execute("disk-detach", device=name))
        assert "already being detached" in desc, desc
        wait_new(vm, f"hotplug: removal of slot {slot} requested")
        assert devices(ctl)[name]["unplug_pending"] is True
        assert str(image) in open_files(vm.proc.pid), "the image was closed before the eject"
        vm.send(b"e")
    wait_new(vm, f"hotplug: round {rnd}: slot {slot} ejected")
    wait_until(f"{name} leaving query-devices", lambda: name not in devices(ctl), vm)
    wait_until(f"{image} being closed", lambda: str(image) not in open_files(vm.proc.pid), vm)


def test_attach_read_detach_rounds(tmp_path):
    """Three rounds beside a boot disk and virtio-rng: each attach lands in the
    first free slot (the same one every round, with the same BAR), the guest
    reads the image's bytes through MSI-X, the detach is pending until the
    guest writes B0EJ, then the device leaves query-devices and its image is
    closed. A second detach while pending is refused. The guest's B0EJ for a
    slot nobody asked about is ignored with one warning."""
    boot = tmp_path / "boot.img"
    make_image(boot)
    rounds = 3
    with vt.LiveVM("pci-hotplug", "--disk", str(boot), "--rng", "--cmdline",
                   f"rounds={rounds} ejectwait=1 bogus=1 hold=1", tmp_path=tmp_path) as vm, \
            vm.connect() as ctl:
        wait_new(vm, "hotplug: RMV")
        rmv = int(re.search(r"hotplug: RMV ([0-9a-f]+)", vm.console).group(1), 16)
        # slot 1 (the boot disk) and the free slots 3..31; not 0 (host bridge) or 2 (rng)
        assert rmv == (0xfffffffe & ~(1 << 2)), f"{rmv:x}"
        before = devices(ctl)
        names, slots, bars = [], [], []
        for rnd in range(1, rounds + 1):
            image = tmp_path / f"hot{rnd}.img"
            head = make_image(image)
            name, slot = attach_round(vm, ctl, image, head, rnd, names, slots)
            bars.append(devices(ctl)[name]["bar0"])
            detach_round(vm, ctl, image, name, slot, rnd, ejectwait=True)
        wait_new(vm, "hotplug: done")
        vm.send(b"q")
        assert vm.wait(60) == 0, vm.describe()
        assert "hotplug: PASS" in vm.console, vm.describe()
    assert slots == [3] * rounds, slots
    assert len(set(bars)) == 1, bars
    assert set(before) == {"virtio-blk0", "virtio-rng1"}, before
    warnings = [l for l in vm.stderr.splitlines() if "was not asked" in l]
    assert len(warnings) == 1, vm.describe()
    assert "Sanitizer" not in vm.stderr and "runtime error" not in vm.stderr, vm.describe()


def test_eject_without_waiting_and_qcow2(tmp_path):
    """Two rounds without a pause between the detach and the eject, the
    second disk qcow2 and read-only (the spec string of --disk)."""
    if not shutil.which("qemu-img"):
        skip_loudly("qemu-img is missing (qemu-utils): no qcow2 image to attach")
    with vt.LiveVM("pci-hotplug", "--cmdline", "rounds=2 hold=1", tmp_path=tmp_path) as vm, \
            vm.connect() as ctl:
        raw = tmp_path / "a.img"
        head = make_image(raw)
        names, slots = [], []
        name, slot = attach_round(vm, ctl, raw, head, 1, names, slots)
        detach_round(vm, ctl, raw, name, slot, 1, ejectwait=False)
        src = tmp_path / "b.raw"
        head = make_image(src)
        q = tmp_path / "b.qcow2"
        subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(src), str(q)],
                       check=True)
        wait_new(vm, "hotplug: round 2: waiting for attach")
        r = ctl.execute("disk-attach", disk=f"{q},ro,format=qcow2,queues=2")
        assert "return" in r, r
        name2 = r["return"]["device"]
        assert name2 != name and r["return"]["slot"] == slot, (r, name, slot)
        wait_new(vm, f"attached slot {slot} {read_line(head)}")
        dev = devices(ctl)[name2]
        assert dev["read_only"] and dev["queues"] == 2, dev
        wait_new(vm, "hotplug: round 2: waiting for detach")
        assert "return" in ctl.execute("disk-detach", device=name2)
        wait_new(vm, f"hotplug: round 2: slot {slot} ejected")
        wait_until("the qcow2 image being closed", lambda: str(q) not in open_files(vm.proc.pid), vm)
        wait_new(vm, "hotplug: done")
        vm.send(b"q")
        assert vm.wait(60) == 0, vm.describe()
    assert "hotplug: PASS" in vm.console
    check = subprocess.run(["qemu-img", "check", str(q)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_hot_disk_survives_reboot(tmp_path):
    """A round, then a disk attached and the machine reset (--on-reboot
    restart): after the reboot the disk is there from power-on with the
    hotplug registers cleared, reads the same bytes, and detaches."""
    with vt.LiveVM("pci-hotplug", "--on-reboot", "restart", "--cmdline", "rounds=1 reboot=1 hold=1",
                   tmp_path=tmp_path) as vm, vm.connect() as ctl:
        names, slots = [], []
        a = tmp_path / "a.img"
        head = make_image(a)
        name, slot = attach_round(vm, ctl, a, head, 1, names, slots)
        detach_round(vm, ctl, a, name, slot, 1, ejectwait=False)
        b = tmp_path / "b.img"
        head = make_image(b)
        wait_new(vm, "hotplug: round 2: waiting for attach")
        r = ctl.execute("disk-attach", disk=str(b))
        name, slot = r["return"]["device"], r["return"]["slot"]
        wait_new(vm, f"before reboot slot {slot} {read_line(head)}")
        wait_new(vm, f"hotplug: rebooting with slot {slot} attached")
        wait_new(vm, f"after reboot slot {slot} {read_line(head)}", timeout=60)
        dev = devices(ctl)[name]
        assert not dev["unplug_pending"] and dev["slot"] == slot, dev
        detach_round(vm, ctl, b, name, slot, 1, ejectwait=False)
        wait_new(vm, "hotplug: done")
        vm.send(b"q")
        assert vm.wait(60) == 0, vm.describe()
    assert "hotplug: PASS" in vm.console
    assert vm.console.count("hotplug: RMV") == 2, vm.describe()  # two boots


def test_bad_input_changes_nothing(tmp_path):
    """Each bad request gets one clear error and changes nothing: no device,
    no open file, no slot taken. A guest that never ejects (the idle guest)
    leaves a detached disk pending; a second detach is refused; when every
    slot is taken the next attach is refused."""
    boot = tmp_path / "boot.img"
    make_image(boot)
    with vt.LiveVM("idle", "--disk", str(boot), "--rng", tmp_path=tmp_path) as vm, \
            vm.connect() as ctl:
        before = devices(ctl)
        files = open_files(vm.proc.pid)
        missing = tmp_path / "missing.img"
        good = tmp_path / "good.img"
        make_image(good)
        cases = [
            (("disk-attach", {}), "needs"),
            (("disk-attach", {"disk": 7}), "needs"),
            (("disk-attach", {"disk": f"{good},bogus=1"}), "unknown disk option"),
            (("disk-attach", {"disk": f"{good},queues=99"}), "queues"),
            (("disk-attach", {"disk": f"{good},format=vmdk"}), "format"),
            (("disk-attach", {"disk": str(missing)}), "missing.img"),
            (("disk-detach", {}), "needs"),
            (("disk-detach", {"device": "virtio-blk9"}), "no device"),
            (("disk-detach", {"device": "virtio-rng1"}), "not a disk"),
        ]
        for (cmd, args), word in cases:
            desc = error_of(ctl.execute(cmd, **args))
            assert word in desc, (cmd, args, desc)
            assert devices(ctl) == before, (cmd, args)
        assert open_files(vm.proc.pid) == files
        assert not missing.exists()

        # the boot disk may be detached too; the idle guest never ejects it
        r = ctl.execute("disk-detach", device="virtio-blk0")
        assert r["return"] == {"device": "virtio-blk0", "slot": 1}, r
        assert "already being detached" in error_of(ctl.execute("disk-detach", device="virtio-blk0"))
        assert devices(ctl)["virtio-blk0"]["unplug_pending"] is True

        # slots 1 and 2 are taken: 29 more disks fit, the 30th does not
        attached = []
        for i in range(29):
            r = ctl.execute("disk-attach", disk=f"{good},ro")
            assert "return" in r, (i, r)
            attached.append(r["return"])
        assert sorted(a["slot"] for a in attached) == list(range(3, 32))
        assert len({a["device"] for a in attached}) == 29
        now = devices(ctl)
        desc = error_of(ctl.execute("disk-attach", disk=f"{good},ro"))
        assert "no free PCI slot" in desc, desc
        assert devices(ctl).keys() == now.keys()
        assert vm.alive(), vm.describe()
        ctl.execute("quit")
        assert vm.wait(30) == 0, vm.describe()
    assert "Sanitizer" not in vm.stderr and "runtime error" not in vm.stderr, vm.describe()


def test_dsdt_hotplug_aml_disassembles(tmp_path):
    """The DSDT read by the guest, disassembled by iasl: a Device Sxx with
    _ADR, _SUN and _EJ0 for every hotplug-capable slot (not for virtio-rng's
    slot), the register fields, PCNT's Notify calls and \\_GPE._E01; and the
    disassembly compiles again without errors."""
    iasl = shutil.which("iasl")
    if not iasl:
        skip_loudly("iasl is missing (acpica-tools): cannot disassemble the DSDT")
    disk = tmp_path / "d.img"
    make_image(disk)
    r = vt.run_guest("pci-hotplug", "--disk", str(disk), "--rng", "--cmdline", "dsdt=1",
                     timeout=60)
    assert r.rc == 0, r
    m = re.search(r"dsdt-begin (\d+)", r.out)
    aml = bytes.fromhex("".join(re.findall(r"dsdt-hex ([0-9a-f]+)", r.out)))
    assert m and len(aml) == int(m.group(1)), r
    (tmp_path / "dsdt.aml").write_bytes(aml)
    d = subprocess.run([iasl, "-d", "dsdt.aml"], cwd=tmp_path, capture_output=True, text=True)
    assert d.returncode == 0, d.stdout + d.stderr
    dsl = (tmp_path / "dsdt.dsl").read_text()
    assert "OperationRegion (PCST, SystemIO, 0xAE00, 0x10)" in dsl, dsl
    for field in ("PCIU,   32", "PCID,   32", "B0EJ,   32"):
        assert field in dsl, field
    devices_ = re.findall(r"Device \(S([0-9A-F]{2})\)", dsl)
    assert devices_ == [f"{s:02X}" for s in range(1, 32) if s != 2], devices_
    assert len(re.findall(r"Method \(_EJ0, 1", dsl)) == 30
    assert "Name (_ADR, 0x00030000)" in dsl and "B0EJ = 0x08" in dsl
    assert re.search(r"Method \(PCNT, 0, Serialized\)", dsl)
    assert "Notify (S03, One)" in dsl and "Notify (S03, 0x03)" in dsl
    assert "Notify (S02" not in dsl
    assert re.search(r"Scope \(\\_GPE\)\s*\{\s*Method \(_E01, 0", dsl), dsl
    assert "\\_SB.PCI0.PCNT ()" in dsl
    c = subprocess.run([iasl, "-p", "again", "dsdt.dsl"], cwd=tmp_path, capture_output=True,
                       text=True)
    assert c.returncode == 0 and "0 Errors" in c.stdout, c.stdout + c.stderr
