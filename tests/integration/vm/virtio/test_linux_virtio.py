"""Linux's own virtio drivers on strata-vm, in one boot of the small test
kernel (scripts/kernel/): root=/dev/vda on an ext4 image made here (the host
then sees the mount in the superblock and e2fsck -fn clean), a read-only second
disk, console=hvc0 over virtio-console, virtio-rng requests, the balloon
inflating to a target set on the control socket, and ip=dhcp on virtio-net
getting a lease from dnsmasq on the host side of the tap, with netconsole
sending kernel messages to a UDP listener. The VMM runs in a network namespace.

The same boot then runs a user-space suite: the root disk carries busybox and
linux_init.sh as /init (and a static vsock client built here), which writes a
file on /dev/vda (the host checks its sha256 in the image after power-off: a
second boot would cost minutes), pings the host side of the tap and sends it
256 KiB over TCP (the host peer checks the bytes), reads /dev/hwrng, and echoes
64 KiB over vsock through a host unix socket. Each check is its own test over
the one boot's results; where guest user space cannot run they SKIP with the
reason."""
import hashlib
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

from conftest import program, skip_loudly
import linux_guest as lg

pytestmark = [pytest.mark.slow, pytest.mark.needs_kvm]

TIMEOUT = int(os.environ.get("STRATA_LINUX_VIRTIO_TIMEOUT", "600"))
MAC = "52:54:00:12:34:99"
BALLOON_TARGET_MIB = 248   # of 256: 8 MiB = 2048 pages for the balloon
HERE = Path(__file__).resolve().parent
TCP_BYTES = 256 << 10      # linux_init.sh sends this much
VSOCK_PORT = 5000


def make_root(d):
    """The root file system's contents: busybox, /init and the vsock client."""
    busybox = next(iter(sorted(lg.cache_dir().glob("busybox-*/bin/busybox"))), None)
    if not busybox:
        skip_loudly("busybox-static is not unpacked in the asset cache (scripts/fetch-assets.sh)")
    gcc = shutil.which("gcc")
    if not gcc:
        skip_loudly("gcc is missing: the guest's vsock client is built here")
    root = d / "rootfs"
    for sub in ("bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp", "etc"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy(busybox, root / "bin" / "busybox")
    applets = subprocess.run([str(busybox), "--list-full"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in applets:
        if not (root / a).exists():
            (root / a).symlink_to("/bin/busybox")
    shutil.copy(HERE / "linux_init.sh", root / "init")
    (root / "init").chmod(0o755)
    cc = subprocess.run([gcc, "-static", "-O2", "-o", str(root / "vsock-echo"),
                         str(HERE / "vsock_echo.c")], capture_output=True, text=True)
    if cc.returncode:
        skip_loudly(f"cannot build the static vsock client (static libc missing?): {cc.stderr[-300:]}")
    return root


def vsock_echo_server(path, got):
    """Host end of the guest's vsock connection to port VSOCK_PORT: echoes."""
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(1)

    def serve():
        try:
            c, _ = srv.accept()
            while True:
                data = c.recv(65536)
                if not data:
                    break
                got.append(data)
                c.sendall(data)
            c.close()
        except OSError:
            pass
    threading.Thread(target=serve, daemon=True).start()
    return srv


# Host end of the TCP transfer, run inside the namespace: reads TCP_BYTES,
# keeps their sha256 in a file and sends it back to the guest.
TCP_PEER = """
import hashlib, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('10.0.2.2', 7000)); s.listen(1)
c, _ = s.accept(); buf = b''
while len(buf) < {n}:
    d = c.recv(65536)
    if not d: break
    buf += d
h = hashlib.sha256(buf).hexdigest()
open(sys.argv[1], 'w').write(f'{{len(buf)}} {{h}}')
c.sendall(h.encode()); c.close()
"""


def dumpe2fs(img):
    out = subprocess.run(["dumpe2fs", "-h", str(img)], capture_output=True, text=True).stdout
    count = int(re.search(r"^Mount count:\s+(\d+)", out, re.M).group(1))
    when = re.search(r"^Last mount time:\s+(.*)$", out, re.M).group(1).strip()
    return count, when


class Boot:
    pass


@pytest.fixture(scope="module")
def linux(tmp_path_factory):
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip_loudly("/dev/kvm is missing or not accessible on this host")
    kernel = lg.asset("small.bzImage")
    if not kernel:
        skip_loudly("the small test kernel is not built (scripts/fetch-assets.sh)")
    for tool in ("mkfs.ext4", "dumpe2fs", "e2fsck", "debugfs", "ip", "dnsmasq"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            skip_loudly(f"{tool} is missing (scripts/deps/virtio.txt)")
    d = tmp_path_factory.mktemp("linux-virtio")
    b = Boot()
    b.root, b.ro, b.hvc = d / "root.img", d / "ro.img", d / "hvc0.log"
    b.hot = d / "hot.img"
    b.hot_head = os.urandom(16)
    b.hot.write_bytes(b.hot_head + bytes((1 << 20) - 16))
    rootfs = make_root(d)
    for img, mib, tree in ((b.root, 64, ["-d", str(rootfs)]), (b.ro, 16, [])):
        with open(img, "wb") as f:
            f.truncate(mib << 20)
        subprocess.run(["mkfs.ext4", "-q", "-F", *tree, str(img)], check=True)
    b.mounts_before = dumpe2fs(b.root)
    ns = f"strata-lv{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", ns]).returncode:
        skip_loudly("cannot create a network namespace")
    ctl = str(d / "control.sock")
    vm = program("src", "vm", "strata-vm")
    cmdline = ("console=ttyS0 console=hvc0 earlyprintk=serial root=/dev/vda rw panic=-1 "
               "ip=dhcp netconsole=6665@10.0.2.15/eth0,6666@10.0.2.2/ "
               # ptp_kvm's KVM_HC_CLOCK_PAIRING hypercall never returns on kvm_pvm; without
               # kvm-clock ptp_kvm gives up before making it. With KVM async page faults,
               # once the balloon has given pages back a user process read zeros where it
               # had just written (busybox's __ctype_init TLS load, 5 of 8 boots on
               # kvm_pvm); with no-kvmapf never (docs/virtio.md)
               "no-kvmclock no-kvmapf init=/init")
    cmd = ["ip", "netns", "exec", ns, str(vm), "--kernel", str(kernel), "--memory", "256",
           "--disk", f"{b.root},serial=rootdisk", "--disk", f"{b.ro},ro", "--rng", "--balloon",
           "--vconsole", f"file:{b.hvc}", "--net", f"tap=vt0,mac={MAC}", "--control", ctl,
           "--vsock", f"cid=3,uds={d / 'vsock'}",
           "--cmdline", cmdline]
    lease = d / "leases"
    dnsmasq = udp = tcp = None
    b.vsock_got = []
    vsock_srv = vsock_echo_server(str(d / f"vsock_{VSOCK_PORT}"), b.vsock_got)
    tcp_out = d / "tcp.txt"
    try:
        b.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, errors="replace",
                                  env=dict(os.environ, STRATA_LOG="info"))
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
        tcp = subprocess.Popen(run_ns + [sys.executable, "-c", TCP_PEER.format(n=TCP_BYTES),
                                         str(tcp_out)])
        # the balloon's target, set before the driver probes so it inflates at once
        deadline = time.monotonic() + 30
        while not os.path.exists(ctl):
            assert time.monotonic() < deadline, "no control socket"
            time.sleep(0.1)
        assert "return" in lg.control(ctl, "balloon-set", target_mib=BALLOON_TARGET_MIB)
        console = []
        reader = threading.Thread(target=lambda: console.extend(b.proc.stdout), daemon=True)
        reader.start()
        errors = []  # read as it comes: info lines must never fill the pipe
        err_reader = threading.Thread(target=lambda: errors.extend(b.proc.stderr), daemon=True)
        err_reader.start()
        b.devices = b.balloon = None
        b.hot_attach = b.hot_detach = b.hot_after = None
        start = time.monotonic()
        while b.proc.poll() is None and time.monotonic() - start < TIMEOUT:
            time.sleep(2)
            text = "".join(console)
            try:
                # the hot disk: attached once /init runs (acpiphp has its slots
                # by then), detached once the guest has read it
                if b.hot_attach is None and "Run /init" in text:
                    b.hot_attach = lg.control(ctl, "disk-attach", disk=f"{b.hot},serial=hot")
                if b.hot_detach is None and "STRATA-US: hotdisk " in text and "return" in b.hot_attach:
                    b.hot_detach = lg.control(ctl, "disk-detach", device=b.hot_attach["return"]["device"])
                # the last answer while the drivers run is what the tests see
                devices = lg.control(ctl, "query-devices")["return"]["devices"]
                if b.hot_detach and b.hot_after is None and \
                        not [x for x in devices if x.get("serial") == "hot"]:
                    b.hot_after = devices  # the guest's eject let it go
                balloon = lg.control(ctl, "balloon-stats")["return"]
            except (OSError, ValueError):
                continue
            # at power-off the kernel resets the devices: keep what they showed before
            if devices and all(d.get("driver_ok") for d in devices):
                b.devices, b.balloon = devices, balloon
        b.timed_out = b.proc.poll() is None
        if b.timed_out:
            b.proc.kill()
        b.status = b.proc.wait()
        reader.join(10)
        b.console = "".join(console)
        err_reader.join(10)
        b.stderr = "".join(errors)
        b.lease = lease.read_text() if lease.exists() else ""
        b.netconsole = udp_out.read_text(errors="replace") if udp_out.exists() else ""
        b.hvc_text = b.hvc.read_text(errors="replace") if b.hvc.exists() else ""
        lg.RESULTS.mkdir(parents=True, exist_ok=True)
        (lg.RESULTS / "linux-virtio.console.log").write_text(b.console)
    finally:
        vsock_srv.close()
        for p in (dnsmasq, udp, tcp):
            if p:
                p.kill()
                p.wait()
        subprocess.run(["ip", "netns", "del", ns])
    b.tcp = tcp_out.read_text() if tcp_out.exists() else ""
    dumped = d / "strata-data"
    subprocess.run(["debugfs", "-R", f"dump /strata-data {dumped}", str(b.root)],
                   capture_output=True)
    b.disk_file = hashlib.sha256(dumped.read_bytes()).hexdigest() if dumped.exists() else None
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
    blk = [d for d in linux.devices or [] if d.get("type") == "virtio-blk" and d.get("serial") != "hot"]
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


# --- A disk attached while the kernel runs, and detached (PCI hotplug). -----

def test_acpiphp_takes_the_hot_disk(linux):
    """The VMM raised GPE 1; the kernel's ACPI ran _E01 and PCNT, acpiphp
    enumerated the slot and virtio_blk probed the new disk on its own."""
    assert linux.hot_attach and "return" in linux.hot_attach, \
        f"disk-attach answered {linux.hot_attach}\n{tail(linux)}"
    expect(linux, r"acpiphp: Slot \[\d+\] registered", "acpiphp registering the DSDT's slots")
    expect(linux, r"virtio_blk virtio\d+: \[vd[a-z]\] 2048 512-byte logical blocks",
           "virtio_blk probing the 1 MiB hot disk")


def test_acpiphp_ejects_the_hot_disk_on_detach(linux):
    """After disk-detach the kernel's acpiphp evaluated _EJ0: the VMM saw the
    eject and dropped the device."""
    assert linux.hot_detach and "return" in linux.hot_detach, \
        f"disk-detach answered {linux.hot_detach}\n{tail(linux)}"
    slot = linux.hot_attach["return"]["slot"]
    # the VMM logs the eject; its device list drops the disk (if polled in time)
    assert f"pci hotplug: slot {slot} ejected by the guest" in linux.stderr, linux.stderr[-1500:]
    assert linux.hot_after is None or not [x for x in linux.hot_after if x.get("serial") == "hot"]


# --- The user-space suite (linux_init.sh), from the same boot. --------------

def us_line(b, check):
    """The guest's "STRATA-US: <check> ..." line, or a SKIP where user space
    cannot run on this host, or a failure."""
    m = re.search(rf"^STRATA-US: {check}(?: (.*))?$", b.console, re.M)
    retries = re.findall(rf"^STRATA-US: retry {check} .*$", b.console, re.M)
    if retries:  # linux_init.sh's try(): shown with the test's output
        print(f"{check}: the guest retried:", *retries, sep="\n  ")
    if m and (m.group(1) or "").strip() != "gave-up":
        return (m.group(1) or "").strip()
    if "STRATA-US: user space is up" not in b.console:
        reason = lg.user_space_limit(b.console)
        if reason:
            skip_loudly(reason)
    raise AssertionError(f"the guest's /init {'gave up on' if m else 'never reported'} "
                         f"'{check}'\n" + "\n".join(retries) + f"\n{tail(b)}")


# A user-space check that fails in a boot showing kvm_pvm's TLS-zero fault SKIPs.
user_space_check = lg.tls_fault_skips(lambda linux: linux.console)


@user_space_check
def test_user_space_file_on_vda_after_power_off(linux):
    words = us_line(linux, "disk-file").split()
    assert len(words) == 2 and re.fullmatch(r"[0-9a-f]{64}", words[1]), words
    assert linux.disk_file == words[1], \
        f"the image holds {linux.disk_file}, the guest wrote {words[1]}"
    assert linux.fsck.returncode == 0, linux.fsck.stdout


@user_space_check
def test_user_space_hwrng(linux):
    words = us_line(linux, "hwrng").split()
    assert len(words) == 2 and words[0].startswith("virtio_rng"), words
    assert re.fullmatch(r"[0-9a-f]{64}", words[1]) and words[1] != "0" * 64, words


@user_space_check
def test_user_space_ping(linux):
    line = us_line(linux, "ping")
    assert re.match(r"ok [12] packets received", line), line


@user_space_check
def test_user_space_tcp_transfer(linux):
    m = re.fullmatch(r"sent ([0-9a-f]{64}) host-got (\S*)", us_line(linux, "tcp"))
    assert m, us_line(linux, "tcp")
    assert linux.tcp == f"{TCP_BYTES} {m.group(1)}", \
        f"the host peer got {linux.tcp!r}, the guest sent {m.group(1)}"
    assert m.group(2) == m.group(1), "the guest did not get the host's checksum back"


@user_space_check
def test_user_space_reads_the_hot_disk_and_sees_it_go(linux):
    assert us_line(linux, "hotdisk") == f"hot {linux.hot_head.hex()}"
    assert us_line(linux, "hotdisk-gone") == ""


@user_space_check
def test_user_space_vsock_echo(linux):
    line = us_line(linux, "vsock")
    assert line == "vsock-echo: 65536 bytes echoed intact", line
    got = b"".join(linux.vsock_got)
    assert len(got) == 65536 and got[:4] == bytes([1, 8, 15, 22]), len(got)
