"""check agrees with qemu-img's verdict (exit codes 0/2/3, counts) on
deliberately damaged images, and its repairs satisfy qemu-img."""
import json

import pytest

from imgutil import Qcow2, qemu_check_clean, qemu_io, qi, run, st


def verdicts(path):
    ours = st("check", "--output=json", path, ok=None)
    theirs = qi("check", "--output=json", path, ok=None)
    return ours, theirs


def counts(p):
    r = json.loads(p.stdout)
    return r.get("corruptions", 0), r.get("leaks", 0)


@pytest.fixture
def img(tmp_path):
    path = tmp_path / "d.qcow2"
    qi("create", "-f", "qcow2", path, "16M")
    run(qemu_io(), "-c", "write -P 1 0 1M", "-c", "write -P 2 4M 64k", path)
    return path


def refcount_entry_offset(q, cluster):
    block = q.u64(q.reftable_offset) & ~0x1ff
    return block + 2 * cluster


def test_clean_image_agrees(img):
    ours, theirs = verdicts(img)
    assert ours.returncode == theirs.returncode == 0


def test_leak_agrees_and_is_repaired(img):
    q = Qcow2(img)
    l2 = q.l2_offset()
    host = q.u64(l2) & 0x00fffffffffffe00
    q.put64(l2, 0)          # the cluster stays counted but nothing points to it
    q.save()
    ours, theirs = verdicts(img)
    assert ours.returncode == theirs.returncode == 3
    assert counts(ours) == counts(theirs) == (0, 1)
    st("check", "-r", "leaks", img, ok=(0,))
    qemu_check_clean(img)
    assert host


def test_corruption_agrees_and_is_repaired(img):
    q = Qcow2(img)
    l2 = q.l2_offset()
    host = q.u64(l2) & 0x00fffffffffffe00
    q.put32(refcount_entry_offset(q, host // q.cluster_size) - 2, 0)  # 2 entries (data cluster and the next) to 0
    q.save()
    ours, theirs = verdicts(img)
    assert ours.returncode == theirs.returncode == 2
    assert counts(ours)[0] > 0 and counts(theirs)[0] > 0
    st("check", "-r", "all", img, ok=(0,))
    qemu_check_clean(img)


def test_refcount_too_high_is_a_leak(img):
    q = Qcow2(img)
    host = q.u64(q.l2_offset()) & 0x00fffffffffffe00
    off = refcount_entry_offset(q, host // q.cluster_size)
    q.data[off:off + 2] = (2).to_bytes(2, "big")
    q.save()
    ours, theirs = verdicts(img)
    assert ours.returncode == theirs.returncode
    assert counts(ours) == counts(theirs)
    st("check", "-r", "all", img, ok=(0,))
    qemu_check_clean(img)


def test_corrupt_bit_blocks_writes_until_repaired(img, tmp_path):
    q = Qcow2(img)
    q.put64(72, q.u64(72) | 2)
    q.save()
    src = tmp_path / "s.raw"
    open(src, "wb").write(b"x" * 65536)
    p = st("convert", "-n", "-O", "qcow2", src, img, ok=None)
    assert p.returncode == 1 and "corrupt" in p.stderr
    assert json.loads(st("info", "--output=json", img).stdout)["format-specific"]["data"]["corrupt"]
    st("check", "-r", "all", img)


def test_raw_has_no_checks(tmp_path):
    raw = tmp_path / "r.raw"
    open(raw, "wb").write(bytes(4096))
    assert st("check", "-f", "raw", raw, ok=None).returncode == 63


def _snapshotted(tmp_path):
    """Data, a compressed cluster and a QEMU snapshot (whose table ends the
    file without its last padding bytes), then more writes."""
    path = tmp_path / "r.qcow2"
    qi("create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", path, "64M")
    run(qemu_io(), "-c", "write -P 1 0 3M", "-c", "write -c -P 2 40M 64k", path)
    qi("snapshot", "-c", "s1", path)
    run(qemu_io(), "-c", "write -P 3 1M 1M", path)
    want = tmp_path / "want.raw"
    qi("convert", "-O", "raw", path, want)
    return path, want


@pytest.mark.parametrize("damage", ["zeroed-table", "block-beyond-eof"])
def test_destroyed_refcount_table_is_rebuilt(tmp_path, damage):
    path, want = _snapshotted(tmp_path)
    q = Qcow2(path)
    if damage == "zeroed-table":
        q.data[q.reftable_offset:q.reftable_offset + q.cluster_size] = bytes(q.cluster_size)
    else:
        q.put64(q.reftable_offset, 1 << 40)
    q.save()
    ours, theirs = verdicts(path)
    assert ours.returncode == theirs.returncode == 2
    st("check", "-r", "all", path)
    qemu_check_clean(path)
    qi("compare", "-f", "raw", "-F", "qcow2", want, path)
    assert "s1" in st("snapshot", "-l", path).stdout
    # the rebuilt structures reuse free clusters: the file ends where the image does
    assert path.stat().st_size == qemu_check_clean(path)["image-end-offset"]
