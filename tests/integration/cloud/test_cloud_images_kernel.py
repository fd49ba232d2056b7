"""Direct kernel boot images (issue 16): an image carries kernel_id and
ramdisk_id (UUIDs of aki/ari images, Glance's schema pattern) and
os_command_line, set and shown through the real `openstack image` CLI; a
kernel_id that is not a UUID is refused with Glance's 400."""
import subprocess

import pytest

from cloudlib import started
from imagelib import api, create, token


@pytest.fixture(params=["sqlite"])
def cloud(request):
    """Field rules do not depend on the database: SQLite only."""
    c = started(request)
    try:
        yield c
    finally:
        assert c.stop() == 0, f"serve did not stop cleanly on SIGTERM:\n{c.log.read_text()}"


def test_kernel_and_ramdisk_ids(cloud, tmp_path):
    kernel, initrd, disk = tmp_path / "vmlinuz", tmp_path / "initrd", tmp_path / "root.qcow2"
    kernel.write_bytes(b"\x00" * 4096)
    initrd.write_bytes(b"\x1f\x8b" + b"\x00" * 1022)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "1M"], check=True)
    k = cloud.openstack("image", "create", "--disk-format", "aki", "--container-format", "aki",
                        "--file", str(kernel), "kernel")
    r = cloud.openstack("image", "create", "--disk-format", "ari", "--container-format", "ari",
                        "--file", str(initrd), "initrd")
    root = cloud.openstack("image", "create", "--disk-format", "qcow2", "--file", str(disk),
                           "--property", f"kernel_id={k['id']}", "--property",
                           f"ramdisk_id={r['id']}", "--property",
                           "os_command_line=console=ttyS0 root=/dev/vda", "root")
    shown = cloud.openstack("image", "show", root["id"])
    props = shown["properties"]
    assert props["kernel_id"] == k["id"] and props["ramdisk_id"] == r["id"], shown
    assert props["os_command_line"] == "console=ttyS0 root=/dev/vda"
    # the CLI prints the POST's answer (queued): the uploads' results are shown
    for image in (k, r):
        assert cloud.openstack("image", "show", image["id"])["status"] == "active"
    assert shown["status"] == "active"
    tok = token(cloud)
    status, _, body = api(cloud, tok, "POST", "/images", {"name": "bad", "kernel_id": "/etc/shadow"})
    assert status == 400 and "kernel_id" in body["message"], body
    img = create(cloud, tok, name="later", kernel_id=None)
    assert "kernel_id" not in img
    status, _, body = api(cloud, tok, "PATCH", f"/images/{img['id']}",
                          [{"op": "add", "path": "/ramdisk_id", "value": "x"}],
                          headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
    assert status == 400, body
    _, _, schema = api(cloud, tok, "GET", "/schemas/image")
    assert schema["properties"]["kernel_id"]["pattern"].startswith("^")
