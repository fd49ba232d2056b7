"""Format inspection on Glance uploads (issue 16, "Hostile images"): the
data of `PUT /v2/images/ID/file` is inspected (block/image_inspect.h) before
it becomes the image's. A qcow2 with a backing file (/etc/shadow) or an
external data file, a qcow2 declared raw and raw data declared qcow2,
truncated headers, a 1 EiB qcow2 and a VMDK whose extent is a host file are
refused with a 400 and Glance's error body, over raw HTTP (the image stays
`queued`, nothing is stored) and through the real `openstack image create
--file` (the client then deletes the image; nothing is stored). Clean images become active with qemu-img's virtual size."""
import json
import os
import subprocess

import pytest

from cloudlib import serving
from imagelib import api, create, store_files, token, upload


@pytest.fixture(params=["sqlite"], scope="module")
def cloud(request):
    """The inspection does not depend on the database: SQLite only. One
    cloud for the module: each test compares the store and the image list
    with what they held when it began."""
    yield from serving(request)


def qemu_img(*args):
    subprocess.run(["qemu-img", "create", "-q", *args], check=True)


def hostile_images(tmp):
    """[(name, declared disk_format, file, what the refusal says)]."""
    qemu_img("-f", "qcow2", "-u", "-b", "/etc/shadow", "-F", "raw", str(tmp / "backing.qcow2"), "1M")
    qemu_img("-f", "qcow2", "-o", f"data_file={tmp / 'ext.data'}", str(tmp / "datafile.qcow2"), "1M")
    qemu_img("-f", "qcow2", str(tmp / "plain.qcow2"), "1M")
    (tmp / "random.raw").write_bytes(os.urandom(1 << 20))
    (tmp / "truncated.qcow2").write_bytes((tmp / "plain.qcow2").read_bytes()[:90])
    qemu_img("-f", "qcow2", "-o", "cluster_size=2M", str(tmp / "huge.qcow2"), "1E")
    (tmp / "flat.vmdk").write_text('# Disk DescriptorFile\nversion=1\ncreateType="monolithicFlat"\n'
                                   'RW 2048 FLAT "/etc/shadow" 0\n')
    return [
        ("backing", "qcow2", tmp / "backing.qcow2", "names a backing file ('/etc/shadow')"),
        ("data-file", "qcow2", tmp / "datafile.qcow2", "names an external data file"),
        ("qcow2-as-raw", "raw", tmp / "plain.qcow2", "the data is a qcow2 image, not raw as declared"),
        ("raw-as-qcow2", "qcow2", tmp / "random.raw", "the data is raw data, not qcow2 as declared"),
        ("truncated", "qcow2", tmp / "truncated.qcow2", "qcow2 header: truncated (90 bytes, 104 needed)"),
        ("1EiB", "qcow2", tmp / "huge.qcow2", "virtual size 1152921504606846976 bytes is above the maximum"),
        ("flat-vmdk", "vmdk", tmp / "flat.vmdk", "extents are other files ('/etc/shadow')"),
        ("kernel-is-qcow2", "aki", tmp / "plain.qcow2", "the data is a qcow2 image, not aki as declared"),
    ]


def queued_and_nothing_stored(cloud, tok, image_id, before):
    """before: the store's files when the test began."""
    status, _, img = api(cloud, tok, "GET", f"/images/{image_id}")
    assert status == 200 and img["status"] == "queued", img
    assert img["size"] is None and img["virtual_size"] is None and img["checksum"] is None, img
    assert store_files(cloud) == before, store_files(cloud)


def test_hostile_uploads_refused_over_http(cloud, tmp_path):
    tok = token(cloud)
    before = store_files(cloud)
    for name, fmt, path, says in hostile_images(tmp_path):
        img = create(cloud, tok, name=name, disk_format=fmt,
                     container_format="aki" if fmt == "aki" else "bare")
        status, body = upload(cloud, tok, img["id"], path.read_bytes())
        assert status == 400, (name, status, body)
        assert set(body) == {"message", "code", "title"} and body["code"].startswith("400 "), body
        assert says in body["message"] and "\n" not in body["message"], (name, body)
        queued_and_nothing_stored(cloud, tok, img["id"], before)
    clean = tmp_path / "clean.qcow2"
    qemu_img("-f", "qcow2", str(clean), "7M")
    img = create(cloud, tok, name="clean", disk_format="qcow2")
    assert upload(cloud, tok, img["id"], clean.read_bytes())[0] == 204
    status, _, shown = api(cloud, tok, "GET", f"/images/{img['id']}")
    assert shown["status"] == "active" and shown["virtual_size"] == 7 << 20, shown


def test_hostile_uploads_refused_through_the_cli(cloud, tmp_path):
    """openstacksdk deletes the image it created when the upload fails (as
    with Glance): the refusal reaches the user and nothing is left."""
    images, files = cloud.openstack("image", "list"), store_files(cloud)
    for name, fmt, path, says in hostile_images(tmp_path):
        r = cloud.openstack("image", "create", "--file", str(path), "--disk-format", fmt,
                            "--container-format", "bare", name, check=False)
        assert r.returncode != 0 and "400" in r.stderr and says in r.stderr, (name, r.returncode, r.stderr)
        assert cloud.openstack("image", "list") == images
        assert store_files(cloud) == files, store_files(cloud)


@pytest.mark.parametrize("fmt,disk_format,opts", [
    ("qcow2", "qcow2", []), ("qcow2", "qcow2", ["-o", "compat=0.10"]), ("vmdk", "vmdk", []),
    ("vmdk", "vmdk", ["-o", "subformat=streamOptimized"]), ("vpc", "vhd", []), ("vhdx", "vhdx", []),
    ("vdi", "vdi", []), ("raw", "raw", [])])
def test_clean_images_get_qemu_img_virtual_size(cloud, tmp_path, fmt, disk_format, opts):
    path = tmp_path / f"disk.{fmt}"
    qemu_img("-f", fmt, *opts, str(path), "10M")
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", "-f", fmt, str(path)],
                                     capture_output=True, text=True, check=True).stdout)
    before = store_files(cloud)
    img = cloud.openstack("image", "create", "--file", str(path), "--disk-format", disk_format,
                          "--container-format", "bare", "clean-" + fmt)
    shown = cloud.openstack("image", "show", img["id"])
    assert shown["status"] == "active" and shown["virtual_size"] == info["virtual-size"], shown
    assert store_files(cloud) == sorted(before + [img["id"]])
