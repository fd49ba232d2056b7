"""Uploads that declare a format (?format=raw|qcow2, `vol-upload --format`)
are inspected before anything opens them (block/image_inspect.h, as Glance
does): hostile images are refused with a 400 and one line, and nothing is
left: no volume where there was none, the old content where there was one,
no hidden file in the pool."""
import os
import subprocess

import pytest

from hostlib import stratad  # noqa: F401  (fixture)
from test_host_storage import pool  # noqa: F401  (fixture: the dir pool "images", qemu-img present)


def qemu_img(*args):
    subprocess.run(["qemu-img", "create", "-q", *args], check=True)


def hostile_images(tmp):
    """name -> (declared format, bytes, what the refusal says)."""
    out = {}
    qemu_img("-f", "qcow2", "-u", "-b", "/etc/shadow", "-F", "raw", str(tmp / "backing.qcow2"), "1M")
    out["backing"] = ("qcow2", (tmp / "backing.qcow2").read_bytes(), "names a backing file ('/etc/shadow')")
    qemu_img("-f", "qcow2", "-o", f"data_file={tmp / 'ext.data'}", str(tmp / "datafile.qcow2"), "1M")
    out["data-file"] = ("qcow2", (tmp / "datafile.qcow2").read_bytes(), "names an external data file")
    qemu_img("-f", "qcow2", str(tmp / "plain.qcow2"), "1M")
    plain = (tmp / "plain.qcow2").read_bytes()
    out["qcow2-declared-raw"] = ("raw", plain, "the data is a qcow2 image, not raw as declared")
    out["raw-declared-qcow2"] = ("qcow2", os.urandom(65536), "the data is raw data, not qcow2 as declared")
    out["truncated"] = ("qcow2", plain[:90], "qcow2 header: truncated (90 bytes, 104 needed)")
    qemu_img("-f", "qcow2", "-o", "cluster_size=2M", str(tmp / "huge.qcow2"), "1E")
    out["1EiB"] = ("qcow2", (tmp / "huge.qcow2").read_bytes(),
                   "virtual size 1152921504606846976 bytes is above the maximum")
    return out


def pool_files(path):
    return sorted(os.listdir(path))


def test_hostile_uploads_refused(pool, tmp_path):
    d, path = pool
    d.ok("POST", "/v1/pools/images/volumes", {"name": "old", "capacity": "1M"})
    with open(path / "old", "r+b") as f:
        f.write(b"old content" * 100)
    old = (path / "old").read_bytes()
    for name, (fmt, data, says) in hostile_images(tmp_path).items():
        for vol in ("new", "old"):
            st, reply = d.call("PUT", f"/v1/pools/images/volumes/{vol}/data?format={fmt}", raw=data)
            msg = reply["error"]["message"] if reply else ""
            assert st == 400 and says in msg and "\n" not in msg, (name, vol, st, reply)
            assert pool_files(path) == ["old"], (name, pool_files(path))
            assert (path / "old").read_bytes() == old, name
    info = d.ok("GET", "/v1/pools/images/volumes/old")
    assert info["format"] == "raw" and info["capacity"] == 1 << 20


def test_hostile_upload_refused_through_the_cli(pool, tmp_path):
    d, path = pool
    qemu_img("-f", "qcow2", "-u", "-b", "/etc/shadow", "-F", "raw", str(tmp_path / "b.qcow2"), "1M")
    r = d.cli("vol-upload", "v", tmp_path / "b.qcow2", "--pool", "images", "--format", "qcow2", check=False)
    assert r.returncode == 1 and "/etc/shadow" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    r = d.cli("vol-upload", "v", tmp_path / "b.qcow2", "--pool", "images", "--format", "raw", check=False)
    assert r.returncode == 1 and "not raw as declared" in r.stderr, r.stderr
    assert pool_files(path) == []


@pytest.mark.parametrize("fmt,args,size", [("qcow2", [], "3M"), ("qcow2", ["-o", "compat=0.10"], "5M"),
                                           ("raw", [], "2M")])
def test_clean_declared_uploads_accepted(pool, tmp_path, fmt, args, size):
    d, path = pool
    qemu_img("-f", fmt, *args, str(tmp_path / "img"), size)
    st, info = d.call("PUT", f"/v1/pools/images/volumes/v/data?format={fmt}", raw=(tmp_path / "img").read_bytes())
    assert st == 200 and info["format"] == fmt and info["capacity"] == int(size[:-1]) << 20, info
    assert pool_files(path) == ["v"]
