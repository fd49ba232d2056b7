"""A slow disk stalls neither a vCPU nor any other device (issue #4: I/O done
off the vCPU threads). Disk 0 of the test guest tests/guest/virtio-slowdisk.c
sits on a FUSE file system (slow_fuse.py) that holds the guest's read, then
its write-zeroes, then its write, of one sector for as long as the test
likes; meanwhile the guest must keep running and printing, disk 1 and
virtio-rng must answer, and disk 0's registers must stay readable. Only then
does the test release the request, and the guest and the host check what it
did. The FUSE file system runs with direct I/O, and through the page cache."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import vmtest as vt
from conftest import skip_loudly

pytestmark = pytest.mark.needs_kvm
HERE = Path(__file__).resolve().parent
HELD = 128 * 512   # the byte offset of the guest's HELD sector
LEN = 4096
SIZE = 1 << 20
# the guest's steps, and what each is in the FUSE server: write-zeroes comes
# as a write (fusepy has no fallocate, so strata-vm writes zeros)
STEPS = [("read", "read"), ("write-zeroes", "write"), ("write", "write")]


def rpat(i):
    return (i * 13 + 7 + (i >> 8)) & 0xff


def wpat(i):
    return (i * 29 + 3 + (i >> 8)) & 0xff


class SlowDisk:
    def __init__(self, image, control):
        self.image, self.control = image, control

    def _flag(self, name):
        return self.control / name

    def held(self, n):
        """What the nth held request is ("read", "write"), or None."""
        try:
            return self._flag(f"held-{n}").read_text()
        except FileNotFoundError:
            return None

    def done(self, n):
        return self._flag(f"done-{n}").exists()

    def release(self, n):
        self._flag(f"release-{n}").touch()

    def release_all(self):
        for n in range(1, len(STEPS) + 1):
            self.release(n)

    def wait_held(self, n, step, vm, timeout=60):
        deadline = time.monotonic() + timeout
        while not self.held(n):
            if time.monotonic() > deadline or not vm.alive():
                pytest.fail(f"the guest's {step} at sector {HELD // 512} never reached the "
                            f"FUSE server\n{vm.describe()}")
            time.sleep(0.05)


@pytest.fixture(params=["direct_io", "cached"])
def slow_disk(tmp_path, request):
    """slow_fuse.py (direct I/O, or through the page cache) mounted on tmp_path/mnt over tmp_path/backing.img, which
    holds rpat at HELD and zeros elsewhere; unmounted afterwards."""
    if not os.access("/dev/fuse", os.R_OK | os.W_OK):
        skip_loudly("/dev/fuse is missing or not accessible: no FUSE slow disk here")
    try:
        import fusepy  # noqa: F401
    except ImportError:
        skip_loudly("python3-fusepy is missing (scripts/install-deps.sh installs it)")
    backing = tmp_path / "backing.img"
    data = bytearray(SIZE)
    data[HELD:HELD + LEN] = bytes(rpat(i) for i in range(LEN))
    backing.write_bytes(data)
    mnt, control = tmp_path / "mnt", tmp_path / "control"
    mnt.mkdir()
    control.mkdir()
    proc = subprocess.Popen([sys.executable, str(HERE / "slow_fuse.py"), str(backing), str(mnt),
                             str(control), str(HELD), request.param], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    image = mnt / "disk.img"
    deadline = time.monotonic() + 20
    while not (os.path.ismount(mnt) and image.exists()):
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace").strip()
            skip_loudly(f"FUSE cannot be mounted here (slow_fuse.py: {out[-300:]})")
        if time.monotonic() > deadline:
            proc.kill()
            skip_loudly("FUSE cannot be mounted here: no mount after 20 s")
        time.sleep(0.05)
    disk = SlowDisk(image, control)
    try:
        yield disk
    finally:
        disk.release_all()  # nothing stays held for the unmount to wait on
        if subprocess.run(["fusermount", "-u", str(mnt)], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()


def rounds(vm, step):
    return vm.console.count(f"slowdisk: {step} held, round ")


def test_slow_disk_stalls_no_vcpu_and_no_other_device(kvm, tmp_path, slow_disk):
    plain = tmp_path / "plain.img"
    plain.write_bytes(bytes(SIZE))
    with vt.LiveVM("virtio-slowdisk", "--disk", str(slow_disk.image), "--disk", str(plain),
                   "--rng", tmp_path=tmp_path, control=False) as vm:
        try:
            for n, (step, kind) in enumerate(STEPS, 1):
                slow_disk.wait_held(n, step, vm)
                assert slow_disk.held(n) == kind, \
                    f"the guest's {step} reached the FUSE server as a {slow_disk.held(n)}"
                # The request sits in the FUSE server: the guest must go on for
                # rounds from here (disk 1, virtio-rng, disk 0's registers, serial).
                vm.wait_for(f"slowdisk: {step} held, round {rounds(vm, step) + 3}\n", timeout=30)
                vm.send(b"g")
                vm.wait_for(f"slowdisk: {step} still held after", timeout=30)
                assert not slow_disk.done(n), \
                    f"the FUSE server let the {step} go before the test released it"
                slow_disk.release(n)
                vm.wait_for(f"slowdisk: {step} released and done", timeout=60)
                assert slow_disk.done(n)
                if step == "write-zeroes":
                    assert (tmp_path / "backing.img").read_bytes()[HELD:HELD + LEN] == \
                        bytes(LEN), "the held write-zeroes left other bytes than zeros"
            assert vm.wait(60) == 0, vm.describe()
        finally:
            slow_disk.release_all()  # a failed check leaves nothing held for strata-vm's exit
    assert "slowdisk: the held read brought the image's bytes" in vm.console
    assert "slowdisk: PASS" in vm.console
    data = (tmp_path / "backing.img").read_bytes()
    assert data[HELD:HELD + LEN] == bytes(wpat(i) for i in range(LEN)), \
        "the held write did not put the guest's bytes in the image"
    assert data[:HELD] == bytes(HELD) and data[HELD + LEN:] == bytes(SIZE - HELD - LEN), \
        "bytes outside the held write changed"
