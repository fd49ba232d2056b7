"""Issue 13, item 2: a volume's format is what stratad recorded when it was
created, cloned or uploaded, never what its content looks like. A guest
writes what it likes into a raw disk, a qcow2 header whose backing file names
a host file included: stratad must not read that host file through it."""
import json
import sqlite3
import subprocess

from hostlib import guest, stratad  # noqa: F401  (fixture)
from test_host_storage import pool  # noqa: F401  (fixture: the dir pool "images", qemu-img present)

SECRET = b"host secret: root:$6$not-for-guests\n" * 100


def qcow2_header(tmp_path, backing, name="hdr.qcow2"):
    """The bytes of a qcow2 image whose backing file is `backing` (raw)."""
    out = tmp_path / name
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", str(backing), "-F", "raw", str(out),
                    "1M"], check=True)
    return out.read_bytes()


def plant(path, header):
    """What a guest does to its raw disk: writes the header at offset 0."""
    with open(path, "r+b") as f:
        f.write(header)


def test_guest_written_qcow2_header_stays_raw(pool, tmp_path):
    d, path = pool
    secret = tmp_path / "shadow"
    secret.write_bytes(SECRET)
    d.ok("POST", "/v1/pools/images/volumes", {"name": "disk", "capacity": "1M"})
    plant(path / "disk", qcow2_header(tmp_path, secret))
    planted = (path / "disk").read_bytes()

    info = d.ok("GET", "/v1/pools/images/volumes/disk")
    assert info["format"] == "raw" and "backing" not in info and info["capacity"] == 1 << 20, info
    listed = {v["name"]: v for v in d.ok("GET", "/v1/pools/images/volumes")}
    assert listed["disk"]["format"] == "raw" and "backing" not in listed["disk"]

    # a copy is the volume's own bytes, not the host file's
    copy = d.ok("POST", "/v1/pools/images/volumes/disk/clone", {"name": "copy"})
    assert copy["format"] == "raw" and "backing" not in copy
    assert (path / "copy").read_bytes() == planted
    assert SECRET[:64] not in (path / "copy").read_bytes()

    # an overlay chains to the raw volume, declared raw
    ov = d.ok("POST", "/v1/pools/images/volumes/disk/clone", {"name": "ov.qcow2", "mode": "overlay"})
    assert ov["format"] == "qcow2" and ov["backing"] == str(path / "disk") and ov["capacity"] == 1 << 20
    q = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json", str(path / "ov.qcow2")],
                                  capture_output=True, text=True, check=True).stdout)
    assert q["backing-filename"] == str(path / "disk") and q.get("backing-filename-format") == "raw", q

    # a resize is a raw one: the file grows, the planted header is untouched
    r = d.ok("POST", "/v1/pools/images/volumes/disk/resize", {"capacity": "2M"})
    assert r["format"] == "raw" and r["capacity"] == 2 << 20
    assert (path / "disk").stat().st_size == 2 << 20
    assert (path / "disk").read_bytes()[:len(planted)] == planted

    # a domain's disk on it is raw; declaring it qcow2 is refused
    body = {"name": "g", "memory_mib": 16, "os": {"kernel": guest("pwrbtn")},
            "disks": [{"pool": "images", "volume": "disk"}]}
    assert d.ok("POST", "/v1/domains", body)["definition"]["disks"][0]["format"] == "raw"
    st, reply = d.call("POST", "/v1/domains/g/disks", {"pool": "images", "volume": "copy", "format": "qcow2"})
    assert st == 400 and "is raw, not qcow2" in reply["error"]["message"], reply


def test_upload_declares_the_format(pool, tmp_path):
    d, path = pool
    secret = tmp_path / "shadow"
    secret.write_bytes(SECRET)
    hostile = qcow2_header(tmp_path, secret)
    # undeclared: raw, whatever the bytes say
    st, info = d.call("PUT", "/v1/pools/images/volumes/up/data", raw=hostile)
    assert st == 200 and info["format"] == "raw" and "backing" not in info, info
    # declared qcow2: it must be one, and one without a backing file
    st, reply = d.call("PUT", "/v1/pools/images/volumes/up2/data?format=qcow2", raw=hostile)
    assert st == 400 and "backing file" in reply["error"]["message"], reply
    st, reply = d.call("PUT", "/v1/pools/images/volumes/up2/data?format=qcow2", raw=b"\0" * 4096)
    assert st == 400 and "the data is raw data, not qcow2 as declared" in reply["error"]["message"], reply
    assert not (path / "up2").exists()
    st, reply = d.call("PUT", "/v1/pools/images/volumes/up2/data?format=vmdk", raw=b"\0" * 4096)
    assert st == 400 and "not raw or qcow2" in reply["error"]["message"], reply
    good = tmp_path / "good.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(good), "3M"], check=True)
    st, info = d.call("PUT", "/v1/pools/images/volumes/up2/data?format=qcow2", raw=good.read_bytes())
    assert st == 200 and info["format"] == "qcow2" and info["capacity"] == 3 << 20, info
    d.cli("vol-upload", "up3", good, "--pool", "images", "--format", "qcow2")
    assert d.ok("GET", "/v1/pools/images/volumes/up3")["format"] == "qcow2"
    r = d.cli("vol-upload", "up4", good, "--pool", "images", "--format", "vhd", check=False)
    assert r.returncode == 1 and "not raw or qcow2" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert sorted(p.name for p in path.iterdir()) == ["up", "up2", "up3"]


def test_volumes_from_before_formats_were_recorded(pool, tmp_path):
    """The migration rule (docs/host.md, "Volume formats"): a volume stratad
    finds without a record is qcow2 only when its name ends in .qcow2, it is
    a qcow2 image and its backing file, if any, is a volume of the same
    pool; otherwise raw."""
    d, path = pool
    secret = tmp_path / "shadow"
    secret.write_bytes(SECRET)
    d.ok("POST", "/v1/pools/images/volumes", {"name": "base.qcow2", "capacity": "4M", "format": "qcow2"})
    d.ok("POST", "/v1/pools/images/volumes/base.qcow2/clone", {"name": "child.qcow2", "mode": "overlay"})
    for name in ("planted.raw", "planted.qcow2"):
        d.ok("POST", "/v1/pools/images/volumes", {"name": name, "capacity": "1M"})
        plant(path / name, qcow2_header(tmp_path, secret))
    d.stop()
    # the database of a stratad before schema 3: no volumes table (nor what later migrations added)
    db = sqlite3.connect(d.state_dir / "stratad.db")
    for undo in ("DROP TABLE volumes", "DROP TABLE images", "DROP TABLE web_sessions",
                 "ALTER TABLE runtime DROP COLUMN transient", "ALTER TABLE pools DROP COLUMN active",
                 "ALTER TABLE pools DROP COLUMN autostart", "DROP TABLE templates"):
        db.execute(undo)
    db.execute("PRAGMA user_version=2")
    db.commit()
    db.close()
    d.start()
    vols = {v["name"]: v for v in d.ok("GET", "/v1/pools/images/volumes")}
    assert vols["base.qcow2"]["format"] == "qcow2" and vols["base.qcow2"]["capacity"] == 4 << 20
    assert vols["child.qcow2"]["format"] == "qcow2" and vols["child.qcow2"]["backing"] == str(path / "base.qcow2")
    for name in ("planted.raw", "planted.qcow2"):
        assert vols[name]["format"] == "raw" and "backing" not in vols[name], vols[name]
    # recorded at first sight: a header written afterwards changes nothing
    plant(path / "base.qcow2", b"\0" * 512)
    d.stop()
    d.start()
    assert d.ok("GET", "/v1/pools/images/volumes/base.qcow2")["format"] == "qcow2"
