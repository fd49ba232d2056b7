"""Debian's own virtio drivers, as shipped (modules of linux-image-cloud-amd64),
on strata-vm: one boot of the Debian kernel whose initramfs loads the modules
and drives every device once (tests/integration/vm/linux/init-debian-virtio); the host checks
the other side of each: the file written on the ext4 disk, the read-only disk
unchanged, the line on hvc0, ping and a TCP payload received in the VMM's
network namespace, the balloon inflated to the target set on the control socket.
Opt-in on kvm_pvm hosts (STRATA_LINUX_DEBIAN=1), like the Debian boot in
test_boot.py: the stock kernel needs far longer than CI gives it there."""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import program, skip_loudly
import linux_guest as lg

pytestmark = [pytest.mark.slow, pytest.mark.needs_kvm]

TIMEOUT = int(os.environ.get("STRATA_LINUX_DEBIAN_TIMEOUT", "5400"))
MAC = "52:54:00:de:b1:a7"
MEMORY_MIB, BALLOON_TARGET_MIB = 256, 240   # 16 MiB = 4096 pages for the balloon
INIT = Path(__file__).resolve().parent / "init-debian-virtio"
# Debian's ptp_kvm (whose clock-pairing hypercall never returns on kvm_pvm) is a
# module this initramfs never loads, so kvm-clock stays on.
CMDLINE = "console=ttyS0 earlyprintk=serial panic=-1"


def mount_count(img):
    out = subprocess.run(["dumpe2fs", "-h", str(img)], capture_output=True, text=True).stdout
    return int(re.search(r"^Mount count:\s+(\d+)", out, re.M).group(1))


def initramfs(d, busybox_cpio, modules_cpio):
    """busybox initramfs + the virtio modules + this test's /init: Linux unpacks
    concatenated cpio archives in turn, later files replacing earlier ones."""
    root = d / "overlay"
    root.mkdir()
    shutil.copy(INIT, root / "init")
    (root / "init").chmod(0o755)
    overlay = subprocess.run(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"], cwd=root,
                             input=b"init\n", capture_output=True, check=True).stdout
    out = d / "initramfs-debian-virtio.cpio"
    out.write_bytes(busybox_cpio.read_bytes() + modules_cpio.read_bytes() + overlay)
    return out


@pytest.fixture(scope="module")
def guest(tmp_path_factory, request):
    if lg.is_pvm_host() and not os.environ.get("STRATA_LINUX_DEBIAN"):
        skip_loudly("the Debian kernel needs more than CI's time to boot on this software-assisted "
                    "nested KVM (kvm_pvm); set STRATA_LINUX_DEBIAN=1 to run its virtio boot "
                    "(docs/linux-guests.md)")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip_loudly("/dev/kvm is missing or not accessible on this host")
    kernel, busybox, modules = (lg.asset("debian-cloud.bzImage"), lg.asset("initramfs.cpio"),
                                lg.asset("debian-cloud.virtio-modules.cpio"))
    if not (kernel and busybox and modules):
        skip_loudly(f"Linux assets missing in {lg.cache_dir()}: run scripts/fetch-assets.sh")
    for tool in ("mkfs.ext4", "dumpe2fs", "e2fsck", "debugfs", "ip", "cpio"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}") \
                and not os.path.exists(f"/sbin/{tool}"):
            skip_loudly(f"{tool} is missing (scripts/deps)")
    d = tmp_path_factory.mktemp("debian-virtio")
    g = type("Guest", (), {})()
    g.root, g.ro, g.hvc, g.ctl = d / "root.img", d / "ro.img", d / "hvc0.log", str(d / "control.sock")
    for img, mib in ((g.root, 64), (g.ro, 8)):
        with open(img, "wb") as f:
            f.truncate(mib << 20)
        subprocess.run(["mkfs.ext4", "-q", "-F", str(img)], check=True)
    g.mounts_before = mount_count(g.root)
    g.ro_hash = hashlib.sha256(g.ro.read_bytes()).hexdigest()
    initrd = initramfs(d, busybox, modules)

    ns = f"strata-dv{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", ns]).returncode:
        skip_loudly("cannot create a network namespace")
    in_ns = ["ip", "netns", "exec", ns]
    listener = None
    g.tcp_file = d / "tcp.bin"
    try:
        # A persistent tap the VMM attaches to by name, addressed before the boot.
        subprocess.run(in_ns + ["ip", "tuntap", "add", "dev", "vt0", "mode", "tap", "vnet_hdr"], check=True)
        subprocess.run(in_ns + ["ip", "addr", "add", "10.0.2.2/24", "dev", "vt0"], check=True)
        subprocess.run(in_ns + ["ip", "link", "set", "vt0", "up"], check=True)
        subprocess.run(in_ns + ["ip", "link", "set", "lo", "up"], check=True)
        listener = subprocess.Popen(in_ns + [sys.executable, "-c", (
            "import socket\n"
            "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            "s.bind(('10.0.2.2', 7777)); s.listen(1); c, _ = s.accept(); data = b''\n"
            "while (chunk := c.recv(65536)): data += chunk\n"
            f"open({str(g.tcp_file)!r}, 'wb').write(data)\n")])

        g.balloon = None

        def drive_control():
            deadline = time.monotonic() + 120
            while not os.path.exists(g.ctl) and time.monotonic() < deadline:
                time.sleep(0.2)
            try:
                lg.control(g.ctl, "balloon-set", target_mib=BALLOON_TARGET_MIB)
                while True:   # the last answer before the guest stops is what the test sees
                    time.sleep(2)
                    g.balloon = lg.control(g.ctl, "balloon-stats")["return"]
            except (OSError, ValueError, KeyError):
                pass
        threading.Thread(target=drive_control, daemon=True).start()

        vm = program("src", "vm", "strata-vm")
        extra = ("--host-profile", "nested", "--control", g.ctl,
                 "--disk", f"{g.root},serial=debianroot", "--disk", f"{g.ro},ro", "--rng",
                 "--vconsole", f"file:{g.hvc}", "--net", f"tap=vt0,mac={MAC}", "--balloon",
                 "--vsock", f"cid=3,uds={d / 'vsock'}")
        g.boot = lg.boot("debian-virtio", vm, kernel, initrd, CMDLINE, 2, MEMORY_MIB, TIMEOUT,
                         extra=extra, wrap=in_ns)
    finally:
        if listener:
            listener.kill()
            listener.wait()
        subprocess.run(["ip", "netns", "del", ns])
    g.console = g.boot.console
    g.mounts_after = mount_count(g.root)
    g.fsck = subprocess.run(["e2fsck", "-fn", str(g.root)], capture_output=True, text=True)
    g.file = subprocess.run(["debugfs", "-R", "cat /debian.txt", str(g.root)],
                            capture_output=True, text=True).stdout
    g.hvc_text = g.hvc.read_text(errors="replace") if g.hvc.exists() else ""
    g.tcp = g.tcp_file.read_text(errors="replace") if g.tcp_file.exists() else ""
    return g


def line(g, pattern, what):
    m = re.search(pattern, g.console, re.M)
    assert m, f"the console never showed {what} (/{pattern}/)\n{g.boot.tail()}"
    return m


def test_user_space_runs_and_loads_every_virtio_module(guest):
    line(guest, r"^STRATA-INIT: user space is up", "/init running")
    failed = re.findall(r"^STRATA-INIT: insmod (\S+): FAILED", guest.console, re.M)
    assert not failed, f"modules that did not load: {failed}\n{guest.boot.tail()}"
    line(guest, r"^STRATA-INIT: insmod virtio_pci.ko: ok", "virtio_pci loaded")


def test_each_device_bound_to_its_stock_driver(guest):
    bound = dict(re.findall(r"^STRATA-INIT: virtio \S+ device=0x00(\w\w) driver=(\S*)",
                            guest.console, re.M))
    want = {"02": "virtio_blk", "01": "virtio_net", "03": "virtio_console", "04": "virtio_rng",
            "05": "virtio_balloon", "13": "vmw_vsock_virtio_transport"}
    for dev, drv in want.items():
        assert bound.get(dev) == drv, f"virtio device id {dev}: bound to {bound.get(dev)!r}, expected {drv}"


def test_ext4_disk_written_through_virtio_blk(guest):
    line(guest, r"^STRATA-INIT: vda mounted read-write", "the ext4 disk mounted")
    line(guest, r"^STRATA-INIT: vda unmounted", "the disk unmounted cleanly")
    line(guest, r"^STRATA-INIT: vda serial=debianroot$", "the disk's serial (get-id)")
    assert guest.mounts_after == guest.mounts_before + 1, \
        f"mount count {guest.mounts_before} -> {guest.mounts_after}"
    assert guest.fsck.returncode == 0, guest.fsck.stdout + guest.fsck.stderr
    sha = line(guest, r"^STRATA-INIT: vda file sha256=(\w+)", "the file's checksum").group(1)
    assert guest.file.startswith("written by Debian"), f"the host reads {guest.file!r}"
    assert hashlib.sha256(guest.file.encode()).hexdigest() == sha


def test_read_only_disk_refuses_writes(guest):
    line(guest, r"^STRATA-INIT: vdb ro=1$", "vdb marked read-only")
    line(guest, r"^STRATA-INIT: vdb write: refused", "the write refused")
    assert hashlib.sha256(guest.ro.read_bytes()).hexdigest() == guest.ro_hash


def test_hwrng_is_virtio(guest):
    line(guest, r"^STRATA-INIT: hwrng current=virtio_rng", "virtio_rng as the current hwrng")
    m = line(guest, r"^STRATA-INIT: hwrng bytes=([0-9a-f]*)$", "bytes from /dev/hwrng")
    assert len(m.group(1)) == 64 and m.group(1) != "0" * 64


def test_virtio_console_carries_output(guest):
    assert "hello from Debian over hvc0" in guest.hvc_text, f"hvc0 file: {guest.hvc_text[-300:]!r}"


def test_network_ping_and_tcp(guest):
    line(guest, rf"^STRATA-INIT: eth0 mac={MAC}$", "the MAC given with --net")
    line(guest, r"^STRATA-INIT: ping 10.0.2.2: ok", "ping to the host's tap")
    payload = line(guest, r"^STRATA-INIT: tcp payload=(\S+)", "the TCP payload").group(1)
    assert guest.tcp.strip() == payload, f"the host received {guest.tcp!r}"


def test_balloon_inflates_to_target(guest):
    """The stock driver gave the VMM the pages the target asks for (inflate queue,
    each freed on the host) and reported the balloon's size back."""
    want = (MEMORY_MIB - BALLOON_TARGET_MIB) * 256
    b = guest.balloon or {}
    assert b.get("inflated_pages", 0) - b.get("deflated_pages", 0) == want, \
        f"balloon-stats: {b}, expected {want} pages inflated"
    assert b.get("freed_bytes") == want * 4096, f"balloon-stats: {b}"
    assert b.get("actual_pages") == want, f"the driver never reported the size: {b}"


def test_powers_off(guest):
    line(guest, r"reboot: Power down", "the kernel powering off")
    assert not guest.boot.timed_out and guest.boot.status == 0, guest.boot.tail()
