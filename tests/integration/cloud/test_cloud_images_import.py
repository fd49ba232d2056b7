"""Interoperable image import (issue 16): GET /v2/info/import and
/v2/info/stores; glance-direct (PUT .../stage, then POST .../import) through
the real `glance image-create-via-import` and raw HTTP; web-download from a
local HTTP server (http only here), its redirects checked before they are
followed (never to file:// nor to a port not allowed), the size cap, the
same format inspection as uploads; each import recorded as a task; a failure
leaves the image queued with no data anywhere. SQLite and PostgreSQL."""
import hashlib
import http.server
import os
import pty
import subprocess
import threading
import time

import pytest

from cloudlib import ADMIN_PASSWORD, started
from imagelib import add_user, api, connect, create, start_upload, store_files, token

GLANCE = "/usr/bin/glance"
SIZE_CAP = 4 << 20


class Site:
    """A local web server: path -> (status, headers, body); counts requests."""
    def __init__(self):
        self.pages, self.hits = {}, {}
        site = self

        self.release = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                site.hits[self.path] = site.hits.get(self.path, 0) + 1
                if self.path == "/stalls":  # a little of a promised 2 MiB, then nothing
                    self.send_response(200)
                    self.send_header("Content-Length", str(2 << 20))
                    self.end_headers()
                    self.wfile.write(b"x" * 1000)
                    self.wfile.flush()
                    site.release.wait(600)
                    return
                status, headers, body = site.pages.get(self.path, (404, {}, b"no such page"))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request, tmp_path):
    """(cloud, site the cloud may fetch from, site on a port it may not)."""
    site, other = Site(), Site()
    c = started(request, "--image-import-ports", f"80,443,{site.port}",
                "--image-size-cap", str(SIZE_CAP))
    try:
        yield c, site, other
    finally:
        site.close()
        other.close()
        assert c.stop() == 0, f"serve did not stop cleanly on SIGTERM:\n{c.log.read_text()}"


def qcow2(tmp, name, *opts):
    path = tmp / name
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", *opts, str(path), "1M"], check=True)
    return path


def wait_status(cloud, tok, image_id, want, seconds=120):
    deadline = time.monotonic() + seconds
    while True:
        status, _, img = api(cloud, tok, "GET", f"/images/{image_id}")
        assert status == 200, img
        if img["status"] == want:
            return img
        if time.monotonic() > deadline:
            raise AssertionError(f"image {image_id} is {img['status']}, not {want}")
        time.sleep(0.1)


def last_task(cloud, tok, image_id, seconds=120):
    """The image's latest task (its os_glance_import_task) once it has ended;
    it is also the newest of the image's tasks."""
    deadline = time.monotonic() + seconds
    while True:
        _, _, img = api(cloud, tok, "GET", f"/images/{image_id}")
        status, _, task = api(cloud, tok, "GET", f"/tasks/{img['os_glance_import_task']}")
        assert status == 200, task
        if task["status"] in ("success", "failure"):
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task['id']} still {task['status']}")
        time.sleep(0.1)
    _, _, listed = api(cloud, tok, "GET", f"/images/{image_id}/tasks")
    assert task["id"] in [t["id"] for t in listed["tasks"]]
    return task


def failed_clearly(cloud, tok, image_id, says):
    """The import failed: the task says why, the image is queued with no data."""
    task = last_task(cloud, tok, image_id)
    assert task["status"] == "failure" and says in task["message"], task
    img = wait_status(cloud, tok, image_id, "queued")
    assert img["size"] is None and img["checksum"] is None, img
    assert img["os_glance_failed_import"] == "file" and img["os_glance_import_task"] == task["id"]
    assert store_files(cloud) == [] and store_files(cloud, under="images/staging") == []
    return task


def glance(cloud, *args):
    if not os.path.exists(GLANCE):
        pytest.skip("python3-glanceclient is not installed (/usr/bin/glance)")
    full = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    full.update(OS_AUTH_URL=f"{cloud.url}/identity/v3", OS_USERNAME="admin",
                OS_PASSWORD=ADMIN_PASSWORD, OS_PROJECT_NAME="admin", OS_USER_DOMAIN_NAME="Default",
                OS_PROJECT_DOMAIN_NAME="Default", OS_REGION_NAME="RegionOne", HOME=str(cloud.tmp))
    # glance takes a stdin that is not a terminal for the image's data
    master, slave = pty.openpty()
    try:
        r = subprocess.run([GLANCE, *args], capture_output=True, text=True, timeout=300, env=full,
                           stdin=slave)
    finally:
        os.close(master)
        os.close(slave)
    assert r.returncode == 0, f"glance {' '.join(args)}: {r.stderr}\n{cloud.log.read_text()[-3000:]}"
    return r.stdout


def test_discovery(env):
    cloud, _, _ = env
    tok = token(cloud)
    status, _, body = api(cloud, tok, "GET", "/info/import")
    assert status == 200 and body["import-methods"]["value"] == ["glance-direct", "web-download"]
    status, _, body = api(cloud, tok, "GET", "/info/stores")
    assert status == 200 and body["stores"][0]["id"] == "file" and body["stores"][0]["default"]
    assert "web-download" in glance(cloud, "import-info")
    assert api(cloud, "not-a-token", "GET", "/info/import")[0] == 401


def test_glance_direct_through_the_glance_cli(env, tmp_path):
    cloud, _, _ = env
    tok = token(cloud)
    disk = qcow2(tmp_path, "disk.qcow2")
    out = glance(cloud, "image-create-via-import", "--name", "direct", "--disk-format", "qcow2",
                 "--container-format", "bare", "--file", str(disk))
    image_id = next(line.split("|")[2].strip() for line in out.splitlines()
                    if line.startswith("| id "))
    img = wait_status(cloud, tok, image_id, "active")
    data = disk.read_bytes()
    assert img["checksum"] == hashlib.md5(data).hexdigest() and img["size"] == len(data)
    assert img["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert img["virtual_size"] == 1 << 20
    task = last_task(cloud, tok, image_id)
    assert task["status"] == "success" and task["type"] == "api_image_import"
    assert img["os_glance_import_task"] == task["id"]
    assert task["input"]["import_req"]["method"]["name"] == "glance-direct"
    status, _, shown = api(cloud, tok, "GET", f"/tasks/{task['id']}")
    assert status == 200 and shown["id"] == task["id"] and shown["self"] == f"/v2/tasks/{task['id']}"
    assert store_files(cloud) == [image_id] and store_files(cloud, under="images/staging") == []
    conn = connect(cloud)
    conn.request("GET", f"/image/v2/images/{image_id}/file", headers={"X-Auth-Token": tok})
    r = conn.getresponse()
    assert r.status == 200 and r.read() == data
    conn.close()


def test_glance_direct_states_and_failures(env, tmp_path):
    cloud, _, _ = env
    tok = token(cloud)
    octet = {"Content-Type": "application/octet-stream"}
    direct = {"method": {"name": "glance-direct"}}
    img = create(cloud, tok, name="staged", disk_format="qcow2")
    iid = img["id"]
    # nothing staged yet: 409, and the image is untouched
    status, _, body = api(cloud, tok, "POST", f"/images/{iid}/import", direct)
    assert status == 409 and "staged" in body["message"], body
    data = qcow2(tmp_path, "ok.qcow2").read_bytes()
    status, _, _ = api(cloud, tok, "PUT", f"/images/{iid}/stage", raw=data, headers=octet)
    assert status == 204
    assert wait_status(cloud, tok, iid, "uploading")["size"] is None
    assert store_files(cloud, under="images/staging") == [iid] and store_files(cloud) == []
    # staged once: a second stage and a plain upload are refused
    assert api(cloud, tok, "PUT", f"/images/{iid}/stage", raw=data, headers=octet)[0] == 409
    assert api(cloud, tok, "PUT", f"/images/{iid}/file", raw=data, headers=octet)[0] == 409
    for bad in ({}, {"method": {}}, {"method": {"name": "copy-image"}},
                {"method": {"name": "glance-direct", "uri": "http://x/"}},
                {"method": {"name": "glance-direct"}, "stores": ["ceph"]}):
        status, _, body = api(cloud, tok, "POST", f"/images/{iid}/import", bad)
        assert status == 400 and set(body) == {"message", "code", "title"}, (bad, body)
    assert api(cloud, tok, "POST", f"/images/{iid}/import", direct)[0] == 202
    done = wait_status(cloud, tok, iid, "active")
    assert done["checksum"] == hashlib.md5(data).hexdigest()
    assert store_files(cloud) == [iid] and store_files(cloud, under="images/staging") == []
    # an active image cannot be imported again
    assert api(cloud, tok, "POST", f"/images/{iid}/import", direct)[0] == 409
    api(cloud, tok, "DELETE", f"/images/{iid}")
    # a hostile staged image (backing file /etc/shadow): the import fails, nothing kept
    bad = create(cloud, tok, name="hostile", disk_format="qcow2")
    hostile = qcow2(tmp_path, "backing.qcow2", "-u", "-b", "/etc/shadow", "-F", "raw").read_bytes()
    assert api(cloud, tok, "PUT", f"/images/{bad['id']}/stage", raw=hostile, headers=octet)[0] == 204
    assert api(cloud, tok, "POST", f"/images/{bad['id']}/import", direct)[0] == 202
    failed_clearly(cloud, tok, bad["id"], "backing file")
    # a stage interrupted by the client: queued again, no staged file
    conn = start_upload(cloud, tok, bad["id"], 2 << 20, os.urandom(1 << 20), what="stage")
    wait_status(cloud, tok, bad["id"], "uploading")
    conn.close()
    wait_status(cloud, tok, bad["id"], "queued")
    deadline = time.monotonic() + 60
    while store_files(cloud, under="images/staging") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert store_files(cloud, under="images/staging") == []
    # another project's member does not see the (shared, no members) image
    other, _, _ = cloud.member_token("other-project", "other-user")
    assert api(cloud, other, "PUT", f"/images/{bad['id']}/stage", raw=data, headers=octet)[0] == 404
    assert api(cloud, other, "POST", f"/images/{bad['id']}/import", direct)[0] == 404


def test_web_download(env, tmp_path):
    cloud, site, other = env
    tok = token(cloud)
    data = qcow2(tmp_path, "web.qcow2").read_bytes()
    site.pages["/web.qcow2"] = (200, {}, data)
    site.pages["/moved"] = (302, {"Location": "/web.qcow2"}, b"")
    img = create(cloud, tok, name="web", disk_format="qcow2")
    method = {"method": {"name": "web-download", "uri": site.url("/moved")}}
    assert api(cloud, tok, "POST", f"/images/{img['id']}/import", method)[0] == 202
    done = wait_status(cloud, tok, img["id"], "active")
    assert done["checksum"] == hashlib.md5(data).hexdigest() and done["virtual_size"] == 1 << 20
    assert last_task(cloud, tok, img["id"])["status"] == "success"
    assert site.hits == {"/moved": 1, "/web.qcow2": 1}
    status, _, _ = api(cloud, tok, "POST", f"/images/{img['id']}/import", method)
    assert status == 409  # active: nothing to import into
    api(cloud, tok, "DELETE", f"/images/{img['id']}")


def test_web_download_refusals(env, tmp_path):
    cloud, site, other = env
    tok = token(cloud)
    good = qcow2(tmp_path, "good.qcow2").read_bytes()
    other.pages["/good.qcow2"] = (200, {}, good)
    site.pages.update({
        "/to-file": (302, {"Location": "file:///etc/shadow"}, b""),
        "/to-other-port": (301, {"Location": other.url("/good.qcow2")}, b""),
        "/big.raw": (200, {}, os.urandom(SIZE_CAP + 1)),
        "/raw-as-qcow2": (200, {}, os.urandom(1 << 20)),
        "/hostile.qcow2": (200, {}, qcow2(tmp_path, "h.qcow2", "-u", "-b", "/etc/shadow",
                                          "-F", "raw").read_bytes()),
        "/loop": (302, {"Location": "/loop"}, b""),
    })
    # refused at once (400), the image untouched
    img = create(cloud, tok, name="refused", disk_format="qcow2")
    for uri in ("file:///etc/shadow", "ftp://127.0.0.1/x", other.url("/good.qcow2"),
                "http://[::1", None, "http://127.0.0.1:" + "9" * 3000):
        method = {"method": {"name": "web-download", **({"uri": uri} if uri else {})}}
        status, _, body = api(cloud, tok, "POST", f"/images/{img['id']}/import", method)
        assert status == 400 and set(body) == {"message", "code", "title"}, (uri, body)
        assert wait_status(cloud, tok, img["id"], "queued")
    # refused while fetching: the task fails and says why, nothing kept
    for path, says in (("/to-file", "scheme"), ("/to-other-port", "port"),
                       ("/big.raw", "larger than"), ("/raw-as-qcow2", "not qcow2"),
                       ("/hostile.qcow2", "backing file"), ("/missing", "404"),
                       ("/loop", "redirects")):
        method = {"method": {"name": "web-download", "uri": site.url(path)}}
        assert api(cloud, tok, "POST", f"/images/{img['id']}/import", method)[0] == 202, path
        failed_clearly(cloud, tok, img["id"], says)
    # the redirect to the port not allowed was never followed
    assert other.hits == {}
    assert len(api(cloud, tok, "GET", f"/images/{img['id']}/tasks")[2]["tasks"]) == 7
    tasks_list(cloud, tok, img["id"])


def tasks_list(cloud, tok, image_id):
    """GET /v2/tasks over the 7 failed imports: Glance's stubs (no input,
    result, message), filters, sorting, paging; another project sees none.
    copy-image is refused as a Glance with one store refuses it."""
    status, _, page = api(cloud, tok, "GET", "/tasks?limit=3")
    assert status == 200 and page["first"] == "/v2/tasks" and page["schema"] == "/v2/schemas/tasks", page
    seen = []
    while True:
        assert len(page["tasks"]) <= 3
        for t in page["tasks"]:
            assert not {"input", "result", "message"} & set(t), t
            assert t["type"] == "api_image_import" and t["status"] == "failure" and t["self"] == f"/v2/tasks/{t['id']}"
        seen += [t["id"] for t in page["tasks"]]
        if "next" not in page:
            break
        assert page["next"].startswith("/v2/tasks?limit=3&marker="), page["next"]
        status, _, page = api(cloud, tok, "GET", page["next"][len("/v2"):])
        assert status == 200, page
    by_image = [t["id"] for t in api(cloud, tok, "GET", f"/images/{image_id}/tasks")[2]["tasks"]]
    assert len(seen) == 7 and sorted(seen) == sorted(by_image), (seen, by_image)
    created = [api(cloud, tok, "GET", f"/tasks/{i}")[2]["created_at"] for i in seen]
    assert created == sorted(created, reverse=True), created
    assert [t["id"] for t in api(cloud, tok, "GET", "/tasks?sort_dir=asc&limit=20")[2]["tasks"]] == seen[::-1]
    for q, n in (("status=failure", 7), ("status=success", 0), ("type=api_image_import", 7),
                 ("sort_key=updated_at&sort_dir=desc", 7), (f"marker={seen[5]}", 1)):
        status, _, body = api(cloud, tok, "GET", "/tasks?" + q)
        assert status == 200 and len(body["tasks"]) == n, (q, body)
    for q in ("status=done", "type=cooking", "sort_dir=sideways", "sort_key=input", "limit=-1",
              "marker=no-such-task"):
        status, _, body = api(cloud, tok, "GET", "/tasks?" + q)
        assert status == 400 and set(body) == {"message", "code", "title"}, (q, body)
    other = add_user(cloud, "tasker", "elsewhere")
    assert api(cloud, other, "GET", "/tasks")[2]["tasks"] == []
    assert api(cloud, other, "GET", f"/tasks/{seen[0]}")[0] == 404
    # copy-image copies an image into other stores: with one, refused before any task
    status, _, body = api(cloud, tok, "POST", f"/images/{image_id}/import",
                          {"method": {"name": "copy-image"}, "all_stores": True})
    assert status == 400 and "Unknown import method name 'copy-image'" in body["message"], body
    assert len(api(cloud, tok, "GET", "/tasks")[2]["tasks"]) == 7


def test_kill9_during_stage_then_restart(env):
    """A stage cut by kill -9: after a restart the image is queued and the
    staging area holds nothing of it."""
    cloud, _, _ = env
    tok = token(cloud)
    img = create(cloud, tok, name="cut")
    conn = start_upload(cloud, tok, img["id"], 2 << 20, os.urandom(1 << 20), what="stage")
    wait_status(cloud, tok, img["id"], "uploading")
    cloud.proc.kill()
    cloud.proc.wait()
    conn.close()
    cloud.start()
    tok = token(cloud)
    assert wait_status(cloud, tok, img["id"], "queued")
    assert store_files(cloud, under="images/staging") == []


def test_sigterm_stops_a_fetch_in_flight(env):
    """SIGTERM while web-download waits on a stalled server: strata-cloud
    stops cleanly, the image is queued again and its task failed."""
    cloud, site, _ = env
    tok = token(cloud)
    img = create(cloud, tok, name="stalled")
    method = {"method": {"name": "web-download", "uri": site.url("/stalls")}}
    assert api(cloud, tok, "POST", f"/images/{img['id']}/import", method)[0] == 202
    wait_status(cloud, tok, img["id"], "importing")
    deadline = time.monotonic() + 120
    while not site.hits.get("/stalls"):
        assert time.monotonic() < deadline, "the fetch did not start"
        time.sleep(0.1)
    assert cloud.stop() == 0, cloud.log.read_text()[-3000:]
    cloud.start()
    tok = token(cloud)
    img = wait_status(cloud, tok, img["id"], "queued")
    assert store_files(cloud) == []
    task = last_task(cloud, tok, img["id"])
    assert task["status"] == "failure" and "stopping" in task["message"], task
