"""Rootless: an unprivileged user runs a container in a user namespace that
maps its own ids (the bundle `spec --rootless` writes); no cgroups needed."""
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import skip_loudly
from ctrlib import ctr_path, make_rootfs

NOBODY = 65534


@pytest.fixture
def rootless_dir():
    if os.geteuid() != 0:
        skip_loudly("switching to an unprivileged user needs root to start with")
    if not shutil.which("setpriv"):
        skip_loudly("setpriv (util-linux) is missing")
    d = Path(tempfile.mkdtemp(prefix="strata-ctr-rootless-"))
    (d / "bundle").mkdir()
    make_rootfs(d / "bundle" / "rootfs")
    for p in [d, *d.rglob("*")]:
        os.lchown(p, NOBODY, NOBODY)
    d.chmod(0o755)
    probe = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                            "unshare", "-U", "-r", "true"], capture_output=True)
    if probe.returncode != 0:
        skip_loudly("unprivileged user namespaces are disabled on this host")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def as_nobody(d, *argv):
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    return subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                           str(ctr_path()), "--root", str(d / "state"), *argv],
                          capture_output=True, text=True, cwd=d / "bundle", env=env, timeout=60,
                          stdin=subprocess.DEVNULL)


def test_rootless_run(rootless_dir):
    d = rootless_dir
    r = as_nobody(d, "spec", "--rootless")
    assert r.returncode == 0, r.stderr
    cfg = json.loads((d / "bundle" / "config.json").read_text())
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["/bin/sh", "-c", "id -u; cat /proc/self/uid_map; echo $$; exit 6"]
    (d / "bundle" / "config.json").write_text(json.dumps(cfg))
    r = as_nobody(d, "run", "rl1")
    assert r.returncode == 6, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "0"
    assert lines[1].split() == ["0", str(NOBODY), "1"]
    assert lines[2] == "1"
    assert not (d / "state" / "rl1").exists()


def test_rootless_limits_without_cgroup_fail_clearly(rootless_dir):
    d = rootless_dir
    as_nobody(d, "spec", "--rootless")
    cfg = json.loads((d / "bundle" / "config.json").read_text())
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["/bin/true"]
    cfg["linux"]["resources"] = {"pids": {"limit": 10}}
    (d / "bundle" / "config.json").write_text(json.dumps(cfg))
    r = as_nobody(d, "run", "rl2")
    assert r.returncode != 0
    assert len(r.stderr.strip().splitlines()) == 1 and "Permission denied" in r.stderr
    assert not (d / "state" / "rl2").exists()
