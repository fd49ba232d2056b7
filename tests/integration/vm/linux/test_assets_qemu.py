"""The Linux assets checked on a reference VMM: Debian's QEMU with TCG (pure
emulation, where guest user space runs on any host). It proves the initramfs
(/init counts the CPUs and powers off through ACPI) and both kernels, so a
failure of tests/integration/vm/linux/test_boot.py points at strata-vm, not at the assets."""
import re
import shutil
import subprocess

import pytest

from conftest import skip_loudly
import linux_guest as lg

# Every kernel and both forms of the initramfs, each at least once.
BOOTS = [("debian-cloud.bzImage", "initramfs.cpio.gz"), ("debian-cloud.bzImage", "initramfs.cpio"),
         ("small.bzImage", "initramfs.cpio.gz"), ("small.vmlinux", "initramfs.cpio")]


@pytest.mark.parametrize("image,initramfs", BOOTS, ids=[f"{k}+{i}" for k, i in BOOTS])
def test_assets_boot_to_power_off_on_qemu_tcg(image, initramfs):
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        skip_loudly("qemu-system-x86_64 missing (Debian package qemu-system-x86; scripts/install-deps.sh)")
    kernel, initrd = lg.asset(image), lg.asset(initramfs)
    if kernel is None or initrd is None:
        skip_loudly(f"Linux assets missing in {lg.cache_dir()}: run scripts/fetch-assets.sh")
    cmd = [qemu, "-accel", "tcg", "-M", "pc", "-m", "256", "-smp", "2", "-nographic",
           "-no-reboot", "-kernel", str(kernel), "-initrd", str(initrd),
           "-append", "console=ttyS0 panic=-1"]
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    out = r.stdout.decode("utf-8", "replace").replace("\r", "")
    lg.RESULTS.mkdir(parents=True, exist_ok=True)
    log = lg.RESULTS / f"qemu-tcg-{image}+{initramfs}.console.log"
    log.write_text(out)
    tail = "\n".join(out.splitlines()[-12:]) + f"\n(log: {log})"
    assert "smp: Brought up 1 node, 2 CPUs" in out, tail
    assert "Run /init as init process" in out, tail
    assert re.search(r"^STRATA-INIT: user space is up", out, re.M), tail
    assert re.search(r"^STRATA-INIT: processors=2$", out, re.M), tail
    assert "reboot: Power down" in out, tail
    assert r.returncode == 0, f"qemu exited {r.returncode}\n{tail}"
