"""cache=none (O_DIRECT, qemu-img's -t none / -T none): aligned I/O, with a
bounce buffer for what is not aligned (metadata, compressed clusters, odd
request sizes); every image stays clean for qemu-img and holds the data."""
import os
import shutil
import subprocess

import pytest

from imgutil import pattern_file, qemu_check_clean, qemu_io, qi, run, st


@pytest.mark.parametrize("opts", [["-o", "cluster_size=512"], ["-o", "cluster_size=65536"],
                                  ["-o", "cluster_size=2M,refcount_bits=1"], ["-c"],
                                  ["-c", "-o", "cluster_size=4096,compression_type=zstd"]],
                         ids=["512", "64k", "2M", "compressed", "compressed-4k-zstd"])
def test_convert_cache_none_both_ways(tmp_path, opts):
    # an odd size: the last request is not a whole block
    src = pattern_file(tmp_path / "src.raw", (5 << 20) + 1536, seed=9)
    q = tmp_path / "out.qcow2"
    st("convert", "-t", "none", "-T", "none", "-O", "qcow2", *opts, src, q)
    qemu_check_clean(q)
    qi("compare", "-f", "raw", "-F", "qcow2", src, q)
    back = tmp_path / "back.raw"
    st("convert", "-t", "none", "-T", "none", "-O", "raw", q, back)
    assert open(back, "rb").read() == open(src, "rb").read()


def test_unaligned_writes_in_parallel_with_cache_none(tmp_path):
    """1000-byte requests from 8 threads: neighbours share 4 KiB blocks, so the
    read-modify-write of one must not undo the other's bytes."""
    img = tmp_path / "b.qcow2"
    qi("create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", img, "8M")
    st("bench", "-t", "none", "-w", "-c", "6000", "-d", "8", "-s", "1000", "--pattern=90", "-f", "qcow2", img)
    qemu_check_clean(img)
    out = run(qemu_io(), "-f", "qcow2", "-c", "read -P 90 0 6000000", "-c", "read -P 0 6000000 1000", img)
    assert "Pattern verification failed" not in out.stdout, out.stdout


def test_commit_cache_none(tmp_path):
    base = pattern_file(tmp_path / "base.raw", 3 << 20, seed=3)
    top = tmp_path / "top.qcow2"
    qi("create", "-q", "-f", "qcow2", "-b", base, "-F", "raw", top)
    run(qemu_io(), "-f", "qcow2", "-c", "write -P 0x33 4097 70000", "-c", "write -z 1M 64k", top)
    want = tmp_path / "want.raw"
    qi("convert", "-O", "raw", top, want)
    st("commit", "-t", "none", top)
    assert open(base, "rb").read() == open(want, "rb").read()
    qemu_check_clean(top)


def test_cache_none_opens_with_o_direct(tmp_path):
    strace = shutil.which("strace")
    if not strace:
        from conftest import skip_loudly
        skip_loudly("strace is not installed: cannot see the open flags (Debian strace)")
    img = tmp_path / "d.qcow2"
    qi("create", "-q", "-f", "qcow2", img, "1M")
    log = tmp_path / "strace.log"
    from imgutil import strata
    # (LeakSanitizer cannot run under ptrace: leaks are checked by every other test)
    env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0")
    subprocess.run([strace, "-f", "-e", "trace=openat", "-o", str(log), strata(), "bench", "-t", "none",
                    "-c", "10", str(img)], check=True, capture_output=True, env=env)
    # (the format probe reads the header through a plain descriptor first)
    opens = [ln for ln in open(log) if str(img) in ln]
    assert any("O_DIRECT" in ln for ln in opens), opens
    subprocess.run([strace, "-f", "-e", "trace=openat", "-o", str(log), strata(), "bench", "-c", "10", str(img)],
                   check=True, capture_output=True, env=env)
    assert not any("O_DIRECT" in ln for ln in open(log) if str(img) in ln)


def _need(tool, why):
    path = shutil.which(tool)
    if not path:
        from conftest import skip_loudly
        skip_loudly(f"{tool} is not installed: {why}")
    return path


@pytest.mark.parametrize("sector", [512, 4096])
def test_cache_none_uses_the_device_alignment(tmp_path, sector):
    """A loop device with 512- or 4096-byte sectors: a 512-byte write at offset
    512 goes straight to the device when it takes 512-byte requests, and through
    the read-modify-write bounce of the whole 4 KiB block when it does not."""
    losetup = _need("losetup", "cannot make a loop device (Debian mount)")
    strace = _need("strace", "cannot see the requests (Debian strace)")
    if os.geteuid() != 0:
        from conftest import skip_loudly
        skip_loudly("loop devices need root")
    backing = tmp_path / "disk.img"
    with open(backing, "wb") as f:
        f.truncate(4 << 20)
    p = run(losetup, "--find", "--show", "--sector-size", str(sector), backing, ok=None)
    if p.returncode != 0:
        from conftest import skip_loudly
        skip_loudly(f"losetup could not make a loop device here: {p.stderr.strip()}")
    dev = p.stdout.strip()
    try:
        from imgutil import strata
        log = tmp_path / "strace.log"
        env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0")
        # -ff: one log per thread, so no call is split by another thread's
        subprocess.run([strace, "-ff", "-e", "trace=pread64,pwrite64", "-o", str(log), strata(), "bench", "-q",
                        "-t", "none", "-w", "-f", "raw", "-c", "1", "-s", "512", "-o", "512", "--pattern=7", dev],
                       check=True, capture_output=True, env=env)
        calls = [ln for f in tmp_path.glob("strace.log.*") for ln in open(f) if "pread64(" in ln or "pwrite64(" in ln]
        direct = [ln for ln in calls if "pwrite64(" in ln and ln.rstrip().endswith(", 512, 512) = 512")]
        bounced = [ln for ln in calls if "pwrite64(" in ln and ", 4096, 0) = 4096" in ln]
        if sector == 512:
            assert direct and not bounced, calls
        else:
            assert bounced and not direct, calls
        out = run(qemu_io(), "-f", "raw", "-t", "none", "-c", "read -P 0 0 512", "-c", "read -P 7 512 512",
                  "-c", "read -P 0 1024 3072", dev)
        assert "Pattern verification failed" not in out.stdout, out.stdout
    finally:
        run(losetup, "-d", dev, ok=None)
