"""virtio under strata-vm, proven with the project's own test guests
(tests/guest/virtio-*.c, a minimal virtio driver in rt/virtio.c): virtio-blk
data paths checked byte by byte on the host, virtio-rng, hostile drivers,
the query-devices control command and bad device options."""
import hashlib
import os
import re
import struct
from pathlib import Path

import pytest

import vmtest as vt
from conftest import skip_loudly

pytestmark = pytest.mark.needs_kvm
SECTOR = 512
MASK = (1 << 64) - 1


@pytest.fixture(autouse=True)
def _kvm(kvm):
    return kvm


def pattern(off, length):
    """What tests/guest/virtio-blk.c writes at disk offset off (multiples of 8)."""
    return b"".join(struct.pack("<Q", ((o + 0x5a5a5a5a5a5a5a5a) * 0x9e3779b97f4a7c15) & MASK)
                    for o in range(off, off + length, 8))


def evict_from_page_cache(path):
    with open(path, "rb+") as f:
        os.fsync(f.fileno())
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


@pytest.mark.parametrize("ring", ["split", "packed", "intx", "cold"])
def test_blk_data_paths(tmp_path, ring):
    """ring: split rings with MSI-X, packed rings, or split rings with MSI-X
    off (INTx through the IOAPIC, routed by the interrupt line register);
    cold: split rings on images evicted from the page cache, so reads wait for
    the device and complete later, on io_uring, not inline."""
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * (16 << 20))
    ro = tmp_path / "ro.img"
    ro.write_bytes(os.urandom(1 << 20))
    ro_sum = hashlib.sha256(ro.read_bytes()).hexdigest()
    if ring == "cold":
        evict_from_page_cache(disk)
        evict_from_page_cache(ro)
    queues = 4
    rings = ["--virtio-rings", "packed"] if ring == "packed" else []
    r = vt.run_guest("virtio-blk", *rings, "--disk", f"{disk},queues={queues},serial=strata-serial-42",
                     "--disk", f"{ro},ro", "--cmdline",
                     "serial=strata-serial-42" + {"split": "", "packed": " packed=1",
                                                  "intx": " intx=1", "cold": ""}[ring],
                     timeout=120)
    assert r.rc == 0, r
    assert "virtio-blk: PASS" in r.out, r
    assert ("virtio-blk: packed rings" in r.out) == (ring == "packed"), r
    if ring == "intx":
        m = re.search(r"disk 0 OK \((\d+) interrupts, (\d+) INTx\)", r.out)
        assert m and int(m.group(2)) > 0 and m.group(1) == m.group(2), r
    assert "read-only disk 1 refuses writes" in r.out, r

    data = disk.read_bytes()
    expected = bytearray(16 << 20)
    regions = [(0, 1 << 20), (1 << 20, 65536), (4096 * SECTOR, 8192 * queues),
               (6144 * SECTOR + 4096, 4096)]  # the half of the 6144 write not zeroed
    for off, length in regions:
        expected[off:off + length] = pattern(off, length)
    # write-zeroes at 6144 and discard at 6160 (8 sectors each) must read as zeros
    for off, length in regions:
        assert data[off:off + length] == expected[off:off + length], \
            f"disk bytes at {off:#x}+{length:#x} differ from what the guest wrote"
    assert data == bytes(expected), "bytes outside the written regions changed"
    assert hashlib.sha256(ro.read_bytes()).hexdigest() == ro_sum, "the read-only disk changed"


def test_blk_on_qcow2(tmp_path):
    """The same data paths on a qcow2 image through the block layer; the host
    reads the result back with qemu-img and checks the image."""
    import shutil
    import subprocess
    if not shutil.which("qemu-img"):
        skip_loudly("qemu-img is missing (qemu-utils): cannot check the qcow2 image")
    img = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(img), "16M"], check=True)
    r = vt.run_guest("virtio-blk", "--disk", f"{img},queues=2,serial=q", "--cmdline", "serial=q",
                     timeout=120)
    assert r.rc == 0 and "virtio-blk: PASS" in r.out, r
    check = subprocess.run(["qemu-img", "check", str(img)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    raw = tmp_path / "disk.raw"
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(img), str(raw)], check=True)
    data = raw.read_bytes()
    for off, length in [(0, 1 << 20), (1 << 20, 65536), (4096 * SECTOR, 8192 * 2),
                        (6144 * SECTOR + 4096, 4096)]:
        assert data[off:off + length] == pattern(off, length), f"bytes at {off:#x} differ"
    assert data[6144 * SECTOR:6144 * SECTOR + 4096] == bytes(4096), "write-zeroes not zero"
    # a discard of part of a 64 KiB cluster may leave the data (virtio does not
    # promise zeros after a discard): either is right there
    assert data[6160 * SECTOR:6160 * SECTOR + 4096] in (bytes(4096), pattern(6160 * SECTOR, 4096))


def test_rng(tmp_path):
    r = vt.run_guest("virtio-rng", "--rng", timeout=60)
    assert r.rc == 0, r
    assert re.search(r"virtio-rng: [0-9a-f]{8}\.\.\. PASS", r.out), r


HOSTILE_CASES = [
    "looping chain", "buffer outside guest RAM", "next index beyond the queue size",
    "zero-length buffer", "4 GiB buffer", "read into a device-readable buffer",
    "no writable status byte", "nested indirect table", "indirect table of 24 bytes",
    "available index beyond the queue size",
    # packed rings (VIRTIO_F_RING_PACKED)
    "packed: chain longer than the ring", "packed: buffer outside guest RAM",
    "packed: buffer id beyond the queue size", "packed: zero-length buffer",
    "packed: nested indirect table", "packed: indirect table of 24 bytes",
]


def test_hostile_guest_is_refused_and_vmm_lives(tmp_path):
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * (1 << 20))
    r = vt.run_guest("virtio-hostile", "--virtio-rings", "packed", "--disk", f"{disk},queues=2",
                     timeout=120)
    assert r.rc == 0, r
    for case in HOSTILE_CASES:
        assert f"hostile: {case}: refused, NEEDS_RESET set, queue 1 still serves" in r.out, r
    assert "bad feature negotiation refused" in r.out, r
    assert "notification before DRIVER_OK ignored until DRIVER_OK" in r.out, r
    warnings = [l for l in r.err.splitlines() if "warning: virtio-blk" in l]
    # one line per hostile chain, plus two for the refused feature sets
    assert len(warnings) == len(HOSTILE_CASES) + 2, r
    assert all("needs a reset" in l for l in warnings), r
    assert disk.read_bytes() == b"\0" * (1 << 20), "a refused request wrote to the disk"


def test_query_devices(tmp_path):
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * (1 << 20))
    with vt.LiveVM("serial-echo", "--disk", f"{disk},ro,serial=abc", "--rng",
                   tmp_path=tmp_path) as vm:
        vm.wait_for("serial-echo: ready")
        with vm.connect() as c:
            reply = c.execute("query-devices")
        devs = reply["return"]["devices"]
        assert [d["type"] for d in devs] == ["virtio-blk", "virtio-rng"], reply
        blk = devs[0]
        assert blk["read_only"] is True and blk["serial"] == "abc", reply
        assert blk["path"] == str(disk) and blk["pci"] == "00:01.0", reply
        assert int(blk["bar0"], 16) >= 0xc0000000, reply
        assert devs[1]["pci"] == "00:02.0" and devs[1]["virtio_id"] == 4, reply


@pytest.mark.parametrize("spec, message", [
    ("/nonexistent/disk.img", "/nonexistent/disk.img: cannot open"),
    ("{disk},queues=99", "queues=99"),
    ("{disk},bogus", "unknown disk option 'bogus'"),
    ("{odd}", "is not a nonzero multiple of 512"),
])
def test_bad_disk_option(tmp_path, spec, message):
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * 4096)
    odd = tmp_path / "odd.img"
    odd.write_bytes(b"\0" * 1000)
    r = vt.run_guest("hello", "--disk", spec.format(disk=disk, odd=odd), timeout=30)
    assert r.rc == 1, r
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r


def test_console_socket_both_ways(tmp_path):
    sock_path = tmp_path / "hvc.sock"
    with vt.LiveVM("virtio-console", "--vconsole", f"socket:{sock_path}", tmp_path=tmp_path,
                   control=False) as vm:
        import socket
        import time
        s = socket.socket(socket.AF_UNIX)
        deadline = time.monotonic() + 10
        while True:
            try:
                s.connect(str(sock_path))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                assert time.monotonic() < deadline, vm.describe()
                time.sleep(0.05)
        s.settimeout(20)
        got = b""
        # the hello may have been sent before we connected: then only the echo proves output
        s.sendall(b"ping from the host\n")
        while b"echo: ping from the host\n" not in got:
            chunk = s.recv(4096)
            assert chunk, f"console socket closed; got {got!r}\n{vm.describe()}"
            got += chunk
        assert vm.wait(30) == 0, vm.describe()
        assert "virtio-console: PASS" in vm.console


def test_console_file(tmp_path):
    out = tmp_path / "hvc.txt"
    with vt.LiveVM("virtio-console", "--vconsole", f"file:{out}", tmp_path=tmp_path,
                   control=False) as vm:
        vm.wait_for("virtio-console: hello sent")
        assert out.read_text() == "hvc0: hello from the strata test guest\n"


def test_balloon_from_the_control_socket(tmp_path):
    with vt.LiveVM("virtio-balloon", "--balloon", tmp_path=tmp_path) as vm:
        vm.wait_for("balloon: ready")
        with vm.connect() as c:
            def stats_until(free_pages):
                """The driver's stats buffer reaches the device on the I/O thread,
                a moment after the guest posted it: ask until it is there."""
                import time
                deadline = time.monotonic() + 20
                while True:
                    r = c.execute("balloon-stats")["return"]
                    if r["stats"].get("free_memory") == free_pages * 4096:
                        return r
                    assert time.monotonic() < deadline, r
                    time.sleep(0.05)
            first = stats_until(1000)
            assert first["stats"]["total_memory"] == 64 << 20, first
            # the VM has 64 MiB: a 62 MiB target asks for 2 MiB = 512 pages
            assert "return" in c.execute("balloon-set", target_mib=62)
            vm.wait_for("balloon: inflated 512 pages, 512 read back as zeros")
            vm.wait_for("balloon: stats refreshed")
            second = stats_until(777)
            assert second["target_pages"] == 512, second
            assert second["actual_pages"] == 512, second
            assert second["inflated_pages"] == 512, second
            assert second["freed_bytes"] == 512 * 4096, second
            assert second["stats_updates"] >= 2, second
            bad = c.execute("balloon-set", target_mib=100000)
            assert "above the guest" in bad["error"]["desc"], bad
        assert vm.wait(30) == 0, vm.describe()


def test_balloon_commands_without_a_balloon(tmp_path):
    with vt.LiveVM("serial-echo", tmp_path=tmp_path) as vm:
        vm.wait_for("serial-echo: ready")
        with vm.connect() as c:
            r = c.execute("balloon-set", target_mib=10)
        assert "--balloon" in r["error"]["desc"], r


NET_PEER = Path(__file__).resolve().parent / "net_peer.py"
OPEN_TAP_AND_EXEC = """
import fcntl, os, struct, sys
fd = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', sys.argv[1].encode(), 0x0002 | 0x1000 | 0x4000))
os.set_inheritable(fd, True)
args = [a.replace('@FD@', str(fd)) for a in sys.argv[2:]]
os.execv(args[0], args)
"""


@pytest.fixture
def netns():
    import subprocess
    if not os.path.exists("/dev/net/tun"):
        skip_loudly("/dev/net/tun is missing: no tap devices here")
    name = f"strata-vt{os.getpid()}"
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if r.returncode:
        skip_loudly(f"cannot create a network namespace: {r.stderr.strip()}")
    yield name
    subprocess.run(["ip", "netns", "del", name])


def run_net_guest(netns, vm_cmd, tap, mac):
    import subprocess
    vm = subprocess.Popen(["ip", "netns", "exec", netns, *map(str, vm_cmd)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peer = subprocess.run(["ip", "netns", "exec", netns, "/usr/bin/python3", str(NET_PEER), tap, mac],
                          capture_output=True, text=True, timeout=120)
    out, err = vm.communicate(timeout=60)
    detail = f"peer: {peer.stdout}{peer.stderr}\nguest console:\n{out}\nstderr:\n{err}"
    assert peer.returncode == 0, detail
    assert vm.returncode == 0 and "virtio-net: PASS" in out, detail
    assert "net_peer: 3 echoes checked" in peer.stdout, detail
    return out


def test_net_frames_with_a_host_tap(netns):
    mac = "52:54:00:12:34:56"
    cmd = vt.vm_args("virtio-net", "--net", f"tap=vt0,mac={mac}")
    run_net_guest(netns, cmd, "vt0", mac)


def test_net_tap_handed_over_as_fd(netns):
    mac = "52:54:00:65:43:21"
    cmd = ["/usr/bin/python3", "-c", OPEN_TAP_AND_EXEC, "vt1",
           *vt.vm_args("virtio-net", "--net", f"fd=@FD@,mac={mac}", "--net", "tap=vt2")]
    run_net_guest(netns, cmd, "vt1", mac)


def test_net_multiqueue_and_control_queue(netns):
    """queues=2: a multi-queue tap, the control queue turns the second pair
    on (and refuses 9 pairs), frames leave through both transmit queues."""
    mac = "52:54:00:12:34:57"
    cmd = vt.vm_args("virtio-net", "--net", f"tap=vt0,mac={mac},queues=2", "--cmdline", "pairs=2")
    out = run_net_guest(netns, cmd, "vt0", mac)
    assert "virtio-net: two queue pairs running" in out, out
    assert re.search(r"frame of \d+ bytes on receive queue [01]", out), out


@pytest.mark.parametrize("spec, message", [
    ("tap=vt0,queues=9", "1..4 queue pairs"),
    ("fd=3,queues=2", "queues=N needs tap=NAME"),
    ("tap=vt0,mac=01:00:00:00:00:01", "multicast"),
    ("tap=vt0,mac=zz", "is not six hex bytes"),
    ("mac=52:54:00:00:00:01", "give tap=NAME or fd=N"),
    ("fd=0", "is not a tap device"),
])
def test_bad_net_option(spec, message):
    r = vt.run_guest("hello", "--net", spec, timeout=30)
    assert r.rc == 1, r
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r


def test_vsock_both_directions(tmp_path):
    import socket
    import time
    uds = tmp_path / "v.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(f"{uds}_5000")
    listener.listen(1)
    listener.settimeout(30)
    with vt.LiveVM("virtio-vsock", "--vsock", f"cid=7,uds={uds}", tmp_path=tmp_path,
                   control=False) as vm:
        conn, _ = listener.accept()
        conn.settimeout(30)
        data = b""
        while len(data) < 4000:
            chunk = conn.recv(8192)
            assert chunk, f"guest closed after {len(data)} bytes\n{vm.describe()}"
            data += chunk
        assert data == bytes((i * 7 + 1 + (i >> 8)) & 0xff for i in range(4000)), vm.describe()
        conn.sendall(bytes((i * 7 + 2 + (i >> 8)) & 0xff for i in range(6000)))
        assert conn.recv(1) == b"", "the guest's shutdown did not reach the host socket"
        conn.close()
        vm.wait_for("vsock: closed")
        # host-initiated
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(30)
        s.connect(str(uds))
        s.sendall(b"CONNECT 6000\n")
        line = b""
        while not line.endswith(b"\n"):
            chunk = s.recv(1)
            assert chunk, vm.describe()
            line += chunk
        assert re.fullmatch(rb"OK \d+\n", line), line
        s.sendall(b"ping")
        assert s.recv(4) == b"pong", vm.describe()
        s.close()
        assert vm.wait(30) == 0, vm.describe()
    assert "vsock: guest cid 7" in vm.console


def test_blocked_vsock_peer_stalls_no_other_device(tmp_path):
    """A host peer that accepts the guest's vsock connection and never reads
    (its socket fills): the disk, virtio-rng and a second vsock connection are
    still served; once the host reads, every byte arrives in order."""
    import socket
    uds = tmp_path / "v.sock"
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * (1 << 20))
    stuck, later = (socket.socket(socket.AF_UNIX) for _ in range(2))
    for s, port in ((stuck, 5000), (later, 5001)):
        s.bind(f"{uds}_{port}")
        s.listen(1)
        s.settimeout(60)
    with vt.LiveVM("virtio-vsock", "--vsock", f"cid=7,uds={uds}", "--disk", str(disk), "--rng",
                   "--cmdline", "stall=1", tmp_path=tmp_path, control=False) as vm:
        conn, _ = stuck.accept()          # and not a byte read until 5001 is reached
        second, _ = later.accept()
        vm.wait_for("stall: disk and rng served meanwhile")
        conn.settimeout(60)
        data = b""
        while len(data) < 256 << 10:
            chunk = conn.recv(65536)
            assert chunk, f"the connection closed after {len(data)} bytes\n{vm.describe()}"
            data += chunk
        assert data == bytes((i * 7 + 3 + (i >> 8)) & 0xff for i in range(256 << 10)), \
            "the bytes the host got differ from what the guest sent"
        assert vm.wait(60) == 0, vm.describe()
        second.close()
        conn.close()
    assert "stall: all bytes forwarded, credit back; PASS" in vm.console
    assert disk.read_bytes()[:65536] == bytes((i * 7 + 4 + (i >> 8)) & 0xff for i in range(65536))


def test_devices_reset_by_an_in_process_reboot(tmp_path):
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * (1 << 20))
    r = vt.run_guest("virtio-reboot", "--disk", str(disk), "--on-reboot", "restart", timeout=60)
    assert r.rc == 0, r
    assert "marker written, rebooting" in r.out, r
    assert "device served again after the reboot; PASS" in r.out, r
    assert disk.read_bytes()[:8] == b"REBOOTED"
