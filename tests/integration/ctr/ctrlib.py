"""Fixtures for strata-ctr: a busybox bundle built from Debian's busybox-static,
a private --root per test, and a check that nothing is left behind."""
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from conftest import program, skip_loudly

CGROUP_ROOT = Path("/sys/fs/cgroup")


def ctr_path():
    return program("src", "ctr", "strata-ctr")


def busybox_path():
    p = shutil.which("busybox")
    if not p:
        skip_loudly("busybox-static is not installed (scripts/deps/ctr.txt lists it)")
    return os.path.realpath(p)


def make_rootfs(root: Path):
    (root / "bin").mkdir(parents=True)
    for d in ("proc", "sys", "dev", "tmp", "etc", "root"):
        (root / d).mkdir()
    bb = root / "bin" / "busybox"
    shutil.copy(busybox_path(), bb)
    applets = subprocess.run([bb, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            (root / "bin" / a).symlink_to("busybox")
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\nnobody:x:65534:\n")


def cgroup_dirs(name):
    """Every directory called `name` directly under a hierarchy root."""
    found = []
    if not CGROUP_ROOT.exists():
        return found
    for h in CGROUP_ROOT.iterdir():
        if (h / name).is_dir():
            found.append(h / name)
    if (CGROUP_ROOT / "cgroup.controllers").exists() and (CGROUP_ROOT / name).is_dir():
        found.append(CGROUP_ROOT / name)
    return found


class Ctr:
    def __init__(self, tmp: Path):
        if os.geteuid() != 0:
            skip_loudly("strata-ctr tests need root (namespaces, cgroups, mounts)")
        self.exe = str(ctr_path())
        self.root = tmp / "state"
        self.bundle = tmp / "bundle"
        self.bundle.mkdir()
        make_rootfs(self.bundle / "rootfs")
        subprocess.run([self.exe, "spec", "--bundle", str(self.bundle)], check=True)
        self.config = json.loads((self.bundle / "config.json").read_text())
        self.config["process"]["terminal"] = False
        self.ids = []
        self.wrapper = []  # e.g. a command that enters another mount namespace first

    def new_id(self):
        i = "t" + uuid.uuid4().hex[:10]
        self.ids.append(i)
        return i

    def write_config(self, cfg=None):
        (self.bundle / "config.json").write_text(json.dumps(cfg or self.config))

    def args(self, *args):
        self.config["process"]["args"] = list(args)
        self.write_config()

    def __call__(self, *argv, check=False, timeout=60, input=None):
        # Files, not pipes: a detached container keeps its stdio open after
        # create returns, and a pipe would then never reach end of file.
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            p = subprocess.run([*self.wrapper, self.exe, "--root", str(self.root), *argv], stdout=out, stderr=err,
                               text=True, cwd=self.bundle, timeout=timeout,
                               input=input if input is not None else "")
            out.seek(0)
            err.seek(0)
            r = subprocess.CompletedProcess(p.args, p.returncode, out.read(), err.read())
        if check and r.returncode != 0:
            raise AssertionError(f"strata-ctr {' '.join(argv)} failed ({r.returncode}): {r.stderr}")
        return r

    def run(self, *args, **kw):
        self.args(*args)
        return self("run", self.new_id(), **kw)

    def state(self, cid):
        return json.loads(self("state", cid, check=True).stdout)

    def assert_clean(self, cid):
        assert not (self.root / cid).exists(), f"state directory of {cid} left behind"
        assert not cgroup_dirs(cid), f"cgroups left behind: {cgroup_dirs(cid)}"
        mounts = Path("/proc/self/mountinfo").read_text()
        assert str(self.bundle / "rootfs") not in mounts, "a rootfs mount leaked into the host"


@pytest.fixture
def ctr(tmp_path):
    c = Ctr(tmp_path)
    yield c
    for cid in c.ids:
        if (c.root / cid).exists():
            c("delete", "--force", cid)
