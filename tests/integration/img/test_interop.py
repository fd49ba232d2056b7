"""Interop both ways with Debian's qemu-img: what we write, qemu-img checks
clean and reads identically; what qemu-img writes, we read identically."""
import json
import os

import pytest

from imgutil import pattern_file, qemu_check_clean, qemu_io, qi, run, st

SIZE = 24 << 20

OPTION_MATRIX = [
    "cluster_size=65536",
    "cluster_size=512",
    "cluster_size=4096,refcount_bits=1",
    "cluster_size=2M",
    "compat=0.10",
    "refcount_bits=2",
    "refcount_bits=4",
    "refcount_bits=8",
    "refcount_bits=32",
    "refcount_bits=64",
    "lazy_refcounts=on",
    "compression_type=zstd",
    "preallocation=metadata",
    "preallocation=falloc",
]


@pytest.fixture(scope="module")
def src_raw(tmp_path_factory):
    return str(pattern_file(tmp_path_factory.mktemp("src") / "src.raw", SIZE, seed=7))


@pytest.mark.parametrize("opts", OPTION_MATRIX)
def test_our_convert_is_clean_for_qemu(tmp_path, src_raw, opts):
    out = tmp_path / "out.qcow2"
    st("convert", "-O", "qcow2", "-o", opts, src_raw, out)
    qemu_check_clean(out)
    qi("compare", "-f", "raw", "-F", "qcow2", src_raw, out)
    st("compare", src_raw, out)
    info = json.loads(qi("info", "--output=json", out).stdout)
    assert info["virtual-size"] == SIZE


@pytest.mark.parametrize("opts", ["compression_type=zlib", "compression_type=zstd",
                                  "compat=0.10", "cluster_size=4096", "cluster_size=2M"])
def test_our_compressed_convert_is_clean_for_qemu(tmp_path, src_raw, opts):
    out = tmp_path / "c.qcow2"
    st("convert", "-c", "-O", "qcow2", "-o", opts, src_raw, out)
    r = qemu_check_clean(out)
    assert r.get("compressed-clusters", 0) > 0
    qi("compare", src_raw, out)
    plain = tmp_path / "p.qcow2"
    st("convert", "-O", "qcow2", "-o", opts, src_raw, plain)
    assert os.path.getsize(out) < os.path.getsize(plain)


@pytest.mark.parametrize("opts", OPTION_MATRIX + ["compression_type=zstd"])
def test_we_read_what_qemu_writes(tmp_path, src_raw, opts):
    out = tmp_path / "q.qcow2"
    qi("convert", "-O", "qcow2", "-o", opts, src_raw, out)
    st("compare", src_raw, out)
    back = tmp_path / "back.raw"
    st("convert", "-O", "raw", out, back)
    qi("compare", src_raw, back)
    assert open(back, "rb").read() == open(src_raw, "rb").read()
    ours = json.loads(st("check", "--output=json", out).stdout)
    assert ours.get("corruptions", 0) == 0 and ours.get("leaks", 0) == 0


@pytest.mark.parametrize("opts", ["compression_type=zlib", "compression_type=zstd"])
def test_we_read_qemu_compressed(tmp_path, src_raw, opts):
    out = tmp_path / "qc.qcow2"
    qi("convert", "-c", "-O", "qcow2", "-o", opts, src_raw, out)
    st("compare", src_raw, out)
    st("check", out)


def test_backing_chain_written_by_us(tmp_path, src_raw):
    base = tmp_path / "base.qcow2"
    st("convert", "-O", "qcow2", src_raw, base)
    mid = tmp_path / "mid.qcow2"
    top = tmp_path / "top.qcow2"
    st("create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", mid)
    st("create", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", top)
    info = json.loads(qi("info", "--backing-chain", "--output=json", top).stdout)
    assert [i["format"] for i in info] == ["qcow2"] * 3
    assert info[0]["backing-filename-format"] == "qcow2"
    # qemu writes into our top; we read qemu's writes through our chain
    qemu_io_bin = qemu_io()
    from imgutil import run
    run(qemu_io_bin, "-c", "write -P 0x5a 1M 64k", "-c", "write -z 3M 128k", "-c", "write -P 0x11 5000 3000", top)
    expect = bytearray(open(src_raw, "rb").read())
    expect[1 << 20:(1 << 20) + 65536] = b"\x5a" * 65536
    expect[3 << 20:(3 << 20) + 131072] = bytes(131072)
    expect[5000:8000] = b"\x11" * 3000
    flat = tmp_path / "flat.raw"
    st("convert", "-O", "raw", top, flat)
    assert open(flat, "rb").read() == bytes(expect)
    for img in (base, mid, top):
        qemu_check_clean(img)


def test_backing_chain_written_by_qemu(tmp_path, src_raw):
    base = tmp_path / "b.raw"
    open(base, "wb").write(open(src_raw, "rb").read())
    top = tmp_path / "t.qcow2"
    qi("create", "-f", "qcow2", "-b", "b.raw", "-F", "raw", top)
    from imgutil import run
    run(qemu_io(), "-c", "write -P 0x77 64k 200k", "-c", "write -z 0 4k", top)
    info = json.loads(st("info", "--backing-chain", "--output=json", str(top)).stdout)
    assert [i["format"] for i in info] == ["qcow2", "raw"]
    ours = tmp_path / "ours.raw"
    theirs = tmp_path / "theirs.raw"
    st("convert", "-O", "raw", top, ours)
    qi("convert", "-O", "raw", top, theirs)
    assert open(ours, "rb").read() == open(theirs, "rb").read()
    st("compare", top, theirs)


def test_convert_with_B_writes_only_differences(tmp_path, src_raw):
    base = tmp_path / "base.qcow2"
    st("convert", "-O", "qcow2", src_raw, base)
    changed = tmp_path / "changed.raw"
    data = bytearray(open(src_raw, "rb").read())
    data[2 << 20:(2 << 20) + 4096] = b"\xee" * 4096
    open(changed, "wb").write(data)
    out = tmp_path / "delta.qcow2"
    st("convert", "-O", "qcow2", "-B", "base.qcow2", "-F", "qcow2", changed, out)
    qemu_check_clean(out)
    qi("compare", changed, out)
    r = json.loads(qi("check", "--output=json", out).stdout)
    assert r["allocated-clusters"] <= 2


def test_convert_n_overwrites_existing(tmp_path, src_raw):
    tgt = tmp_path / "tgt.qcow2"
    qi("create", "-f", "qcow2", tgt, str(SIZE))
    from imgutil import run
    run(qemu_io(), "-c", f"write -P 0xcc 0 {SIZE}", tgt)
    st("convert", "-n", "-O", "qcow2", src_raw, tgt)
    qemu_check_clean(tgt)
    qi("compare", src_raw, tgt)


def test_map_matches_qemu(tmp_path, src_raw):
    img = tmp_path / "m.qcow2"
    qi("convert", "-O", "qcow2", src_raw, img)
    top = tmp_path / "top.qcow2"
    qi("create", "-f", "qcow2", "-b", "m.qcow2", "-F", "qcow2", top)
    from imgutil import run
    run(qemu_io(), "-c", "write -P 1 128k 64k", "-c", "write -z 1M 64k", top)
    for path in (img, top):
        ours = json.loads(st("map", "--output=json", path).stdout)
        theirs = json.loads(qi("map", "--output=json", path).stdout)
        assert ours == theirs


@pytest.mark.parametrize("opts", ["cluster_size=4096,lazy_refcounts=on,refcount_bits=8", "compat=0.10",
                                  "compression_type=zstd"])
def test_info_matches_qemu(tmp_path, opts):
    img = tmp_path / "i.qcow2"
    st("create", "-f", "qcow2", "-o", opts, img, "1G")
    ours = json.loads(st("info", "--output=json", img).stdout)
    theirs = json.loads(qi("info", "--output=json", img).stdout)
    for k in ("virtual-size", "cluster-size", "format", "dirty-flag", "format-specific"):
        assert ours[k] == theirs[k], k


def test_compare_detects_difference(tmp_path, src_raw):
    img = tmp_path / "x.qcow2"
    st("convert", "-O", "qcow2", src_raw, img)
    from imgutil import run
    run(qemu_io(), "-c", "write -P 0x42 12345 1", img)
    p = st("compare", src_raw, img, ok=(1,))
    assert "12345" in p.stdout


@pytest.mark.parametrize("opts", OPTION_MATRIX + ["preallocation=full", "compat=0.10,cluster_size=1024"])
def test_images_we_create_take_qemu_writes(tmp_path, opts):
    img = tmp_path / "cr.qcow2"
    st("create", "-q", "-f", "qcow2", "-o", opts, img, "12M")
    qemu_check_clean(img)
    from imgutil import run
    cmds = ["-c", "write -P 0x21 100k 3M", "-c", "write -z 5M 1M"]
    if "cluster_size" not in opts and "preallocation" not in opts:
        # qemu-io compresses whole clusters only, into unallocated ones
        cmds += ["-c", "write -c -P 0x22 8M 64k"]
    run(qemu_io(), *cmds, img)
    qemu_check_clean(img)
    run(qemu_io(), "-c", "read -P 0x21 100k 3M", "-c", "read -P 0 5M 1M", img)
    # and our own writes on top of qemu's
    src = tmp_path / "w.raw"
    open(src, "wb").write(bytes([0x33]) * (12 << 20))
    st("convert", "-n", "-O", "qcow2", src, img)
    qemu_check_clean(img)
    qi("compare", src, img)


def test_convert_progress_workers_and_unordered(tmp_path, src_raw):
    out = tmp_path / "pw.qcow2"
    p = st("convert", "-p", "-m", "4", "-W", "-O", "qcow2", src_raw, out)
    assert "100.00/100%" in p.stdout
    qemu_check_clean(out)
    qi("compare", src_raw, out)


def test_convert_S0_allocates_everything(tmp_path):
    src = tmp_path / "z.raw"
    with open(src, "wb") as f:
        f.truncate(4 << 20)
        f.write(b"\x01" * 4096)
    out = tmp_path / "full.qcow2"
    st("convert", "-S", "0", "-O", "qcow2", src, out)
    r = qemu_check_clean(out)
    assert r["allocated-clusters"] == r["total-clusters"] == 64
    sparse = tmp_path / "sparse.qcow2"
    st("convert", "-O", "qcow2", src, sparse)
    assert qemu_check_clean(sparse)["allocated-clusters"] == 1
    qi("compare", src, out)
    qi("compare", src, sparse)


def test_compare_sizes_and_strict(tmp_path):
    a, b = tmp_path / "a.raw", tmp_path / "b.qcow2"
    with open(a, "wb") as f:
        f.write(b"\x07" * 65536)
    st("convert", "-O", "qcow2", a, b)
    st("resize", b, "1M")
    # the larger image holds only zeros past the smaller one's end: equal, except in strict mode
    assert st("compare", a, b).returncode == 0
    assert qi("compare", a, b, ok=None).returncode == 0
    assert st("compare", "-s", a, b, ok=(1,)).returncode == 1
    from imgutil import run
    run(qemu_io(), "-c", "write -P 1 900k 1", b)
    p = st("compare", a, b, ok=(1,))
    assert str(900 * 1024) in p.stdout


def _evict(path):
    """Drop a file's pages from the page cache, so convert reads it from disk (O_DIRECT)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


@pytest.mark.parametrize("cached", [True, False], ids=["cached", "evicted"])
def test_convert_chain_reads_every_layer(tmp_path, cached):
    """A raw base under qcow2 layers of 512 B and 64 KiB clusters with scattered,
    unaligned writes: what convert reads straight from each file (mapped when
    cached, O_DIRECT when not) equals qemu-img's own conversion."""
    base = pattern_file(tmp_path / "base.raw", 6 << 20, seed=5)
    mid, top = tmp_path / "mid.qcow2", tmp_path / "top.qcow2"
    qi("create", "-q", "-f", "qcow2", "-o", "cluster_size=512", "-b", base, "-F", "raw", mid)
    qi("create", "-q", "-f", "qcow2", "-b", mid, "-F", "qcow2", top)
    for img, writes in ((mid, ["write -P 0x11 1000 70000", "write -z 2M 300k", "write -P 0x12 5M 4097"]),
                        (top, ["write -P 0x21 65536 131072", "write -P 0x22 3000000 100", "write -z 4M 64k"])):
        run_io = [a for w in writes for a in ("-c", w)]
        run(qemu_io(), "-f", "qcow2", *run_io, img)
    for fmt in ("raw", "qcow2"):
        want, got = tmp_path / f"want.{fmt}", tmp_path / f"got.{fmt}"
        qi("convert", "-O", fmt, top, want)
        for f in (base, mid, top):
            if not cached:
                _evict(f)
        st("convert", "-O", fmt, top, got)
        if fmt == "qcow2":
            qemu_check_clean(got)
        qi("compare", "-f", fmt, "-F", fmt, want, got)


@pytest.mark.parametrize("fmt", ["raw", "qcow2"])
def test_convert_concatenates_sources_like_qemu(tmp_path, fmt):
    """convert a b c out: one after the other, each taking whole 512-byte
    sectors (qemu-img's rule: a 1000000-byte source takes 1000448 bytes)."""
    a = pattern_file(tmp_path / "a.raw", 1000000, seed=21)
    b = tmp_path / "b.qcow2"
    qi("create", "-q", "-f", "qcow2", b, "3M")
    run(qemu_io(), "-f", "qcow2", "-c", "write -P 7 100k 500k", "-c", "write -z 1M 64k", b)
    c = pattern_file(tmp_path / "c.raw", 65536, seed=22)
    want, got = tmp_path / f"want.{fmt}", tmp_path / f"got.{fmt}"
    qi("convert", "-O", fmt, a, b, c, want)
    st("convert", "-O", fmt, a, b, c, got)
    if fmt == "qcow2":
        qemu_check_clean(got)
    qi("compare", "-f", fmt, "-F", fmt, want, got)
    info = [json.loads(qi("info", "--output=json", p).stdout)["virtual-size"] for p in (want, got)]
    assert info[0] == info[1] == 1000448 + (3 << 20) + 65536


def test_convert_several_sources_compressed(tmp_path):
    parts = [pattern_file(tmp_path / f"p{i}.raw", 1 << 20, seed=30 + i) for i in range(3)]
    want, got = tmp_path / "want.raw", tmp_path / "got.qcow2"
    qi("convert", "-O", "raw", *parts, want)
    st("convert", "-c", "-O", "qcow2", *parts, got)
    qemu_check_clean(got)
    qi("compare", "-f", "raw", "-F", "qcow2", want, got)
    # a source that ends inside a cluster would put compressed clusters off the grid
    odd = pattern_file(tmp_path / "odd.raw", 70000, seed=40)
    p = st("convert", "-c", "-O", "qcow2", odd, parts[0], tmp_path / "bad.qcow2", ok=(1,))
    assert len(p.stderr.strip().splitlines()) == 1 and "cluster" in p.stderr
