"""Debian's podman drives strata-ctr as its OCI runtime (--runtime), on an image
imported from a busybox tarball (no registry is reachable here)."""
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import skip_loudly
from ctrlib import ctr_path, make_rootfs

# podman's default rlimits exceed this sandbox's hard limit: set them (peers-here.md)
LIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--network", "none"]


@pytest.fixture(scope="module")
def podman():
    if not shutil.which("podman"):
        skip_loudly("podman is not installed (scripts/deps/ctr.txt lists it)")
    d = Path(tempfile.mkdtemp(prefix="strata-ctr-podman-"))
    base = ["podman", "--root", str(d / "storage"), "--runroot", str(d / "run"),
            "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--runtime", str(ctr_path())]
    try:
        make_rootfs(d / "rootfs")
        tar = subprocess.run(["tar", "-C", str(d / "rootfs"), "-c", "."], capture_output=True, check=True)
        r = subprocess.run(base + ["import", "-", "localhost/strata-bb:1"], input=tar.stdout,
                           capture_output=True, timeout=120)
        if r.returncode != 0:
            skip_loudly(f"podman cannot import an image here: {r.stderr.decode().strip()}")
        # Whether podman itself can run containers on this host: ask it with runc.
        runc = shutil.which("runc")
        if runc:
            probe = subprocess.run(base[:-1] + [runc, "run", "--rm", *LIMITS, "localhost/strata-bb:1",
                                                "/bin/true"], capture_output=True, text=True, timeout=120)
            if probe.returncode != 0:
                skip_loudly(f"podman cannot run containers here even with runc: {probe.stderr.strip()}")
        yield base
    finally:
        subprocess.run(base + ["rm", "-af"], capture_output=True, timeout=120)
        subprocess.run(base + ["system", "reset", "-f"], capture_output=True, timeout=120)
        shutil.rmtree(d, ignore_errors=True)


def podman_run(base, *args, timeout=120):
    return subprocess.run(base + list(args), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_podman_run_echo_and_exit_code(podman):
    r = podman_run(podman, "run", "--rm", *LIMITS, "localhost/strata-bb:1", "/bin/echo", "hello from strata")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello from strata\n"
    r = podman_run(podman, "run", "--rm", *LIMITS, "localhost/strata-bb:1", "/bin/sh", "-c", "exit 5")
    assert r.returncode == 5, r.stderr


def test_podman_detached_exec_stop(podman):
    r = podman_run(podman, "run", "-d", "--name", "strata-bg", *LIMITS, "localhost/strata-bb:1",
                   "/bin/sleep", "300")
    assert r.returncode == 0, r.stderr
    try:
        r = podman_run(podman, "exec", "strata-bg", "/bin/sh", "-c", "echo $$; cat /proc/1/cmdline")
        assert r.returncode == 0, r.stderr
        assert "/bin/sleep" in r.stdout
        r = podman_run(podman, "inspect", "--format", "{{.State.Status}}", "strata-bg")
        assert r.stdout.strip() == "running"
        r = podman_run(podman, "exec", "strata-bg", "/bin/sh", "-c", "exit 3")
        assert r.returncode == 3, r.stderr
        for verb, want in (("pause", "paused"), ("unpause", "running")):
            r = podman_run(podman, verb, "strata-bg")
            assert r.returncode == 0, r.stderr
            r = podman_run(podman, "inspect", "--format", "{{.State.Status}}", "strata-bg")
            assert r.stdout.strip() == want
        r = podman_run(podman, "top", "strata-bg")
        assert r.returncode == 0 and "/bin/sleep 300" in r.stdout, r.stderr
        r = podman_run(podman, "stop", "-t", "1", "strata-bg")
        assert r.returncode == 0, r.stderr
    finally:
        podman_run(podman, "rm", "-f", "strata-bg")


def test_podman_tty_and_limits(podman):
    # -t: conmon hands strata-ctr a console socket and gets the pty master back
    r = podman_run(podman, "run", "--rm", "-t", *LIMITS, "localhost/strata-bb:1", "/bin/sh", "-c", "tty")
    assert r.returncode == 0, r.stderr
    assert "/dev/pts/0" in r.stdout
    r = podman_run(podman, "run", "--rm", "--memory", "64m", "--pids-limit", "20", *LIMITS,
                   "localhost/strata-bb:1", "/bin/sh", "-c",
                   "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max "
                   "/sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max 2>/dev/null")
    assert r.stdout.split() == [str(64 << 20), "20"], (r.stdout, r.stderr)


IMG = "localhost/strata-bb:1"


def test_podman_privileged_and_device(podman):
    # podman sends each device's whole st_mode as fileMode (0o20666 for /dev/null)
    r = podman_run(podman, "run", "--rm", "--privileged", *LIMITS, IMG, "/bin/sh", "-c",
                   "grep CapEff /proc/self/status; ls /dev | grep -c .")
    assert r.returncode == 0, r.stderr
    eff, ndev = r.stdout.split()[1:3]
    assert int(eff, 16) & (1 << 21), "no CAP_SYS_ADMIN with --privileged"
    assert int(ndev) > 10  # the host's devices
    r = podman_run(podman, "run", "--rm", "--device", "/dev/null:/dev/mynull", *LIMITS, IMG, "/bin/sh", "-c",
                   "stat -c '%F %t:%T' /dev/mynull; echo hi > /dev/mynull && echo wrote")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["character special file 1:3", "wrote"]


def test_podman_timeout_then_rm_all_leaves_nothing(podman):
    """--timeout: conmon kills the container after 2 s. The container leads its
    own session, so conmon (same process group before) survives, podman sees
    the container exit, and rm -af leaves no container and no cgroup."""
    try:
        r = podman_run(podman, "run", "--name", "strata-timeout", "--timeout", "2", *LIMITS, IMG,
                       "/bin/sleep", "30", timeout=90)
    except subprocess.TimeoutExpired:
        raise AssertionError("podman run --timeout 2 never saw the container end")
    assert r.returncode != 0  # killed by the timeout
    cid = podman_run(podman, "inspect", "--format", "{{.Id}}", "strata-timeout").stdout.strip()
    assert cid
    r = podman_run(podman, "inspect", "--format", "{{.State.Status}}", "strata-timeout")
    assert r.stdout.strip() == "exited", r.stdout + r.stderr
    r = podman_run(podman, "rm", "-af")
    assert r.returncode == 0, r.stderr
    assert podman_run(podman, "ps", "-aq").stdout.strip() == ""
    left = [str(p) for h in Path("/sys/fs/cgroup").iterdir() for p in h.glob(f"**/*{cid}*")]
    assert not left, f"cgroups left behind: {left}"
