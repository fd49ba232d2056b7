"""Shared pytest fixtures: where the built programs are, and loud skips."""
import os
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


def skip_loudly(reason):
    """SKIP with the reason on the terminal too, so a skip is never silent."""
    print(f"\nSKIP: {reason}")
    pytest.skip(reason)


@pytest.fixture
def kvm():
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip_loudly("/dev/kvm is missing or not accessible on this host")
    return "/dev/kvm"


@pytest.fixture(autouse=True)
def _needs_kvm(request):
    """Tests marked needs_kvm SKIP loudly (the kvm fixture) where /dev/kvm is unusable."""
    if request.node.get_closest_marker("needs_kvm"):
        request.getfixturevalue("kvm")
