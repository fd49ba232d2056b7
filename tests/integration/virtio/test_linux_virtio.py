"""Linux's own virtio drivers on strata-vm, in one boot of the small test
kernel (scripts/kernel/): root=/dev/vda on an ext4 image made here (the host
then sees the mount in the superblock and e2fsck -fn clean), a read-only second
disk, console=hvc0 over virtio-console, virtio-rng requests, the balloon
inflating to a target set on the control socket, and ip=dhcp on virtio-net
getting a lease from dnsmasq on the host side of the tap, with netconsole
sending kernel messages to a UDP listener. The VMM runs in a network namespace.
Guest user space is not needed: everything here is done by the kernel."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "linux"))
from conftest import program, skip_loudly  # noqa: E402
import linux_guest as lg  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.needs_kvm]

TIMEOUT = int(os.environ.get("STRATA_LINUX_VIRTIO_TIMEOUT", "600"))
MAC = "52:54:00:12:34:99"
BALLOON_TARGET_MIB = 248   # of 256: 8 MiB = 2048 pages for the balloon


def dumpe2fs(img):
    out = subprocess.run(["dumpe2fs", "-h", str(img)], capture_output=True, text=True).stdout
    count = int(re.search(r"^Mount count:\s+(\d+)", out, re.M).group(1))
    when = re.search(r"^Last mount time:\s+(.*)$", out, re.M).group(1).strip()
    return count, when


class Boot:
    pass


def control(path, name, **args):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    req = {"execute": name}
    if args:
        req["arguments"] = args
    s.sendall(json.dumps(req).encode() + b"\n")
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    return json.loads(buf)


@pytest.fixture(scope="module")
def linux(tmp_path_factory):
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip_loudly("/dev/kvm is missing or not accessible on this host")
    kernel = lg.asset("small.bzImage")
    if not kernel:
        skip_loudly("the small test kernel is not built (scripts/fetch-assets.sh)")
    for tool in ("mkfs.ext4", "dumpe2fs", "e2fsck", "ip", "dnsmasq"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            skip_loudly(f"{tool} is missing (scripts/deps/virtio.txt)")
    d = tmp_path_factory.mktemp("linux-virtio")
    b = Boot()
    b.root, b.ro, b.hvc = d / "root.img", d / "ro.img", d / "hvc0.log"
    for img, mib in ((b.root, 64), (b.ro, 16)):
        with open(img, "wb") as f:
            f.truncate(mib << 20)
        subprocess.run(["mkfs.ext4", "-q", "-F", str(img)], check=True)
    b.mounts_before = dumpe2fs(b.root)
    ns = f"strata-lv{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", ns]).returncode:
        skip_loudly("cannot create a network namespace")
    ctl = str(d / "control.sock")
    vm = program("src", "vm", "strata-vm")
    cmdline = ("console=ttyS0 console=hvc0 earlyprintk=serial root=/dev/vda rw panic=-1 "
               "ip=dhcp netconsole=6665@10.0.2.15/eth0,6666@10.0.2.2/ "
               # ptp_kvm's KVM_HC_CLOCK_PAIRING hypercall never returns on kvm_pvm; without
               # kvm-clock ptp_kvm gives up before making it
               "no-kvmclock")
    cmd = ["ip", "netns", "exec", ns, str(vm), "--kernel", str(kernel), "--memory", "256",
           "--disk", f"{b.root},serial=rootdisk", "--disk", f"{b.ro},ro", "--rng", "--balloon",
           "--vconsole", f"file:{b.hvc}", "--net", f"tap=vt0,mac={MAC}", "--control", ctl,
           "--cmdline", cmdline]
    lease = d / "leases"
    dnsmasq = udp = None
    try:
        b.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, errors="replace")
        deadline = time.monotonic() + 30
        while subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "show", "vt0"],
                             capture_output=True).returncode:
            assert time.monotonic() < deadline, "the VMM did not create its tap"
            time.sleep(0.1)
        run_ns = ["ip", "netns", "exec", ns]
        subprocess.run(run_ns + ["ip", "addr", "add", "10.0.2.2/24", "dev", "vt0"], check=True)
        subprocess.run(run_ns + ["ip", "link", "set", "vt0", "up"], check=True)
        dnsmasq = subprocess.Popen(run_ns + [
            "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--port=0",
            "--interface=vt0", "--bind-interfaces", "--dhcp-range=10.0.2.15,10.0.2.50,1h",
            f"--dhcp-host={MAC},10.0.2.15",
            f"--dhcp-leasefile={lease}", f"--pid-file={d / 'dnsmasq.pid'}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        # netconsole listener inside the namespace
        udp_out = d / "netconsole.log"
        udp = subprocess.Popen(run_ns + [sys.executable, "-c", (
            "import socket,sys\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('10.0.2.2',6666))\n"
            f"f=open({str(udp_out)!r},'ab',0)\n"
            "while True: f.write(s.recv(65536))\n")])
        # the balloon's target, set before the driver probes so it inflates at once
        deadline = time.monotonic() + 30
        while not os.path.exists(ctl):
            assert time.monotonic() < deadline, "no control socket"
            time.sleep(0.1)
        assert "return" in control(ctl, "balloon-set", target_mib=BALLOON_TARGET_MIB)
        console = []
        reader = threading.Thread(target=lambda: console.extend(b.proc.stdout), daemon=True)
        reader.start()
        b.devices = b.balloon = None
        start = time.monotonic()
        while b.proc.poll() is None and time.monotonic() - start < TIMEOUT:
            time.sleep(2)
            try:  # the last answer before the guest stops is what the tests see
                b.devices = control(ctl, "query-devices")["return"]["devices"]
                b.balloon = control(ctl, "balloon-stats")["return"]
            except (OSError, ValueError):
                pass
        b.timed_out = b.proc.poll() is None
        if b.timed_out:
            b.proc.kill()
        b.status = b.proc.wait()
        reader.join(10)
        b.console = "".join(console)
        b.stderr = b.proc.stderr.read()
        b.lease = lease.read_text() if lease.exists() else ""
        b.netconsole = udp_out.read_text(errors="replace") if udp_out.exists() else ""
        b.hvc_text = b.hvc.read_text(errors="replace") if b.hvc.exists() else ""
        lg.RESULTS.mkdir(parents=True, exist_ok=True)
        (lg.RESULTS / "linux-virtio.console.log").write_text(b.console)
    finally:
        for p in (dnsmasq, udp):
            if p:
                p.kill()
                p.wait()
        subprocess.run(["ip", "netns", "del", ns])
    b.mounts_after = dumpe2fs(b.root)
    b.fsck = subprocess.run(["e2fsck", "-fn", str(b.root)], capture_output=True, text=True)
    return b


def tail(b):
    return ("\n".join(b.console.splitlines()[-15:]) + f"\nstatus {b.status}, timed out "
            f"{b.timed_out}\nstderr: {b.stderr[-800:]}")


def expect(b, pattern, what):
    assert re.search(pattern, b.console, re.M), f"the console never showed {what}\n{tail(b)}"


def test_pci_root_bridge_and_devices_found(linux):
    expect(linux, r"ACPI: PCI Root Bridge \[PCI0\]", "the PCI root bridge from the DSDT")
    expect(linux, r"pci 0000:00:0\d\.0: \[1af4:1042\]", "a virtio-blk PCI function")


def test_root_on_virtio_blk_mounted_read_write(linux):
    expect(linux, r"virtio_blk virtio\d+: \[vda\] 131072 512-byte logical blocks", "vda's size")
    expect(linux, r"VFS: Mounted root \(ext4 filesystem\) on device", "the rw root mount")
    count, when = linux.mounts_after
    assert count == linux.mounts_before[0] + 1, (linux.mounts_before, linux.mounts_after)
    assert when != "n/a", linux.mounts_after
    assert linux.fsck.returncode == 0, linux.fsck.stdout + linux.fsck.stderr


def test_read_only_disk_seen(linux):
    expect(linux, r"virtio_blk virtio\d+: \[vdb\] 32768 512-byte logical blocks", "vdb")
    blk = [d for d in linux.devices or [] if d.get("type") == "virtio-blk"]
    assert len(blk) == 2 and blk[1]["read_only"] and blk[1]["driver_ok"], linux.devices
    assert blk[1]["stats"]["writes"] == 0, blk[1]


def test_console_on_hvc0(linux):
    # hvc0 registers mid-boot: from then on the kernel log goes to it as well
    lines = [l for l in linux.hvc_text.splitlines() if re.match(r"\[ *\d+\.\d+\] ", l)]
    assert any("[vda]" in l for l in lines), f"hvc0 carried: {linux.hvc_text[-500:]!r}\n{tail(linux)}"
    assert all(l in linux.console for l in lines[:20]), "hvc0 lines differ from the serial console"


def test_rng_requests(linux):
    rng = [d for d in linux.devices or [] if d.get("type") == "virtio-rng"]
    assert rng and rng[0]["driver_ok"] and rng[0]["requests"] > 0, linux.devices


def test_balloon_inflated_to_target(linux):
    pages = (256 - BALLOON_TARGET_MIB) * 256
    b = linux.balloon
    assert b and b["inflated_pages"] >= pages and b["actual_pages"] == pages, b


def test_dhcp_lease_on_virtio_net(linux):
    expect(linux, r"IP-Config: Got DHCP answer from 10\.0\.2\.2", "the DHCP answer")
    assert MAC in linux.lease, f"dnsmasq leases: {linux.lease!r}"


def test_netconsole_delivers(linux):
    expect(linux, r"printk: console \[netcon0\] enabled", "netconsole starting")
    assert "IP-Config" in linux.netconsole or "VFS: Mounted root" in linux.netconsole, \
        f"the UDP listener got {linux.netconsole[-300:]!r}\n{tail(linux)}"
