"""Hostile images: one clear error line, no crash, no write to the file."""
import hashlib
import os

import pytest

from imgutil import Qcow2, qemu_io, qi, run, st


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.fixture
def good(tmp_path):
    img = tmp_path / "good.qcow2"
    qi("create", "-f", "qcow2", img, "4M")
    run(qemu_io(), "-c", "write -P 0x33 0 256k", img)
    return img


def assert_refused(path, *cmds):
    """Every command fails with one line on stderr, leaves the file as it was."""
    before = digest(path)
    outs = []
    for cmd in cmds:
        p = st(*cmd, ok=None)
        outs.append(p)
        assert p.returncode > 0, f"{cmd} accepted a hostile image: {p.stdout}"
        assert p.returncode < 128 and "Sanitizer" not in p.stderr and "runtime error" not in p.stderr, p.stderr
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        assert len(lines) == 1 and "error" in lines[0], p.stderr
    assert digest(path) == before
    return outs


def reads(path, fmt=()):
    out = str(path) + ".out"
    return [("info", *fmt, "--backing-chain", str(path)), ("convert", *fmt, "-O", "raw", str(path), out)]


def test_refcount_table_overlapping_header(good):
    q = Qcow2(good)
    q.put64(48, 0)
    q.save()
    assert_refused(good, *reads(good))


def test_l1_beyond_end_of_file(good):
    q = Qcow2(good)
    q.put64(40, 1 << 40)
    q.save()
    assert_refused(good, *reads(good))


def test_l1_unaligned(good):
    q = Qcow2(good)
    q.put64(40, q.l1_offset + 8)
    q.save()
    assert_refused(good, *reads(good))


def test_l2_beyond_end_of_file(good):
    q = Qcow2(good)
    q.put64(q.l1_offset, (1 << 40) | (1 << 63))
    q.save()
    # info does not read L2 tables; reading the data must fail cleanly
    assert_refused(good, ("convert", "-O", "raw", str(good), str(good) + ".out"))


def test_l2_unaligned(good):
    q = Qcow2(good)
    q.put64(q.l1_offset, (q.l2_offset() + 512) | (1 << 63))
    q.save()
    assert_refused(good, ("convert", "-O", "raw", str(good), str(good) + ".out"))


def test_data_cluster_beyond_end_of_file(good):
    q = Qcow2(good)
    q.put64(q.l2_offset(), (1 << 44) | (1 << 63))
    q.save()
    assert_refused(good, ("convert", "-O", "raw", str(good), str(good) + ".out"))


def test_huge_l1_size(good):
    q = Qcow2(good)
    q.put32(36, 0xffffffff)
    q.save()
    assert_refused(good, *reads(good))


def test_huge_nb_snapshots(good):
    q = Qcow2(good)
    q.put32(60, 0x7fffffff)
    q.put64(64, q.cluster_size * 3)
    q.save()
    assert_refused(good, *reads(good))


def test_snapshot_table_beyond_end(good):
    q = Qcow2(good)
    q.put32(60, 4)
    q.put64(64, 1 << 40)
    q.save()
    assert_refused(good, *reads(good))


@pytest.mark.parametrize("bits", [0, 8, 22, 40, 0xffffffff])
def test_absurd_cluster_bits(good, bits):
    q = Qcow2(good)
    q.put32(20, bits)
    q.save()
    assert_refused(good, *reads(good))


def test_unknown_incompatible_feature(good):
    q = Qcow2(good)
    q.put64(72, q.u64(72) | (1 << 40))
    q.save()
    p = assert_refused(good, *reads(good))[0]
    assert "unsupported" in p.stderr


def test_absurd_refcount_order(good):
    q = Qcow2(good)
    q.put32(96, 7)
    q.save()
    assert_refused(good, *reads(good))


@pytest.mark.parametrize("keep", [3, 50, 100, 4096, 65536 + 100])
def test_truncated_metadata(good, keep):
    with open(good, "r+b") as f:
        f.truncate(keep)
    assert_refused(good, *reads(good, ("-f", "qcow2")))


@pytest.mark.parametrize("keep", [196608 + 8, 262144 + 4096, 327680 + 1000])
def test_truncated_tables_or_data(good, keep):
    with open(good, "r+b") as f:
        f.truncate(keep)
    assert_refused(good, ("convert", "-O", "raw", str(good), str(good) + ".out"))


def test_backing_loop(tmp_path):
    a, b = tmp_path / "a.qcow2", tmp_path / "b.qcow2"
    qi("create", "-f", "qcow2", a, "1M")
    qi("create", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", b)
    qi("rebase", "-u", "-b", "b.qcow2", "-F", "qcow2", a)
    p = assert_refused(a, *reads(a))[0]
    assert "loop" in p.stderr


def test_self_backing(tmp_path):
    a = tmp_path / "a.qcow2"
    qi("create", "-f", "qcow2", a, "1M")
    qi("rebase", "-u", "-b", "a.qcow2", "-F", "qcow2", a)
    assert_refused(a, *reads(a))


def test_backing_name_outside_header(good):
    q = Qcow2(good)
    q.put64(8, q.cluster_size - 4)
    q.put32(16, 100)
    q.save()
    assert_refused(good, *reads(good))


def test_compressed_garbage(tmp_path):
    src = tmp_path / "z.raw"
    open(src, "wb").write(b"abc" * 100000)
    img = tmp_path / "c.qcow2"
    qi("convert", "-c", "-O", "qcow2", src, img)
    q = Qcow2(img)
    entry = q.u64(q.l2_offset())
    host = entry & ((1 << (62 - (16 - 8))) - 1)
    q.data[host:host + 64] = os.urandom(64)
    q.save()
    assert_refused(img, ("convert", "-O", "raw", str(img), str(img) + ".out"))
