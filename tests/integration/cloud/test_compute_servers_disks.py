"""A server's disks on its host (issues 16 and 17): the root disk is a qcow2
overlay on the host's image cache (a base fetched once per host by its
SHA-512, shared by every server of that image there), the kernel and ramdisk
are the cached files themselves. The cloud reaches the host through a proxy
that holds each domain start until the test has looked at the host: what
the cloud built there is asserted as it was just before the start.

This machine has no usable /dev/kvm: the start then fails and the servers go
to ERROR (the host is cleaned, the cached base stays); with KVM they reach
ACTIVE, which test_compute_servers_hosts.py's test_server_reaches_active
covers."""
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cloudlib import started
from conftest import skip_loudly
from test_compute_servers import bootable_image, flavor, wait_gone, wait_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "host"))
from hostlib import Stratad, cleanup, free_port, short_tmpdir  # noqa: E402

TOKEN = "host-token-0123456789abcdef"
POOL = "instances"
START = re.compile(r"/v1/domains/([^/?]+)/start")


class HoldingProxy:
    """Forwards HTTP to a stratad on loopback, holding every domain start
    until release is set."""

    def __init__(self, port):
        self.port_to = port
        self.release = threading.Event()
        self.held = []
        self.cond = threading.Condition()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def forward(self):
                try:
                    self.relay()
                except OSError:
                    pass  # the cloud (or the test) went away

            def relay(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                m = START.fullmatch(self.path)
                if self.command == "POST" and m:
                    with proxy.cond:
                        proxy.held.append(m.group(1))
                        proxy.cond.notify_all()
                    proxy.release.wait(600)
                conn = http.client.HTTPConnection("127.0.0.1", proxy.port_to, timeout=3600)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "connection", "content-length")}
                conn.request(self.command, self.path, body=body, headers=headers)
                r = conn.getresponse()
                data = r.read()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("connection", "content-length", "transfer-encoding", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = forward

            def log_message(self, *args):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.srv.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def wait_held(self, n, seconds=300):
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.held) >= n, seconds), \
                f"only {len(self.held)} of {n} domain starts reached the host"
            return list(self.held)

    def close(self):
        self.release.set()
        self.srv.shutdown()
        self.srv.server_close()


@pytest.fixture(params=["sqlite"])
def cloud(request):
    c = started(request, "--host-poll-interval", "1")
    try:
        yield c
    finally:
        assert c.stop() == 0, f"serve did not stop cleanly on SIGTERM:\n{c.log.read_text()}"


@pytest.fixture
def host(cloud, tmp_path):
    """One stratad on loopback TCP with the instances pool, registered with
    the cloud through a HoldingProxy; (stratad, proxy)."""
    tok = tmp_path / "token"
    tok.write_text(TOKEN + "\n")
    port = free_port()
    d = Stratad(short_tmpdir(), extra_args=["--listen-tcp", f"127.0.0.1:{port}",
                                            "--token-file", str(tok)]).start()
    proxy = HoldingProxy(port)
    try:
        pool = Path(d.state_dir) / "pool"
        pool.mkdir()
        d.ok("POST", "/v1/pools", {"name": POOL, "type": "dir", "path": str(pool)})
        cloud.cloud("host-add", "-d", str(cloud.state), *cloud.db_args(), "--name", "h0",
                    "--url", proxy.url, "--token-file", str(tok))
        deadline = time.monotonic() + 90
        while not [s for s in cloud.openstack("compute", "service", "list")
                   if s["Host"] == "h0" and s["State"] == "up"]:
            assert time.monotonic() < deadline, "host h0 never came up"
            time.sleep(0.5)
        yield d, proxy
    finally:
        proxy.close()
        cleanup(d)


def image_sha(cloud, token, image):
    status, _, body = cloud.api("GET", f"/image/v2/images/{image}", token)
    assert status == 200, body
    return body["os_hash_value"], body["properties"]["kernel_id"] if "properties" in body \
        else body["kernel_id"]


def fetches(cloud, image):
    """How many times a host fetched the image's data from the cloud."""
    return len(re.findall(rf"GET /compute/strata/image-data/{image}\S* 200", cloud.log.read_text()))


def qemu_info(path):
    r = subprocess.run(["qemu-img", "info", "--output=json", "-U", str(path)],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def wait_settled(cloud, token, sids):
    return [wait_server(cloud, token, sid, ("ERROR", "ACTIVE"), seconds=300) for sid in sids]


def test_two_servers_share_one_cached_base(cloud, host):
    d, proxy = host
    token = cloud.admin_token()
    disk = os.urandom(3 << 20)
    image = bootable_image(cloud, token, disk=disk)
    sha, kernel = image_sha(cloud, token, image)
    fl = flavor(cloud, token, ram=64, vcpus=1, disk=1)
    # two requests: two build workers at once, each building one server
    sids = [cloud.openstack("server", "create", "--flavor", fl, "--image", image, name)["id"]
            for name in ("a", "b")]
    proxy.wait_held(2)

    # the host as the cloud left it before the starts
    base = Path(d.state_dir) / "images" / sha
    images = {i["sha512"]: i for i in d.ok("GET", "/v1/images")}
    assert sha in images and len(images) == 2, images  # the disk's base and the kernel's
    assert base.read_bytes() == disk and images[sha]["path"] == str(base)
    assert images[sha]["format"] == "raw" and images[sha]["state"] == "ready"
    assert sorted(images[sha]["users"]) == sorted(f"{POOL}/{sid}-disk" for sid in sids), images
    (ksha,) = [s for s in images if s != sha]
    kbase = Path(d.state_dir) / "images" / ksha
    assert kbase.read_bytes() == b"K" * 1024
    # the domains boot the cached kernel itself: it is in use while they exist
    assert sorted(images[ksha]["users"]) == sorted(f"domain {dom['name']}" for dom in d.ok("GET", "/v1/domains"))
    assert len(images[ksha]["users"]) == 2, images
    vols = {v["name"]: v for v in d.ok("GET", f"/v1/pools/{POOL}/volumes")}
    assert sorted(vols) == sorted(f"{sid}-disk" for sid in sids), vols
    for sid in sids:
        v = vols[f"{sid}-disk"]
        assert v["format"] == "qcow2" and v["backing"] == str(base), v
        assert v["capacity"] == 1 << 30, v  # grown to the flavor's 1 GB root disk
        q = qemu_info(v["path"])
        assert q["format"] == "qcow2" and q["backing-filename"] == str(base), q
        assert q["backing-filename-format"] == "raw", q
        assert Path(v["path"]).stat().st_size < (1 << 20)  # copy-on-write: no data of its own
    for dom in d.ok("GET", "/v1/domains"):
        info = d.ok("GET", f"/v1/domains/{dom['name']}")["definition"]
        assert info["os"]["kernel"] == str(kbase), info
        (root,) = info["disks"]  # no config drive asked for: the root disk only
        assert root["target"] == "vda", root
        assert root["format"] == "qcow2" and root["pool"] == POOL, root
        assert root["volume"] in vols
    # one fetch of each image for the two servers
    assert fetches(cloud, image) == 1 and fetches(cloud, kernel) == 1, cloud.log.read_text()[-3000:]

    proxy.release.set()
    for server in wait_settled(cloud, token, sids):
        if server["status"] == "ERROR":
            assert "starting instance-" in server["fault"]["message"], server["fault"]
    # a third server later: the base is cached, no fetch at all
    proxy.release.clear()
    third = cloud.openstack("server", "create", "--flavor", fl, "--image", image, "c")["id"]
    proxy.wait_held(3)
    assert fetches(cloud, image) == 1 and fetches(cloud, kernel) == 1
    assert d.ok("GET", f"/v1/pools/{POOL}/volumes/{third}-disk")["backing"] == str(base)
    proxy.release.set()
    wait_settled(cloud, token, [third])
    for sid in sids + [third]:
        cloud.openstack("server", "delete", sid, fmt_json=False)
        wait_gone(cloud, token, sid)
    # the servers are gone from the host; their bases stay cached, unused
    assert d.ok("GET", "/v1/domains") == [] and d.ok("GET", f"/v1/pools/{POOL}/volumes") == []
    assert {i["sha512"]: i["users"] for i in d.ok("GET", "/v1/images")} == {sha: [], ksha: []}


def iso_read(path, name):
    """A file of the ISO as the real isoinfo reads it (Rock Ridge names)."""
    r = subprocess.run(["isoinfo", "-R", "-i", str(path), "-x", name], capture_output=True, check=True)
    return r.stdout


def test_config_drive(cloud, host, tmp_path):
    if not shutil.which("isoinfo") or not shutil.which("genisoimage"):
        skip_loudly("the config drive needs genisoimage (scripts/deps/cloud.txt) and isoinfo")
    d, proxy = host
    token = cloud.admin_token()
    image = bootable_image(cloud, token)
    fl = flavor(cloud, token)
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-t", "ed25519", "-N", "", "-q", "-f", str(key)], check=True)
    pub = (tmp_path / "key.pub").read_text()  # as the CLI sent it (Nova keeps its newline)
    cloud.openstack("keypair", "create", "--public-key", str(key) + ".pub", "mykey")
    ud = tmp_path / "user-data"
    ud.write_bytes(b"#cloud-config\nruncmd:\n - echo hello \xc3\xa9\n")
    made = cloud.openstack("server", "create", "--flavor", fl, "--image", image, "--config-drive", "True",
                           "--user-data", str(ud), "--property", "role=web", "--property", "k=v",
                           "--key-name", "mykey", "My Server_1")
    sid = made["id"]
    (dom,) = proxy.wait_held(1)
    status, _, view = cloud.api("GET", f"/compute/v2.1/servers/{sid}", token)
    assert view["server"]["config_drive"] == "True", view

    # the domain has it read-only, as its second disk
    definition = d.ok("GET", f"/v1/domains/{dom}")["definition"]
    assert definition["uuid"] == sid
    (cd,) = [x for x in definition["disks"] if x["target"] == "vdb"]
    assert cd["readonly"] is True and cd["format"] == "raw" and cd["volume"] == f"{sid}-config", cd
    vol = d.ok("GET", f"/v1/pools/{POOL}/volumes/{sid}-config")
    iso = Path(vol["path"])
    assert cd["path"] == str(iso)
    info = subprocess.run(["isoinfo", "-d", "-i", str(iso)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Volume id: config-2$", info, re.M), info
    assert "Rock Ridge" in info and "Joliet" in info, info
    listing = subprocess.run(["isoinfo", "-R", "-f", "-i", str(iso)], capture_output=True, text=True,
                             check=True).stdout.split()
    for v in ("2012-08-10", "latest"):
        assert f"/openstack/{v}/meta_data.json" in listing and f"/openstack/{v}/user_data" in listing, listing
        assert iso_read(iso, f"/openstack/{v}/user_data") == ud.read_bytes()
        meta = json.loads(iso_read(iso, f"/openstack/{v}/meta_data.json"))
        assert meta["uuid"] == sid and meta["name"] == "My Server_1", meta
        assert meta["hostname"] == "my-server-1.novalocal", meta
        assert meta["availability_zone"] == "nova" and meta["launch_index"] == 0, meta
        assert meta["meta"] == {"role": "web", "k": "v"}, meta
        assert meta["public_keys"] == {"mykey": pub}, meta
        assert meta["keys"] == [{"name": "mykey", "type": "ssh", "data": pub}], meta
    latest = json.loads(iso_read(iso, "/openstack/latest/meta_data.json"))
    assert latest["project_id"] == view["server"]["tenant_id"] and len(latest["random_seed"]) > 600
    assert json.loads(iso_read(iso, "/openstack/latest/vendor_data.json")) == {}

    proxy.release.set()
    wait_settled(cloud, token, [sid])
    cloud.openstack("server", "delete", sid, fmt_json=False)
    wait_gone(cloud, token, sid)
    assert d.ok("GET", "/v1/domains") == [] and d.ok("GET", f"/v1/pools/{POOL}/volumes") == []
