"""Helpers for the strata-img tests: run our tool and qemu-img side by side."""
import json
import os
import random
import shutil
import subprocess

import pytest

from conftest import program, skip_loudly


def strata():
    return str(program("src", "img", "strata-img"))


def qemu_img():
    q = shutil.which("qemu-img")
    if not q:
        skip_loudly("qemu-img (Debian qemu-utils) is not installed; scripts/install-deps.sh installs it")
    return q


def qemu_io():
    q = shutil.which("qemu-io")
    if not q:
        skip_loudly("qemu-io (Debian qemu-utils) is not installed")
    return q


def run(*args, ok=(0,), **kw):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120, **kw)
    if ok is not None and p.returncode not in ok:
        raise AssertionError(f"{args} exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def st(*args, ok=(0,)):
    return run(strata(), *args, ok=ok)


def qi(*args, ok=(0,)):
    return run(qemu_img(), *args, ok=ok)


def qemu_check_clean(path):
    """qemu-img's verdict: no errors, no leaks."""
    p = qi("check", "--output=json", path, ok=None)
    assert p.returncode == 0, f"qemu-img check {path} exited {p.returncode}: {p.stdout}{p.stderr}"
    r = json.loads(p.stdout)
    assert r.get("corruptions", 0) == 0 and r.get("leaks", 0) == 0 and r["check-errors"] == 0, r
    return r


def pattern_file(path, size, seed=1, holes=True):
    """A raw file with random data, runs of zeros and holes, deterministic."""
    rnd = random.Random(seed)
    with open(path, "wb") as f:
        f.truncate(size)
        pos = 0
        while pos < size:
            n = min(size - pos, rnd.choice([512, 4096, 65536, 300000, 1 << 20]))
            kind = rnd.random()
            if kind < 0.5:
                f.seek(pos)
                f.write(rnd.randbytes(n))
            elif kind < 0.7:
                f.seek(pos)
                f.write(bytes([rnd.randrange(256)]) * n)   # compressible
            # else: a hole
            pos += n
    return path


def read_all(path):
    with open(path, "rb") as f:
        return f.read()


class Qcow2:
    """Just enough of the on-disk layout to damage an image on purpose."""

    def __init__(self, path):
        self.path = path
        self.data = bytearray(open(path, "rb").read())

    def u32(self, off):
        return int.from_bytes(self.data[off:off + 4], "big")

    def u64(self, off):
        return int.from_bytes(self.data[off:off + 8], "big")

    def put32(self, off, v):
        self.data[off:off + 4] = v.to_bytes(4, "big")

    def put64(self, off, v):
        self.data[off:off + 8] = v.to_bytes(8, "big")

    @property
    def cluster_size(self):
        return 1 << self.u32(20)

    @property
    def l1_offset(self):
        return self.u64(40)

    @property
    def reftable_offset(self):
        return self.u64(48)

    def l2_offset(self, i=0):
        return self.u64(self.l1_offset + 8 * i) & 0x00fffffffffffe00

    def save(self, path=None):
        open(path or self.path, "wb").write(self.data)
