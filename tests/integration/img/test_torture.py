"""Random writes, zero writes, discards, compressed writes, flushes and
internal snapshots through the block layer, mirrored on a buffer; qemu-img
then finds the image clean and equal to the mirror."""
import os

import pytest

from conftest import program
from imgutil import pattern_file, qemu_check_clean, qi, run, st

CASES = [
    ("cluster_size=65536", False),
    ("cluster_size=512", False),
    ("cluster_size=4096,refcount_bits=2", False),
    ("cluster_size=2M", False),
    ("compat=0.10,cluster_size=4096", False),
    ("refcount_bits=64,lazy_refcounts=on", False),
    ("compression_type=zstd,cluster_size=16384", False),
    ("cluster_size=4096,refcount_bits=1", False),
    ("cluster_size=65536", True),
    ("compat=0.10,cluster_size=8192", True),
    ("cluster_size=4096,compression_type=zstd", True),
    ("cluster_size=512", True),
]


@pytest.mark.parametrize("opts,backed", CASES)
def test_random_operations_stay_consistent(tmp_path, opts, backed):
    torture(tmp_path, opts, backed, {})


@pytest.mark.parametrize("opts,backed", [("cluster_size=4096", False), ("cluster_size=512", True)])
def test_random_operations_with_tiny_caches(tmp_path, opts, backed):
    torture(tmp_path, opts, backed, {"TORTURE_TINY_CACHES": "1"})


def torture(tmp_path, opts, backed, env):
    img = tmp_path / "t.qcow2"
    size = 12 << 20
    if backed:
        base = tmp_path / "base.raw"
        pattern_file(base, size, seed=11)
        st("create", "-q", "-f", "qcow2", "-o", opts, "-b", "base.raw", "-F", "raw", img)
    else:
        st("create", "-q", "-f", "qcow2", "-o", opts, img, str(size))
    mirror = tmp_path / "mirror.raw"
    for seed in (1, 2):
        run(program("tests", "unit", "block", "torture"), img, mirror, seed, 400, env={**os.environ, **env})
        qemu_check_clean(img)
        qi("compare", "-f", "raw", "-F", "qcow2", mirror, img)
        st("compare", mirror, img)
