"""Dir storage pools: volumes raw and qcow2 created, cloned (copy and
overlay), resized, uploaded, downloaded, deleted; every qcow2 volume passes
`qemu-img check`; capacity accounting."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import program
from hostlib import guest, stratad  # noqa: F401  (fixture)


def qemu_img_check(path):
    r = subprocess.run(["qemu-img", "check", "-f", "qcow2", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def qemu_img_info(path):
    r = subprocess.run(["qemu-img", "info", "-U", "--output=json", str(path)], capture_output=True, text=True,
                       check=True)
    return json.loads(r.stdout)


@pytest.fixture
def pool(stratad, tmp_path):
    if not shutil.which("qemu-img"):
        from conftest import skip_loudly
        skip_loudly("qemu-img (qemu-utils) is not installed: the qcow2 volumes cannot be checked")
    path = tmp_path / "images"
    stratad.ok("POST", "/v1/pools", {"name": "images", "type": "dir", "path": str(path)})
    return stratad, path


def test_volumes_api(pool):
    d, path = pool
    raw = d.ok("POST", "/v1/pools/images/volumes", {"name": "disk.raw", "capacity": "64M"})
    assert raw["format"] == "raw" and raw["capacity"] == 64 << 20 and raw["allocation"] == 0  # sparse
    q = d.ok("POST", "/v1/pools/images/volumes", {"name": "disk.qcow2", "capacity": 1 << 30, "format": "qcow2"})
    assert q["format"] == "qcow2" and q["capacity"] == 1 << 30
    qemu_img_check(path / "disk.qcow2")
    assert d.call("POST", "/v1/pools/images/volumes", body={"name": "disk.raw", "capacity": 1})[0] == 409

    # write a pattern into the raw volume, clone it both ways
    with open(path / "disk.raw", "r+b") as f:
        f.seek(1 << 20)
        f.write(b"strata" * 1000)
    copy = d.ok("POST", "/v1/pools/images/volumes/disk.raw/clone", {"name": "copy.raw"})
    assert copy["format"] == "raw" and (path / "copy.raw").read_bytes() == (path / "disk.raw").read_bytes()
    ov = d.ok("POST", "/v1/pools/images/volumes/disk.raw/clone", {"name": "overlay.qcow2", "mode": "overlay"})
    assert ov["format"] == "qcow2" and ov["backing"] == str(path / "disk.raw") and ov["capacity"] == 64 << 20
    qemu_img_check(path / "overlay.qcow2")
    qcopy = d.ok("POST", "/v1/pools/images/volumes/disk.qcow2/clone", {"name": "copy.qcow2"})
    assert qcopy["format"] == "qcow2" and qcopy["capacity"] == 1 << 30
    qemu_img_check(path / "copy.qcow2")
    # a full copy of an overlay flattens its chain: the backing's bytes, no backing
    flat = d.ok("POST", "/v1/pools/images/volumes/overlay.qcow2/clone", {"name": "flat.qcow2"})
    assert flat["format"] == "qcow2" and "backing" not in flat and flat["capacity"] == 64 << 20
    qemu_img_check(path / "flat.qcow2")
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(path / "flat.qcow2"), str(path.parent / "flat.out")],
                   check=True)
    assert (path.parent / "flat.out").read_bytes() == (path / "disk.raw").read_bytes()
    d.ok("DELETE", "/v1/pools/images/volumes/flat.qcow2")

    # resize: grow both kinds; shrinking needs an explicit request and is raw only
    assert d.ok("POST", "/v1/pools/images/volumes/disk.raw/resize", {"capacity": "128M"})["capacity"] == 128 << 20
    assert d.ok("POST", "/v1/pools/images/volumes/disk.qcow2/resize", {"capacity": "2G"})["capacity"] == 2 << 30
    assert qemu_img_info(path / "disk.qcow2")["virtual-size"] == 2 << 30
    qemu_img_check(path / "disk.qcow2")
    assert d.call("POST", "/v1/pools/images/volumes/disk.raw/resize", body={"capacity": "1M"})[0] == 400
    assert d.ok("POST", "/v1/pools/images/volumes/disk.raw/resize",
                {"capacity": "2M", "shrink": True})["capacity"] == 2 << 20
    assert d.call("POST", "/v1/pools/images/volumes/disk.qcow2/resize",
                  body={"capacity": "1G", "shrink": True})[0] == 400

    vols = {v["name"]: v for v in d.ok("GET", "/v1/pools/images/volumes")}
    assert sorted(vols) == ["copy.qcow2", "copy.raw", "disk.qcow2", "disk.raw", "overlay.qcow2"]
    info = d.ok("GET", "/v1/pools/images")
    assert info["volumes"] == 5 and info["capacity"] >= info["available"] > 0
    assert info["volumes_allocation"] == sum(v["allocation"] for v in vols.values())

    for name in vols:
        d.ok("DELETE", f"/v1/pools/images/volumes/{name}")
    assert d.ok("GET", "/v1/pools/images/volumes") == [] and os.listdir(path) == []
    assert d.call("DELETE", "/v1/pools/images/volumes/disk.raw")[0] == 404


def test_volumes_cli_upload_download(pool, tmp_path):
    d, path = pool
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(3 << 20) + b"\0" * (1 << 20))
    d.cli("vol-create-as", "images", "up.raw", "1M")
    r = d.cli("vol-upload", "up.raw", src, "--pool", "images")
    assert (path / "up.raw").read_bytes() == src.read_bytes()
    out = tmp_path / "down.bin"
    env_progress = dict(os.environ, STRATA_PROGRESS="1")
    r = subprocess.run([str(program("src", "cli", "strata")), "--socket", d.sock,
                        "vol-download", "up.raw", str(out), "--pool", "images"], capture_output=True, text=True,
                       env=env_progress)
    assert r.returncode == 0 and "downloaded 4/4 MiB (100%)" in r.stderr
    assert out.read_bytes() == src.read_bytes()
    d.cli("vol-create-as", "images", "base.qcow2", "100M", "--format", "qcow2")
    d.cli("vol-clone", "base.qcow2", "child.qcow2", "--pool", "images", "--overlay")
    d.cli("vol-resize", "child.qcow2", "200M", "--pool", "images")
    for name in ("base.qcow2", "child.qcow2"):
        qemu_img_check(path / name)
    vols = json.loads(d.cli("--json", "vol-list", "images").stdout)
    assert {v["name"]: v["capacity"] for v in vols} == {"up.raw": 4 << 20, "base.qcow2": 100 << 20,
                                                      "child.qcow2": 200 << 20}
    info = d.cli("pool-info", "images").stdout.splitlines()
    assert info[0] == "Name:          images" and "Volumes:       3" in info and info[2] == "Autostart:     yes"
    assert info[4].startswith("Capacity:      ") and info[4].endswith("iB")
    vol = d.cli("vol-info", "child.qcow2", "--pool", "images").stdout.splitlines()
    assert vol[0] == "Name:        child.qcow2" and "Format:      qcow2" in vol
    assert "Capacity:    200.00 MiB" in vol and "Backing:     " + str(path / "base.qcow2") in vol
    assert not any(line.startswith("Backing:") for line in d.cli("vol-info", "up.raw", "--pool",
                                                                 "images").stdout.splitlines())
    assert "images" in d.cli("pool-list").stdout
    assert d.cli("vol-path", "child.qcow2", "--pool", "images").stdout.strip() == str(path / "child.qcow2")
    r = d.cli("vol-delete", "nope", "--pool", "images", check=False)
    assert r.returncode == 1 and "no volume 'nope'" in r.stderr


def test_domain_disks_from_pools(pool):
    d, path = pool
    d.ok("POST", "/v1/pools/images/volumes", {"name": "root.qcow2", "capacity": "16M", "format": "qcow2"})
    body = {"name": "withdisk", "memory_mib": 16, "os": {"kernel": guest("pwrbtn")},
            "disks": [{"pool": "images", "volume": "root.qcow2", "format": "qcow2"}]}
    dom = d.ok("POST", "/v1/domains", body)
    assert dom["definition"]["disks"][0]["path"] == str(path / "root.qcow2")
    xml = d.call("GET", "/v1/domains/withdisk/xml")[1].decode()
    assert "<source pool=\"images\" volume=\"root.qcow2\"/>" in xml
    # in use: the pool cannot go, the volume cannot go while the domain runs
    assert d.call("DELETE", "/v1/pools/images")[0] == 409
    d.ok("POST", "/v1/domains/withdisk/start")
    assert d.call("DELETE", "/v1/pools/images/volumes/root.qcow2")[0] == 409
    before = (path / "root.qcow2").read_bytes()
    assert d.call("POST", "/v1/pools/images/volumes/root.qcow2/resize", {"capacity": "32M"})[0] == 409
    assert d.call("PUT", "/v1/pools/images/volumes/root.qcow2/data", raw=b"x" * 512)[0] == 409
    assert (path / "root.qcow2").read_bytes() == before
    d.ok("POST", "/v1/domains/withdisk/destroy")
    d.ok("DELETE", "/v1/domains/withdisk?volumes=1")
    assert not (path / "root.qcow2").exists()
    d.ok("DELETE", "/v1/pools/images")
    assert d.ok("GET", "/v1/pools") == []
