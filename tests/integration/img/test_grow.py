"""Growing an image over a larger backing file (resize, commit into a base
that grows): the range past the old end reads as zeros, never as the backing
file's data, with the same on-disk result as qemu-img 7.2 (zero clusters, the
partial head cluster written)."""
import json

import pytest

from imgutil import qemu_check_clean, qemu_io, qi, run, st


def io(img, *cmds, fmt="qcow2"):
    args = []
    for c in cmds:
        args += ["-c", c]
    return run(qemu_io(), "-f", fmt, *args, img)


def chain(d, name, size, backing_size=4 << 20, compat="1.1"):
    base = d / f"{name}-base.qcow2"
    qi("create", "-f", "qcow2", base, str(backing_size))
    io(base, f"write -P 0xaa 0 {backing_size}")
    top = d / f"{name}.qcow2"
    qi("create", "-f", "qcow2", "-o", f"compat={compat}", "-b", base.name, "-F", "qcow2", top, str(size))
    io(top, "write -P 0x11 0 64k")
    return top


def qmap(img):
    return [{k: e[k] for k in ("start", "length", "depth", "zero", "data")}
            for e in json.loads(qi("map", "--output=json", img).stdout)]


@pytest.mark.parametrize("old,new", [(1 << 20, "3M"), (1000000, "6M"), (1 << 20, "+1000448")])
def test_resize_over_larger_backing_reads_zeros(tmp_path, old, new):
    ours, theirs = chain(tmp_path, "ours", old), chain(tmp_path, "theirs", old)
    old = json.loads(qi("info", "--output=json", ours).stdout)["virtual-size"]  # whole sectors
    st("resize", ours, new)
    qi("resize", theirs, new)
    size = json.loads(qi("info", "--output=json", ours).stdout)["virtual-size"]
    io(ours, "read -P 0x11 0 64k", f"read -P 0xaa 64k {old - 65536}", f"read -P 0 {old} {size - old}")
    qemu_check_clean(ours)
    qi("compare", ours, theirs)
    assert qmap(ours) == qmap(theirs)


def test_resize_of_v2_over_larger_backing_is_refused_as_qemu_does(tmp_path):
    ours, theirs = chain(tmp_path, "ours", 1 << 20, compat="0.10"), chain(tmp_path, "theirs", 1 << 20, compat="0.10")
    before = ours.read_bytes()
    p = st("resize", ours, "3M", ok=(1,))
    assert "compat=0.10" in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert ours.read_bytes() == before
    assert qi("resize", theirs, "3M", ok=None).returncode != 0
    # past the end of the backing file there is nothing to hide
    st("resize", ours, "1M")
    qemu_check_clean(ours)


def test_commit_into_base_grown_over_its_larger_backing(tmp_path):
    """base (1M) over bb (4M of 0xaa); top grows to 3M and writes only at 2M: after
    commit base must read zeros in [1M, 2M) and [2M+64k, 3M) as top did."""
    results = []
    for tool in ("ours", "theirs"):
        d = tmp_path / tool
        d.mkdir()
        base = chain(d, "base", 1 << 20)
        top = d / "top.qcow2"
        qi("create", "-f", "qcow2", "-b", base.name, "-F", "qcow2", top, "1M")
        qi("resize", top, "3M")
        io(top, "write -P 0x22 2M 64k")
        (st if tool == "ours" else qi)("commit", top)
        io(base, "read -P 0x11 0 64k", "read -P 0 1M 1M", "read -P 0x22 2M 64k", "read -P 0 2112k 960k")
        qemu_check_clean(base)
        results.append(base)
    qi("compare", *results)


@pytest.mark.parametrize("compat", ["1.1", "0.10"])
def test_create_over_backing_leaves_backing_visible(tmp_path, compat):
    """Creation sets the first size, it does not grow anything: the backing
    data shows through (the hiding above is only for a size that grows)."""
    base = tmp_path / "b.qcow2"
    qi("create", "-f", "qcow2", base, "4M")
    io(base, "write -P 0xaa 0 4M")
    top = tmp_path / "t.qcow2"
    st("create", "-f", "qcow2", "-o", f"compat={compat}", "-b", base.name, "-F", "qcow2", top, "2M")
    io(top, "read -P 0xaa 0 2M")
    qemu_check_clean(top)


def test_rebase_onto_larger_backing_keeps_zeros_as_zero_clusters(tmp_path):
    """The image (3M) read zeros past its old backing file's end (1M); rebased
    onto a 4M backing file those zeros must stay, as zero clusters the way
    qemu-img writes them, not as allocated clusters of zeros."""
    results = []
    for tool in ("ours", "theirs"):
        d = tmp_path / tool
        d.mkdir()
        old, new = d / "old.qcow2", d / "new.qcow2"
        qi("create", "-q", "-f", "qcow2", old, "1M")
        io(old, "write -P 0x55 0 1M")
        qi("create", "-q", "-f", "qcow2", new, "4M")
        io(new, "write -P 0xaa 0 4M")
        top = d / "top.qcow2"
        qi("create", "-q", "-f", "qcow2", "-b", old.name, "-F", "qcow2", top, "3M")
        (st if tool == "ours" else qi)("rebase", "-b", new.name, "-F", "qcow2", top)
        io(top, "read -P 0x55 0 1M", "read -P 0 1M 2M")
        qemu_check_clean(top)
        results.append(top)
    qi("compare", *results)
    assert [e for e in qmap(results[0]) if e["start"] >= 1 << 20] == \
        [e for e in qmap(results[1]) if e["start"] >= 1 << 20]
