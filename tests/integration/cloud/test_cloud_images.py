"""The Image service (Glance v2 at /image) driven by the real `openstack`
CLI and over raw HTTP, on SQLite and on a throwaway PostgreSQL: create with
--file, show, save, delete; the fields Glance returns; bad input refused with
Glance's error body and nothing stored; ranges; interrupted uploads (client
gone, daemon killed) leaving the image queued and no stray file; quotas."""
import hashlib
import os
import signal

import pytest

from cloudlib import cloud, started  # noqa: F401  (fixture)
from conftest import wait_for
from imagelib import add_user, api, create, start_upload, store_files, token, upload

FIELDS = {"id", "name", "status", "disk_format", "container_format", "visibility", "size",
          "virtual_size", "checksum", "os_hash_algo", "os_hash_value", "min_disk", "min_ram",
          "protected", "tags", "owner", "created_at", "updated_at", "self", "file", "schema"}


def test_cli_create_show_save_delete(cloud, tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 17)
    src = tmp_path / "disk.raw"
    src.write_bytes(data)
    img = cloud.openstack("image", "create", "--file", str(src), "--disk-format", "raw",
                          "--property", "distro=strata", "--tag", "tiny", "cli-image")
    assert img["name"] == "cli-image" and img["disk_format"] == "raw"
    assert img["container_format"] == "bare"
    shown = cloud.openstack("image", "show", img["id"])
    assert shown["status"] == "active"
    assert shown["size"] == len(data)
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["properties"]["distro"] == "strata"
    assert shown["tags"] == ["tiny"]
    # the fields of Glance's view, over the API
    tok = token(cloud)
    status, _, raw = api(cloud, tok, "GET", f"/images/{img['id']}")
    assert status == 200 and FIELDS <= set(raw)
    assert raw["os_hash_algo"] == "sha512"
    assert raw["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert raw["distro"] == "strata" and raw["owner_specified.openstack.object"] == "images/cli-image"
    assert raw["self"] == f"/v2/images/{img['id']}" and raw["schema"] == "/v2/schemas/image"
    assert raw["visibility"] == "shared" and raw["protected"] is False
    out = tmp_path / "saved.raw"
    cloud.openstack("image", "save", "--file", str(out), img["id"], fmt_json=False)
    assert out.read_bytes() == data
    assert store_files(cloud) == [img["id"]]
    cloud.openstack("image", "delete", img["id"], fmt_json=False)
    gone = cloud.openstack("image", "show", img["id"], check=False)
    assert gone.returncode != 0
    assert store_files(cloud) == []


def test_versions_and_catalog(cloud):
    status, _, doc = cloud.request("GET", "/image")
    assert status == 300
    current = [v for v in doc["versions"] if v["status"] == "CURRENT"]
    assert [v["id"] for v in current] == ["v2.16"]
    assert current[0]["links"][0]["href"].endswith("/image/v2/")
    status, _, doc2 = cloud.request("GET", "/image/versions")
    assert status == 200 and doc2 == doc
    catalog = cloud.openstack("catalog", "list")
    image = next(e for e in catalog if e["Type"] == "image")
    assert image["Name"] == "glance"
    assert {e["url"] for e in image["Endpoints"]} == {f"{cloud.url}/image"}


def glance_error(body, code):
    """Glance's (webob's) error body."""
    assert set(body) == {"message", "code", "title"}, body
    assert body["code"].startswith(str(code) + " ")
    return body["message"]


def test_bad_input_refused_and_nothing_stored(cloud):
    tok = token(cloud)
    iid = "0b9c2a52-5d1e-4c5e-9a43-3a3c2d0f8a11"
    status, _, body = api(cloud, tok, "POST", "/images", raw=b'{"name": "x",')
    assert status == 400 and glance_error(body, 400)
    for bad, code in [({"id": iid, "disk_format": "floppy"}, 400),
                      ({"id": iid, "container_format": "tarball"}, 400),
                      ({"id": iid, "min_ram": -1}, 400),
                      ({"id": iid, "distro": 7}, 400),
                      ({"id": iid, "status": "active"}, 403),
                      ({"id": iid, "os_glance_import_task": "x"}, 403),
                      ({"id": iid, "visibility": "everyone"}, 400)]:
        status, _, body = api(cloud, tok, "POST", "/images", bad)
        assert status == code, (bad, status, body)
        glance_error(body, code)
    status, _, body = api(cloud, tok, "GET", f"/images/{iid}")
    assert status == 404 and "No image found" in glance_error(body, 404)
    # no token: 401; a bad token: 401
    status, _, body = cloud.request("GET", f"/image/v2/images/{iid}")
    assert status == 401 and glance_error(body, 401)
    status, _, body = api(cloud, "gAAAAAnonsense", "GET", f"/images/{iid}")
    assert status == 401

    img = create(cloud, tok, name="target")
    # a wrong content type for the data, a client md5 that does not match
    status, body = upload(cloud, tok, img["id"], b"abc", {"Content-Type": "text/plain"})
    assert status == 415 and glance_error(body, 415)
    status, body = upload(cloud, tok, img["id"], b"hello", {"Content-MD5": "0" * 32})
    assert status == 400 and "Checksum" in glance_error(body, 400)
    status, _, shown = api(cloud, tok, "GET", f"/images/{img['id']}")
    assert shown["status"] == "queued" and shown["size"] is None
    assert store_files(cloud) == []
    # the right md5 (base64, as RFC 1864 has it) is accepted
    import base64
    md5 = base64.b64encode(hashlib.md5(b"hello").digest()).decode()
    assert upload(cloud, tok, img["id"], b"hello", {"Content-MD5": md5})[0] == 204
    # an active image takes no second upload; its data stays
    status, body = upload(cloud, tok, img["id"], b"other data")
    assert status == 409 and glance_error(body, 409)
    status, headers, _ = cloud.request("GET", f"/image/v2/images/{img['id']}")
    conn_status, data = raw_get(cloud, tok, f"/images/{img['id']}/file")
    assert conn_status == 200 and data == b"hello"


def raw_get(cloud, tok, path, headers=None):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", cloud.port, timeout=120)
    conn.request("GET", "/image/v2" + path, headers={"X-Auth-Token": tok, **(headers or {})})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data if r.status != 416 else (r.getheader("Content-Range"), data)


def test_download_md5_and_ranges(cloud):
    tok = token(cloud)
    data = bytes(range(256)) * 40
    img = create(cloud, tok, name="ranges")
    assert raw_get(cloud, tok, f"/images/{img['id']}/file")[0] == 204  # no data yet
    assert upload(cloud, tok, img["id"], data)[0] == 204
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", cloud.port, timeout=120)
    conn.request("GET", f"/image/v2/images/{img['id']}/file", headers={"X-Auth-Token": tok})
    r = conn.getresponse()
    assert r.status == 200 and r.read() == data
    assert r.getheader("Content-MD5") == hashlib.md5(data).hexdigest()
    conn.request("GET", f"/image/v2/images/{img['id']}/file",
                 headers={"X-Auth-Token": tok, "Range": "bytes=100-199"})
    r = conn.getresponse()
    assert r.status == 206 and r.read() == data[100:200]
    assert r.getheader("Content-Range") == f"bytes 100-199/{len(data)}"
    conn.close()
    assert raw_get(cloud, tok, f"/images/{img['id']}/file", {"Range": "bytes=-10"}) == \
        (206, data[-10:])
    assert raw_get(cloud, tok, f"/images/{img['id']}/file", {"Range": "bytes=10000-"}) == \
        (206, data[10000:])
    status, (crange, _) = raw_get(cloud, tok, f"/images/{img['id']}/file",
                                  {"Range": f"bytes={len(data)}-"})
    assert status == 416 and crange == f"bytes */{len(data)}"


def test_cross_project_policy(cloud):
    admin = token(cloud)
    alice = add_user(cloud, "alice", "demo")
    private = create(cloud, admin, name="admin-private", visibility="private")
    shared = create(cloud, admin, name="admin-shared")
    public = create(cloud, admin, name="admin-public", visibility="public")
    for img in (private, shared):
        status, _, body = api(cloud, alice, "GET", f"/images/{img['id']}")
        assert status == 404, body
        assert api(cloud, alice, "DELETE", f"/images/{img['id']}")[0] == 404
        assert upload(cloud, alice, img["id"], b"x")[0] == 404
    # a public image is seen but not changed by others
    assert api(cloud, alice, "GET", f"/images/{public['id']}")[0] == 200
    assert api(cloud, alice, "DELETE", f"/images/{public['id']}")[0] == 403
    assert upload(cloud, alice, public["id"], b"x")[0] == 403
    # only an admin publicizes; community is the owner's to choose
    status, _, body = api(cloud, alice, "POST", "/images", {"name": "mine", "visibility": "public"})
    assert status == 403 and "publicize_image" in glance_error(body, 403)
    mine = create(cloud, alice, name="mine", visibility="community")
    assert mine["owner"] != private["owner"]
    assert api(cloud, admin, "GET", f"/images/{mine['id']}")[0] == 200
    # protected images are not deleted, by anyone
    prot = create(cloud, alice, name="keep", protected=True)
    status, _, body = api(cloud, alice, "DELETE", f"/images/{prot['id']}")
    assert status == 403 and "protected" in glance_error(body, 403)
    assert api(cloud, admin, "DELETE", f"/images/{prot['id']}")[0] == 403
    assert api(cloud, alice, "DELETE", f"/images/{mine['id']}")[0] == 204


def test_interrupted_upload_leaves_queued_and_no_file(cloud):
    tok = token(cloud)
    img = create(cloud, tok, name="interrupted")
    conn = start_upload(cloud, tok, img["id"], 64 * 1024 * 1024, os.urandom(1024 * 1024))
    wait_for("the upload to start", lambda: api(cloud, tok, "GET", f"/images/{img['id']}")[2]
             ["status"] == "saving")
    conn.close()  # the client goes away
    wait_for("the image back to queued", lambda: api(cloud, tok, "GET", f"/images/{img['id']}")[2]
             ["status"] == "queued")
    wait_for("no file left", lambda: store_files(cloud) == [])
    # it can be uploaded again
    assert upload(cloud, tok, img["id"], b"second try")[0] == 204


def test_kill9_during_upload(cloud):
    tok = token(cloud)
    img = create(cloud, tok, name="killed")
    conn = start_upload(cloud, tok, img["id"], 64 * 1024 * 1024, os.urandom(1024 * 1024))
    wait_for("the temporary file", lambda: any(f.startswith(".tmp-") for f in store_files(cloud)))
    cloud.proc.send_signal(signal.SIGKILL)
    cloud.proc.wait()
    conn.close()
    assert any(f.startswith(".tmp-") for f in store_files(cloud))  # what the kill left
    cloud.start()
    tok = token(cloud)
    status, _, shown = api(cloud, tok, "GET", f"/images/{img['id']}")
    assert status == 200 and shown["status"] == "queued"
    assert store_files(cloud) == []
    assert upload(cloud, tok, img["id"], b"after the crash")[0] == 204


@pytest.fixture(params=["sqlite", "postgresql"])
def quota_cloud(request):
    c = started(request, "--image-quota-count", "3", "--image-quota-bytes", "1000000")
    try:
        yield c
    finally:
        assert c.stop() == 0


def test_quotas(quota_cloud):
    cloud = quota_cloud
    tok = token(cloud)
    a = create(cloud, tok, name="a")
    # over the byte quota with a Content-Length: refused before anything is written
    status, body = upload(cloud, tok, a["id"], os.urandom(1000001))
    assert status == 413 and "image_size_total" in glance_error(body, 413)
    assert store_files(cloud) == []
    assert api(cloud, tok, "GET", f"/images/{a['id']}")[2]["status"] == "queued"
    # chunked (no length): refused as soon as it passes, nothing kept
    chunks = (os.urandom(100000) for _ in range(12))
    status, body = upload(cloud, tok, a["id"], chunks)
    assert status == 413, body
    assert store_files(cloud) == []
    assert api(cloud, tok, "GET", f"/images/{a['id']}")[2]["status"] == "queued"
    assert upload(cloud, tok, a["id"], os.urandom(600000))[0] == 204
    b = create(cloud, tok, name="b")
    assert upload(cloud, tok, b["id"], os.urandom(400001))[0] == 413
    assert upload(cloud, tok, b["id"], os.urandom(400000))[0] == 204
    create(cloud, tok, name="c")
    status, _, body = api(cloud, tok, "POST", "/images", {"name": "d"})
    assert status == 413 and "image_count_total" in glance_error(body, 413)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("cloud", ["sqlite"], indirect=True)
def test_2gib_upload_streams(cloud, tmp_path):
    """A 2 GiB upload goes to the store as it arrives: the daemon's RSS stays
    within 64 MiB of its idle size (the check is on memory, not time)."""
    import http.client
    import threading
    size = 2 << 30
    src = tmp_path / "sparse.raw"
    with open(src, "wb") as f:
        f.truncate(size)
        f.seek(size // 2)
        f.write(b"middle")  # not all zeros
    tok = token(cloud)
    img = create(cloud, tok, name="big")
    pid = cloud.proc.pid
    idle = rss_kib(pid)
    peak = [idle]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            done.wait(0.05)
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", cloud.port, timeout=1200, blocksize=1 << 20)
        with open(src, "rb") as body:
            conn.request("PUT", f"/image/v2/images/{img['id']}/file", body=body, headers={
                "X-Auth-Token": tok, "Content-Type": "application/octet-stream",
                "Content-Length": str(size)})
            r = conn.getresponse()
            r.read()
        conn.close()
    finally:
        done.set()
        sampler.join()
    assert r.status == 204
    grown = peak[0] - idle
    assert grown < 64 * 1024, f"RSS grew by {grown} KiB during a 2 GiB upload"
    md5 = hashlib.md5()
    with open(src, "rb") as f:
        while chunk := f.read(1 << 22):
            md5.update(chunk)
    status, _, shown = api(cloud, tok, "GET", f"/images/{img['id']}")
    assert shown["status"] == "active" and shown["size"] == size
    assert shown["checksum"] == md5.hexdigest()
    assert api(cloud, tok, "DELETE", f"/images/{img['id']}")[0] == 204
