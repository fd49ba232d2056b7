"""Shared pytest fixtures: where the built programs are, and loud skips."""
import functools
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("STRATA_BUILD", ROOT / "build"))


def program(*parts):
    """Path of a built program, e.g. program('src', 'vm', 'strata-vm')."""
    p = BUILD.joinpath(*parts)
    if not p.exists():
        pytest.fail(f"{p} was not built (run scripts/build.sh)")
    return p


@pytest.fixture(scope="session")
def build_dir():
    return BUILD


def free_port():
    """A loopback TCP port free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_answering(proc, url, log, what, seconds, context=None):
    """Polls url until it answers; fails with log's tail if proc exits first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=10, context=context).read()
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            if proc.poll() is not None:
                raise AssertionError(f"{what} exited: {log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not answer in {seconds} s")
            time.sleep(0.1)


def wait_for(what, check, seconds=120):
    """check() until it returns something true (returned); fails naming what
    (or what() when it is callable: a message made at the failure) and
    check's last value once seconds pass. Never a fixed sleep: a slow
    machine only waits longer."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what() if callable(what) else what}"
                                 f" (last: {value!r})")
        time.sleep(0.1)


def skip_loudly(reason):
    """SKIP with the reason on the terminal too, so a skip is never silent."""
    print(f"\nSKIP: {reason}")
    pytest.skip(reason)


@functools.lru_cache(maxsize=None)
def kvm_missing_reason():
    """Why /dev/kvm cannot be used here, with the kernel's own words when it said
    why it registered no device (a host that is itself a kvm-pvm guest does not
    bind kvm-pvm); None when it can be used."""
    if os.access("/dev/kvm", os.R_OK | os.W_OK):
        return None
    reason = "/dev/kvm is missing or not accessible on this host"
    try:
        log = subprocess.run(["dmesg"], capture_output=True, text=True, timeout=10).stdout
        said = [l.split("] ", 1)[-1] for l in log.splitlines() if "kvm" in l and "not binding" in l]
        if said:
            reason += f" (the kernel said: {said[-1].strip()!r})"
    except (OSError, subprocess.SubprocessError):
        pass
    return reason


@pytest.fixture
def kvm():
    reason = kvm_missing_reason()
    if reason:
        skip_loudly(reason)
    return "/dev/kvm"


@pytest.fixture(autouse=True)
def _needs_kvm(request):
    """Tests marked needs_kvm SKIP loudly (the kvm fixture) where /dev/kvm is unusable."""
    if request.node.get_closest_marker("needs_kvm"):
        request.getfixturevalue("kvm")


@pytest.fixture(scope="session")
def postgres():
    """One throwaway PostgreSQL cluster for the whole session
    (integration/cloud/pglib.py); each cloud asks it for a database of its own
    (new_database, drop_database). Defined here, not in a test module: a
    session fixture a module imports is one instance per module."""
    cloud_tests = str(ROOT / "tests" / "integration" / "cloud")
    if cloud_tests not in sys.path:
        sys.path.insert(0, cloud_tests)
    import pglib
    yield from pglib.session_cluster()
