"""snapshot, commit, rebase, resize, amend, measure: every image we change
passes qemu-img check and holds the expected data."""
import json

import pytest

from imgutil import pattern_file, qemu_check_clean, qemu_io, qi, run, st


def write(img, *cmds):
    args = []
    for c in cmds:
        args += ["-c", c]
    run(qemu_io(), *args, img)


def test_snapshots_roundtrip_with_qemu(tmp_path):
    img = tmp_path / "s.qcow2"
    st("create", "-f", "qcow2", "-o", "cluster_size=4096", img, "8M")
    write(img, "write -P 1 0 1M", "write -c -P 7 2M 4k")
    st("snapshot", "-c", "first", img)
    qemu_check_clean(img)
    write(img, "write -P 2 512k 1M", "write -z 4M 64k")
    st("snapshot", "-c", "second", img)
    qemu_check_clean(img)
    names = [s["name"] for s in json.loads(qi("info", "--output=json", img).stdout)["snapshots"]]
    assert names == ["first", "second"]
    assert "second" in st("snapshot", "-l", img).stdout
    st("snapshot", "-a", "first", img)
    qemu_check_clean(img)
    write(img, "read -P 1 0 1M", "read -P 7 2M 4k")
    st("snapshot", "-d", "first", img)
    qemu_check_clean(img)
    st("snapshot", "-a", "second", img)
    write(img, "read -P 1 0 512k", "read -P 2 512k 1M")
    st("snapshot", "-d", "second", img)
    r = qemu_check_clean(img)
    assert "snapshots" not in json.loads(qi("info", "--output=json", img).stdout)
    # qemu's snapshots read by us
    qi("snapshot", "-c", "theirs", img)
    write(img, "write -P 9 0 64k")
    st("snapshot", "-a", "theirs", img)
    write(img, "read -P 2 512k 64k")
    qemu_check_clean(img)
    assert r["check-errors"] == 0


def test_snapshot_refused_with_one_bit_refcounts(tmp_path):
    img = tmp_path / "r1.qcow2"
    st("create", "-f", "qcow2", "-o", "refcount_bits=1", img, "1M")
    p = st("snapshot", "-c", "x", img, ok=(1,))
    assert "refcount" in p.stderr
    qemu_check_clean(img)


def test_commit_into_backing(tmp_path):
    base = tmp_path / "base.qcow2"
    top = tmp_path / "top.qcow2"
    st("create", "-f", "qcow2", base, "8M")
    write(base, "write -P 1 0 4M")
    st("create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", top)
    write(top, "write -P 2 1M 64k", "write -z 2M 128k", "write -P 3 7M 1k")
    expect = tmp_path / "expect.raw"
    qi("convert", "-O", "raw", top, expect)
    st("commit", top)
    qemu_check_clean(base)
    qemu_check_clean(top)
    qi("compare", expect, base)
    qi("compare", expect, top)
    assert json.loads(qi("check", "--output=json", top).stdout).get("allocated-clusters", 0) == 0


def test_rebase_safe_and_unsafe(tmp_path):
    a = tmp_path / "a.raw"
    pattern_file(a, 4 << 20, seed=3)
    b = tmp_path / "b.qcow2"
    qi("convert", "-O", "qcow2", a, b)
    write(b, "write -P 0x44 1M 256k")
    top = tmp_path / "top.qcow2"
    st("create", "-f", "qcow2", "-b", "a.raw", "-F", "raw", top)
    write(top, "write -P 5 0 4k")
    expect = tmp_path / "e.raw"
    qi("convert", "-O", "raw", top, expect)
    st("rebase", "-b", "b.qcow2", "-F", "qcow2", top)
    qemu_check_clean(top)
    info = json.loads(qi("info", "--output=json", top).stdout)
    assert info["backing-filename"] == "b.qcow2" and info["backing-filename-format"] == "qcow2"
    qi("compare", expect, top)
    st("rebase", "-b", "", top)     # no backing at all: everything copied in
    qemu_check_clean(top)
    qi("compare", expect, top)
    st("rebase", "-u", "-b", "a.raw", "-F", "raw", top)
    assert json.loads(qi("info", "--output=json", top).stdout)["backing-filename"] == "a.raw"


@pytest.mark.parametrize("opts", ["cluster_size=512", "cluster_size=65536", "compat=0.10"])
def test_resize_grow_and_shrink(tmp_path, opts):
    img = tmp_path / "z.qcow2"
    st("create", "-f", "qcow2", "-o", opts, img, "1M")
    write(img, "write -P 8 0 1M")
    st("resize", img, "+300M")
    qemu_check_clean(img)
    assert json.loads(qi("info", "--output=json", img).stdout)["virtual-size"] == (301 << 20)
    write(img, "write -P 9 300M 64k", "read -P 8 0 1M")
    assert st("resize", img, "--", "-100M", ok=(1,)).returncode == 1
    st("resize", "--shrink", img, "512k")
    qemu_check_clean(img)
    write(img, "read -P 8 0 512k")
    assert json.loads(qi("info", "--output=json", img).stdout)["virtual-size"] == 512 << 10


def test_amend_compat_and_lazy(tmp_path):
    img = tmp_path / "am.qcow2"
    st("create", "-f", "qcow2", "-o", "compat=0.10", img, "4M")
    write(img, "write -P 1 0 64k")
    st("amend", "-o", "compat=1.1,lazy_refcounts=on", img)
    d = json.loads(qi("info", "--output=json", img).stdout)["format-specific"]["data"]
    assert d["compat"] == "1.1" and d["lazy-refcounts"] is True
    qemu_check_clean(img)
    st("amend", "-o", "lazy_refcounts=off,compat=0.10", img)
    assert json.loads(qi("info", "--output=json", img).stdout)["format-specific"]["data"]["compat"] == "0.10"
    qemu_check_clean(img)
    write(img, "read -P 1 0 64k")
    assert st("amend", "-o", "cluster_size=4096", img, ok=(1,)).returncode == 1


@pytest.mark.parametrize("opts", ["cluster_size=65536", "cluster_size=4096,refcount_bits=1", "cluster_size=2M"])
def test_measure_equals_qemu(tmp_path, opts):
    src = tmp_path / "m.raw"
    pattern_file(src, 30 << 20, seed=5)
    for args in (["--size", "7G"], [str(src)]):
        ours = json.loads(st("measure", "--output=json", "-O", "qcow2", "-o", opts, *args).stdout)
        theirs = json.loads(qi("measure", "--output=json", "-O", "qcow2", "-o", opts, *args).stdout)
        assert ours == theirs


def test_bench_runs_and_leaves_a_clean_image(tmp_path):
    img = tmp_path / "b.qcow2"
    st("create", "-f", "qcow2", img, "64M")
    out = st("bench", "-w", "--random", "-c", "2000", "-d", "4", "-s", "4096", img).stdout
    assert "Run completed" in out
    qemu_check_clean(img)
    st("bench", "-c", "2000", "-d", "4", img)


def test_every_command_has_help():
    out = st("--help").stdout
    for cmd in ("create", "info", "check", "convert", "compare", "commit", "rebase", "resize",
                "snapshot", "map", "measure", "amend", "bench"):
        assert cmd in out
        assert st(cmd, "--help").stdout.startswith("usage: strata-img " + cmd)


@pytest.mark.parametrize("bits", [1, 2, 8, 64, 16])
def test_amend_refcount_bits(tmp_path, bits):
    """The refcount structures rebuilt at another width: qemu-img reads the
    width, finds the image clean and the data (and snapshot) unchanged."""
    path = tmp_path / "a.qcow2"
    qi("create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", path, "32M")
    run(qemu_io(), "-c", "write -P 1 0 3M", "-c", "write -P 2 20M 64k", path)
    if bits > 1:   # a snapshot makes refcounts of 2, more than 1 bit holds
        qi("snapshot", "-c", "s1", path)
        run(qemu_io(), "-c", "write -P 3 1M 1M", path)
    want = tmp_path / "want.raw"
    qi("convert", "-O", "raw", path, want)
    st("amend", "-o", f"refcount_bits={bits}", path)
    info = json.loads(qi("info", "--output=json", path).stdout)
    assert info["format-specific"]["data"]["refcount-bits"] == bits
    qemu_check_clean(path)
    qi("compare", "-f", "raw", "-F", "qcow2", want, path)
    run(qemu_io(), "-c", "write -P 4 5M 1M", path)   # qemu writes with our structures
    qemu_check_clean(path)


def test_amend_refcount_bits_refusals(tmp_path):
    path = tmp_path / "r.qcow2"
    qi("create", "-q", "-f", "qcow2", path, "8M")
    run(qemu_io(), "-c", "write -P 1 0 64k", path)
    qi("snapshot", "-c", "s1", path)   # the data cluster now has 2 references
    before = open(path, "rb").read()
    for opts, why in (("refcount_bits=1", "references"), ("refcount_bits=3", "power of two"),
                      ("refcount_bits=8,compat=0.10", "compat"), ("backing_file=x.raw", "rebase")):
        p = st("amend", "-o", opts, path, ok=(1,))
        assert len(p.stderr.strip().splitlines()) == 1 and why in p.stderr, p.stderr
    assert open(path, "rb").read() == before


def test_amend_refcount_bits_round_trips_do_not_grow_the_file(tmp_path):
    """Each rebuild puts the new refcount structures in free clusters and trims
    the free tail (the old structures when they were last): after five round
    trips 16 -> 1 -> 64 -> 16 the file is no larger than after the first, ends
    where qemu-img check says the image ends, and qemu-img doing the same round
    trips on a copy ends up no smaller than we do by more than two clusters."""
    ours, theirs = tmp_path / "o.qcow2", tmp_path / "t.qcow2"
    qi("create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", ours, "64M")
    run(qemu_io(), "-c", "write -P 1 0 8M", "-c", "write -P 2 40M 64k", ours)
    theirs.write_bytes(ours.read_bytes())
    want = tmp_path / "want.raw"
    qi("convert", "-O", "raw", ours, want)
    sizes = []
    for _ in range(5):
        for bits in (1, 64, 16):
            st("amend", "-o", f"refcount_bits={bits}", ours)
            qi("amend", "-o", f"refcount_bits={bits}", theirs)
            r = qemu_check_clean(ours)
            assert ours.stat().st_size == r["image-end-offset"], (ours.stat().st_size, r)
            assert ours.stat().st_size <= theirs.stat().st_size + 2 * 4096, (ours.stat().st_size, theirs.stat().st_size)
        sizes.append(ours.stat().st_size)
    assert max(sizes) == sizes[0], sizes
    qi("compare", "-f", "raw", "-F", "qcow2", want, ours)
