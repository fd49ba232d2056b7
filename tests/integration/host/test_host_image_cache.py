"""Issue 16 (on the hosts): stratad's image cache. A base image is fetched
once per host (keyed by its SHA-512) from a loopback HTTP server that counts
its GETs, kept read-only in STATE/images, and shared by volumes that are
qcow2 overlays on it (qemu-img check and info agree); two requests at once
make one download; the cache survives a restart; a corrupted or truncated
base is found by its hash or size and fetched again (by a domain start too,
from its stored URL); a restart trusts an unchanged base; hashing lets go of
stratad's lock; unused bases go by age and by size, a base in use never.
Nothing here boots a guest: starts run tests/integration/web/fake_vmm.py."""
import functools
import hashlib
import http.server
import json
import os
import shutil
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import skip_loudly, wait_for
from hostlib import Events, Stratad, UnixHTTPConnection, cleanup, guest, in_ns, netd, short_tmpdir  # noqa: F401

MIB = 1 << 20
# strata-vm's stand-in that runs no guest (tests/integration/web): a start that got past its disks'
# checks runs, without /dev/kvm, and these tests are about what the start checked
FAKE_VMM = Path(__file__).resolve().parent.parent / "web" / "fake_vmm.py"


class CountingHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        srv = self.server
        with srv.lock:
            srv.gets[self.path] = srv.gets.get(self.path, 0) + 1
        need = srv.tokens.get(self.path)
        if need is not None and self.headers.get("X-Auth-Token") != need:
            self.send_error(401)
            return
        gate = srv.gates.get(self.path)
        if gate is not None:
            gate.wait(120)
        super().do_GET()


def start_server(root, addr="127.0.0.1"):
    """An HTTP server of root's files on addr that counts GETs per path,
    holds a path's response while srv.gates[path] is unset, and wants
    srv.tokens[path] as X-Auth-Token."""
    root.mkdir()
    srv = http.server.ThreadingHTTPServer((addr, 0), functools.partial(CountingHandler, directory=str(root)))
    srv.lock, srv.gets, srv.gates, srv.tokens = threading.Lock(), {}, {}, {}
    srv.root, srv.base = root, f"http://{addr}:{srv.server_address[1]}"
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def stop_server(srv):
    for g in srv.gates.values():
        g.set()
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def server(tmp_path):
    srv = start_server(tmp_path / "www")
    yield srv
    stop_server(srv)


def need_qemu_img():
    if not shutil.which("qemu-img"):
        skip_loudly("qemu-img (qemu-utils) is not installed: no qcow2 image to serve or check")


def make_qcow2(srv, name, size="64M", pattern=0x5a):
    """A real qcow2 image with data in it: its sha512 and image dict."""
    path = srv.root / name
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), size], check=True)
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", f"write -P {pattern} 1M 2M", str(path)], check=True,
                   capture_output=True)
    return image(srv, name, "qcow2")


def make_raw(srv, name, size=3 * MIB):
    (srv.root / name).write_bytes(os.urandom(size))
    return image(srv, name, "raw")


def image(srv, name, fmt):
    sha = hashlib.sha512((srv.root / name).read_bytes()).hexdigest()
    return {"url": f"{srv.base}/{name}", "sha512": sha, "format": fmt}


def qemu_info(path):
    r = subprocess.run(["qemu-img", "info", "--output=json", str(path)], check=True, capture_output=True, text=True)
    return json.loads(r.stdout)


def qemu_check(path):
    r = subprocess.run(["qemu-img", "check", str(path)], capture_output=True, text=True)
    assert r.returncode == 0 and "No errors were found" in r.stdout, r.stdout + r.stderr


def daemon(*args):
    return Stratad(short_tmpdir(), extra_args=list(args)).start()


@pytest.fixture
def stratad_pool(tmp_path):
    d = daemon("--image-cache-interval", "3600", "--vm-binary", str(FAKE_VMM))
    d.ok("POST", "/v1/pools", {"name": "images", "type": "dir", "path": str(tmp_path / "pool")})
    yield d, tmp_path / "pool"
    cleanup(d)


def create_on(d, name, img, **extra):
    return d.ok("POST", "/v1/pools/images/volumes", {"name": name, "image": img, **extra})


def test_one_fetch_shared_by_overlays(stratad_pool, server):
    need_qemu_img()
    d, pool = stratad_pool
    img = make_qcow2(server, "cirros.qcow2")
    path = f"/cirros.qcow2"
    server.gates[path] = threading.Event()
    ev = Events(d)
    results = {}

    def create(name):
        results[name] = d.call("POST", "/v1/pools/images/volumes", {"name": name, "image": img})

    try:
        threads = [threading.Thread(target=create, args=(n,)) for n in ("vm1", "vm2")]
        for t in threads:
            t.start()
        # the second request waits for the first one's download: the server holds it until then
        seen = []
        while "image-fetch-joined" not in [e["event"] for e in seen]:
            seen.append(ev.next(timeout=60))
        server.gates[path].set()
        for t in threads:
            t.join(120)
        assert all(results[n][0] == 201 for n in ("vm1", "vm2")), results
        assert server.gets == {path: 1}, server.gets
        while "image-cached" not in [e["event"] for e in seen]:
            seen.append(ev.next())
        kinds = [e["event"] for e in seen if e["object"] == "image"]
        assert kinds[0] == "image-fetch-started" and "image-progress" in kinds, kinds
        done = [e for e in seen if e["event"] == "image-progress"][-1]
        assert done["bytes_done"] == done["bytes_total"] == (server.root / "cirros.qcow2").stat().st_size
    finally:
        ev.close()

    # a third volume later: no fetch at all
    create_on(d, "vm3", img, capacity="128M")
    assert server.gets == {path: 1}, server.gets

    base = d.state_dir / "images" / img["sha512"]
    assert (base.stat().st_mode & 0o777) == 0o444
    assert base.read_bytes() == (server.root / "cirros.qcow2").read_bytes()
    for name, size in (("vm1", 64 * MIB), ("vm2", 64 * MIB), ("vm3", 128 * MIB)):
        info = d.ok("GET", f"/v1/pools/images/volumes/{name}")
        assert info["format"] == "qcow2" and info["backing"] == str(base) and info["capacity"] == size, info
        q = qemu_info(pool / name)
        assert q["format"] == "qcow2" and q["backing-filename"] == str(base), q
        assert q["backing-filename-format"] == "qcow2" and q["virtual-size"] == size, q
        qemu_check(pool / name)
        # copy-on-write: the overlay holds no data of its own, and reads the base's
        assert (pool / name).stat().st_size < MIB
        r = subprocess.run(["qemu-io", "-r", "-f", "qcow2", "-c", "read -P 0x5a 1M 2M", str(pool / name)],
                           capture_output=True, text=True)
        assert r.returncode == 0 and "Pattern verification failed" not in r.stdout, r.stdout
    # writing one overlay changes neither the base nor the other overlay
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x11 1M 64k", str(pool / "vm1")], check=True,
                   capture_output=True)
    qemu_check(pool / "vm1")
    assert base.read_bytes() == (server.root / "cirros.qcow2").read_bytes()
    r = subprocess.run(["qemu-io", "-r", "-f", "qcow2", "-c", "read -P 0x5a 1M 64k", str(pool / "vm2")],
                       capture_output=True, text=True)
    assert "Pattern verification failed" not in r.stdout, r.stdout

    listing = d.ok("GET", "/v1/images")
    assert len(listing) == 1 and listing[0]["sha512"] == img["sha512"], listing
    assert sorted(listing[0]["users"]) == ["images/vm1", "images/vm2", "images/vm3"], listing
    assert listing[0]["format"] == "qcow2" and listing[0]["virtual_size"] == 64 * MIB
    assert listing[0]["state"] == "ready" and listing[0]["verified"] is True


def test_raw_base_and_refusals(stratad_pool, server):
    need_qemu_img()
    d, pool = stratad_pool
    raw = make_raw(server, "disk.raw")
    v = create_on(d, "r1", raw, capacity="8M")
    assert v["format"] == "qcow2" and v["capacity"] == 8 * MIB, v
    q = qemu_info(pool / "r1")
    assert q["backing-filename-format"] == "raw" and q["virtual-size"] == 8 * MIB, q
    qemu_check(pool / "r1")

    def refused(body, status, text):
        st, reply = d.call("POST", "/v1/pools/images/volumes", body)
        assert st == status and text in reply["error"]["message"], (st, reply)

    q2 = make_qcow2(server, "other.qcow2")
    cache = d.state_dir / "images"
    before = sorted(os.listdir(cache))
    refused({"name": "x", "image": {**q2, "sha512": hashlib.sha512(b"no").hexdigest()}}, 400, "sha512 mismatch")
    refused({"name": "x", "image": {**q2, "format": "raw"}}, 400, "")  # a qcow2 image declared raw
    # a qcow2 whose backing file names a host path is never cached
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", "/etc/shadow",
                    str(server.root / "evil.qcow2"), "1M"], check=True)
    refused({"name": "x", "image": image(server, "evil.qcow2", "qcow2")}, 400, "backing")
    refused({"name": "x", "image": {**raw, "format": "qcow2"}}, 400, "is raw, not qcow2")
    refused({"name": "x", "image": {**raw, "url": "file:///etc/passwd"}}, 400, "http:// or https://")
    refused({"name": "x", "image": {**raw, "sha512": "abc"}}, 400, "128 hex digits")
    refused({"name": "x", "image": raw, "format": "raw"}, 400, "qcow2 overlay")
    refused({"name": "x", "image": raw, "capacity": "1M"}, 400, "smaller than the image")
    refused({"name": "r1", "image": raw}, 409, "already exists")
    refused({"name": "x", "image": {**raw, "url": f"{server.base}/missing"}, "extra": 1}, 400, "")
    st, reply = d.call("POST", "/v1/pools/nopool/volumes", {"name": "x", "image": raw})
    assert st == 404, reply
    assert sorted(os.listdir(cache)) == before and sorted(os.listdir(pool)) == ["r1"]
    assert len(d.ok("GET", "/v1/images")) == 1
    st, reply = d.call("GET", "/v1/images/abc")
    assert st == 404 and "8 of its hex digits" in reply["error"]["message"], reply
    st, reply = d.call("GET", "/v1/images/" + "0" * 128)
    assert st == 404, reply


def flip_bytes(path, offset=4096):
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(16)
        f.seek(offset)
        f.write(bytes(x ^ 0xFF for x in b))


def test_restart_and_corruption(server, tmp_path):
    need_qemu_img()
    img = make_qcow2(server, "base.qcow2")
    path = "/base.qcow2"
    d = daemon("--image-cache-interval", "3600")
    try:
        d.ok("POST", "/v1/pools", {"name": "images", "type": "dir", "path": str(tmp_path / "pool")})
        create_on(d, "a", img)
        base = d.state_dir / "images" / img["sha512"]
        good = base.read_bytes()

        # restart: the index is in the store, nothing fetched again
        d.stop()
        d.start()
        listing = d.ok("GET", "/v1/images")
        assert [i["sha512"] for i in listing] == [img["sha512"]], listing
        create_on(d, "b", img)
        assert server.gets == {path: 1}, server.gets
        assert d.ok("GET", f"/v1/images/{img['sha512'][:12]}")["verified"] is True

        # bytes flipped while stratad runs: the next use hashes it again and fetches it anew
        ev = Events(d)
        flip_bytes(base)
        create_on(d, "c", img)
        assert server.gets == {path: 2}, server.gets
        assert base.read_bytes() == good
        e = ev.next_of("image-corrupt")
        assert "sha512" in e["reason"], e
        ev.close()

        # bytes flipped while stratad is away: found by its hash after the restart
        d.stop()
        flip_bytes(base)
        d.start()
        create_on(d, "d", img)
        assert server.gets == {path: 3}, server.gets
        assert base.read_bytes() == good

        # truncated while stratad is away: found by its size at start, its file removed; its
        # row stays (volumes use it) so that its next use fetches it again
        d.stop()
        os.truncate(base, 1000)
        d.start()
        assert [(i["sha512"], i["state"]) for i in d.ok("GET", "/v1/images")] == [(img["sha512"], "missing")]
        assert not base.exists(), "a truncated base was kept"
        create_on(d, "e", img)
        assert server.gets == {path: 4}, server.gets
        assert base.read_bytes() == good
        for v in "abcde":
            qemu_check(tmp_path / "pool" / v)
            assert qemu_info(tmp_path / "pool" / v)["backing-filename"] == str(base)

        # verify on request: a corrupt base goes, and nothing hands it out
        flip_bytes(base)
        st, reply = d.call("POST", f"/v1/images/{img['sha512']}/verify")
        assert st == 404 and "corrupt" in reply["error"]["message"], reply
        assert not base.exists() and [i["state"] for i in d.ok("GET", "/v1/images")] == ["missing"]
    finally:
        cleanup(d)


def test_background_verify_after_restart(server, tmp_path):
    """The maintenance thread hashes what this stratad has not: a base
    corrupted while stratad was away goes without waiting for a use."""
    img = make_raw(server, "r.raw")
    d = daemon("--image-cache-interval", "3600")
    try:
        d.ok("POST", "/v1/images", img, expect=(201,))
        assert d.ok("POST", "/v1/images", img, expect=(200,))["sha512"] == img["sha512"]
        d.stop()
        flip_bytes(d.state_dir / "images" / img["sha512"])
        d.start()
        wait_for("the corrupt base removed", lambda: d.ok("GET", "/v1/images") == [])
        assert "image-corrupt" in d.log() or "corrupt" in d.log()
    finally:
        cleanup(d)


def test_prune_by_age_never_in_use(server, tmp_path):
    a, b = make_raw(server, "a.raw"), make_raw(server, "b.raw")
    d = daemon("--image-cache-max-age", "1", "--image-cache-interval", "3600")
    try:
        d.ok("POST", "/v1/pools", {"name": "images", "type": "dir", "path": str(tmp_path / "pool")})
        create_on(d, "uses-a", a)
        d.ok("POST", "/v1/images", b)
        # a delete of a base in use is refused, whatever the limits
        st, reply = d.call("DELETE", f"/v1/images/{a['sha512']}")
        assert st == 409 and "images/uses-a" in reply["error"]["message"], reply
        removed = wait_for("b removed by age", lambda: d.ok("POST", "/v1/images/prune")["removed"])
        assert [r["sha512"] for r in removed] == [b["sha512"]] and "unused for" in removed[0]["reason"], removed
        assert [i["sha512"] for i in d.ok("GET", "/v1/images")] == [a["sha512"]]
        assert not (d.state_dir / "images" / b["sha512"]).exists()
        time.sleep(1.1)  # older than the max age: still kept, it is in use
        assert d.ok("POST", "/v1/images/prune")["removed"] == []
        d.ok("DELETE", "/v1/pools/images/volumes/uses-a")
        wait_for("a removed once unused", lambda: d.ok("POST", "/v1/images/prune")["removed"])
        assert d.ok("GET", "/v1/images") == [] and os.listdir(d.state_dir / "images") == []
    finally:
        cleanup(d)


def test_prune_by_size_and_periodic(server, tmp_path):
    imgs = [make_raw(server, f"{n}.raw", 2 * MIB) for n in "abc"]
    d = daemon("--image-cache-max-bytes", "5M", "--image-cache-max-age", "0", "--image-cache-interval", "1")
    try:
        d.ok("POST", "/v1/pools", {"name": "images", "type": "dir", "path": str(tmp_path / "pool")})
        create_on(d, "uses-a", imgs[0])
        # a is the least recently used one: only its use keeps it
        used_a = d.ok("GET", f"/v1/images/{imgs[0]['sha512']}")["last_used"]
        wait_for("the clock a second past a's last use", lambda: time.time() >= used_a + 1.05)
        d.ok("POST", "/v1/images", imgs[1])
        # 6 MiB over 5: b, the least recently used one not in use, goes; a is in use, c was just asked for
        d.ok("POST", "/v1/images", imgs[2])
        left = {i["sha512"] for i in d.ok("GET", "/v1/images")}
        assert left == {imgs[0]["sha512"], imgs[2]["sha512"]}, left
    finally:
        cleanup(d)
    d = daemon("--image-cache-max-age", "1", "--image-cache-interval", "1")
    try:
        d.ok("POST", "/v1/images", imgs[0])
        wait_for("the periodic pass removed the unused base", lambda: d.ok("GET", "/v1/images") == [])
    finally:
        cleanup(d)


def test_cli(stratad_pool, server):
    d, pool = stratad_pool
    img = make_raw(server, "cli.raw")
    r = d.cli("vol-create-from", "images", "vm", "--url", img["url"], "--sha512", img["sha512"], "--cache",
              "--capacity", "16M")
    assert "created" in r.stdout
    assert d.ok("GET", "/v1/pools/images/volumes/vm")["capacity"] == 16 * MIB
    r = d.cli("image-list")
    assert img["sha512"][:16] in r.stdout and "raw" in r.stdout, r.stdout
    r = d.cli("image-info", img["sha512"][:10])
    assert "images/vm" in r.stdout and img["url"] in r.stdout, r.stdout
    r = d.cli("image-verify", img["sha512"][:10])
    assert "Verified:" in r.stdout, r.stdout
    r = d.cli("image-delete", img["sha512"][:10], check=False)
    assert r.returncode == 1 and "in use" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    d.cli("vol-delete", "vm", "--pool", "images")
    r = d.cli("image-prune")
    assert "Nothing to remove" in r.stdout  # max age is a day
    d.cli("image-delete", img["sha512"])
    assert d.ok("GET", "/v1/images") == []
    r = d.cli("image-fetch", "--url", img["url"], "--sha512", img["sha512"])
    assert img["sha512"] in r.stdout
    r = d.cli("image-fetch", "--url", img["url"], check=False)
    assert r.returncode == 2 and "--sha512" in r.stderr, r.stderr
    r = d.cli("vol-create-from", "images", "x", "--url", img["url"], "--sha512", img["sha512"], "--capacity", "1G",
              check=False)
    assert r.returncode == 2 and "--cache" in r.stderr, r.stderr


def test_token_sent_to_the_image_service(stratad_pool, server):
    """An image service (Glance's /v2/images/ID/file) wants a token: it goes
    as X-Auth-Token, and is kept nowhere."""
    d, pool = stratad_pool
    img = make_raw(server, "secret.raw")
    server.tokens["/secret.raw"] = "tok-" + "x" * 40
    st, reply = d.call("POST", "/v1/pools/images/volumes", {"name": "v", "image": img})
    assert st == 502 and "401" in reply["error"]["message"], reply
    st, reply = d.call("POST", "/v1/images", {**img, "token": "a\r\nX-Evil: 1"})
    assert st == 400 and "one line" in reply["error"]["message"], reply
    create_on(d, "v", {**img, "token": server.tokens["/secret.raw"]})
    assert server.gets["/secret.raw"] == 2
    d.stop()
    db = (d.state_dir / "stratad.db").read_bytes() + (d.state_dir / "stratad.log").read_bytes()
    assert b"tok-xxxx" not in db
    d.start()


def post_start(d, name):
    """POST .../start without hostlib's guard (the VMM here is FAKE_VMM: no
    guest is needed)."""
    conn = UnixHTTPConnection(d.sock)
    conn.request("POST", f"/v1/domains/{name}/start")
    resp = conn.getresponse()
    reply = json.loads(resp.read())
    conn.close()
    return resp.status, reply


def start_result(d, name):
    """A start that got past its disks' checks: the (fake) VMM runs; destroyed again."""
    st, reply = post_start(d, name)
    assert st == 200 and d.ok("GET", f"/v1/domains/{name}")["state"] == "running", reply
    d.ok("POST", f"/v1/domains/{name}/destroy")
    return st, reply


def define_on(d, name, vol):
    d.ok("POST", "/v1/domains", {"name": name, "os": {"kernel": guest("pwrbtn")},
                                 "disks": [{"pool": "images", "volume": vol, "target": "vda"}]})


def test_start_fetches_a_corrupt_or_removed_base_again(stratad_pool, server):
    """As Nova downloads a missing base on the next boot: a domain start whose
    cached base was corrupted or removed fetches it again from its URL before
    the VMM runs; when that fails, one error names the image and no VMM runs."""
    d, pool = stratad_pool
    img = make_raw(server, "boot.raw")
    img["url"] += "?sig=s3cret"  # a signed URL: its query is never shown in an error
    good = (server.root / "boot.raw").read_bytes()
    create_on(d, "root", img)
    d.ok("POST", "/v1/pools/images/volumes/root/clone", {"name": "layer2", "mode": "overlay"})
    base = d.state_dir / "images" / img["sha512"]
    define_on(d, "g-root", "root")
    define_on(d, "g-layer2", "layer2")

    # bytes flipped: found by its hash (the chain is followed through the overlay), fetched again
    ev = Events(d)
    flip_bytes(base)
    start_result(d, "g-layer2")
    assert server.gets == {"/boot.raw?sig=s3cret": 2}, server.gets
    assert base.read_bytes() == good
    e = ev.next_of("image-corrupt")
    assert "sha512" in e["reason"], e
    ev.close()

    # removed by an admin: the next start fetches it again
    base.unlink()
    start_result(d, "g-root")
    assert server.gets == {"/boot.raw?sig=s3cret": 3}, server.gets
    assert base.read_bytes() == good

    # removed, and the image server no longer has it: one error naming the image, no VMM
    base.unlink()
    (server.root / "boot.raw").rename(server.root / "away")
    st, reply = post_start(d, "g-root")
    msg = reply["error"]["message"]
    assert st == 409 and img["sha512"][:16] in msg and f"{server.base}/boot.raw" in msg, reply
    assert "missing" in msg and "disk vda" in msg and "404" in msg and "s3cret" not in msg, reply
    assert all(x["state"] == "shutoff" for x in d.ok("GET", "/v1/domains")), "a VMM ran"
    info = d.ok("GET", f"/v1/images/{img['sha512']}")
    assert info["state"] == "missing" and info["url"] == img["url"] and not base.exists(), info
    # kept while volumes use it (a prune leaves it); back on the server, the next start has it again
    assert d.ok("POST", "/v1/images/prune")["removed"] == []
    (server.root / "away").rename(server.root / "boot.raw")
    start_result(d, "g-layer2")
    assert base.read_bytes() == good
    assert d.ok("GET", f"/v1/images/{img['sha512']}")["state"] == "ready"


def test_restart_trusts_an_unchanged_base(stratad_pool, server):
    """The file as it was hashed (inode, size, mtime, ctime) is in the store:
    after a restart an unchanged base is used without hashing it again; one
    whose file changed is hashed again, once."""
    d, pool = stratad_pool
    img = make_raw(server, "r.raw")
    create_on(d, "root", img)
    define_on(d, "g", "root")
    base = d.state_dir / "images" / img["sha512"]
    d.stop()
    d.start()
    info = d.ok("GET", f"/v1/images/{img['sha512']}")
    assert info["verified"] is True and info["hashes"] == 0, info
    create_on(d, "more", img)
    start_result(d, "g")
    assert d.ok("GET", f"/v1/images/{img['sha512']}")["hashes"] == 0
    # same bytes, but the file was touched while stratad was away: hashed once (by whoever comes first)
    d.stop()
    os.utime(base)
    d.start()
    start_result(d, "g")
    info = wait_for("the touched base hashed",
                    lambda: (lambda i: i if i["verified"] else None)(d.ok("GET", f"/v1/images/{img['sha512']}")))
    assert info["hashes"] == 1 and info["state"] == "ready", info
    create_on(d, "third", img)
    assert d.ok("GET", f"/v1/images/{img['sha512']}")["hashes"] == 1
    assert server.gets == {"/r.raw": 1}, server.gets


class OpenGate:
    """fanotify (FAN_OPEN_PERM) on one file: the first open of it by another
    process than this one is held until release(); every other open is let
    through at once. How a test holds stratad inside its hash of a base, with
    no timing."""
    FAN_CLASS_CONTENT, FAN_CLOEXEC, FAN_MARK_ADD, FAN_OPEN_PERM, FAN_ALLOW = 0x04, 0x01, 0x01, 0x10000, 0x01

    def __init__(self, path):
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p]
        self.fd = libc.fanotify_init(self.FAN_CLASS_CONTENT | self.FAN_CLOEXEC, os.O_RDONLY)
        if self.fd < 0:
            skip_loudly(f"fanotify permission events: {os.strerror(ctypes.get_errno())}")
        if libc.fanotify_mark(self.fd, self.FAN_MARK_ADD, self.FAN_OPEN_PERM, -100, str(path).encode()) < 0:
            err = ctypes.get_errno()
            os.close(self.fd)
            skip_loudly(f"fanotify_mark: {os.strerror(err)}")
        self.held, self.opened = None, threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _answer(self, efd):
        try:
            os.write(self.fd, struct.pack("iI", efd, self.FAN_ALLOW))
        finally:
            os.close(efd)

    def _serve(self):
        while True:
            try:
                buf = os.read(self.fd, 4096)
            except OSError:
                return
            for off in range(0, len(buf), 24):
                _, _, _, _, _, efd, pid = struct.unpack_from("IBBHQii", buf, off)
                if pid != os.getpid() and self.held is None:
                    self.held = efd
                    self.opened.set()
                else:
                    self._answer(efd)

    def release(self):
        if self.held is not None and self.held >= 0:
            self._answer(self.held)
            self.held = -1

    def close(self):
        self.release()
        os.close(self.fd)  # lets anything else waiting through


def test_a_start_is_not_blocked_while_another_base_is_hashed(stratad_pool, server):
    """Hashing a base lets go of stratad's lock: while base A's hash is held
    (its open, by fanotify) the API answers, A shows "verifying", a domain on
    base B starts, and a start of A's domain waits for the one hash instead of
    hashing again or failing; a second start of that domain meanwhile is told
    it is busy starting."""
    d, pool = stratad_pool
    a, b = make_raw(server, "a.raw"), make_raw(server, "b.raw")
    create_on(d, "va", a)
    create_on(d, "vb", b)
    define_on(d, "ga", "va")
    define_on(d, "gb", "vb")
    base_a = d.state_dir / "images" / a["sha512"]
    d.stop()
    os.utime(base_a)  # A must be hashed again after the restart, B not
    gate = OpenGate(base_a)
    try:
        d.start()
        assert gate.opened.wait(120), "stratad never opened base A to hash it"
        info = d.ok("GET", f"/v1/images/{a['sha512']}")
        assert info["state"] == "verifying" and info["verified"] is False, info
        start_result(d, "gb")
        assert d.ok("GET", f"/v1/images/{b['sha512']}")["hashes"] == 0

        results = {}

        def start(tag):
            results[tag] = post_start(d, "ga")

        threads = [threading.Thread(target=start, args=(t,), daemon=True) for t in ("x", "y")]
        for t in threads:
            t.start()
        wait_for("one of two starts of ga answered", lambda: results)
        (first, (st, reply)), = results.items()
        assert st == 409 and "busy: starting" in reply["error"]["message"], reply
        waiting = [t for t in threads if t.is_alive()]
        assert len(waiting) == 1, "the other start of ga should wait for A's hash"
        assert d.ok("GET", f"/v1/images/{a['sha512']}")["state"] == "verifying"
        gate.release()
        waiting[0].join(120)
        assert not waiting[0].is_alive()
        (st, reply), = [v for k, v in results.items() if k != first]
        assert st == 200 and d.ok("GET", "/v1/domains/ga")["state"] == "running", reply
        d.ok("POST", "/v1/domains/ga/destroy")
        info = d.ok("GET", f"/v1/images/{a['sha512']}")
        assert info["state"] == "ready" and info["verified"] is True and info["hashes"] == 1, info
    finally:
        gate.close()


def test_host_in_a_network_namespace(netd, tmp_path):
    """The issue's setting: stratad in a network namespace of its own
    (unshare -n) reaches the image server over a veth pair, and two
    overlays made at once cost one GET."""
    need_qemu_img()
    d = netd
    tag = os.urandom(3).hex()
    host_end, ns_end = f"ich{tag}", f"icn{tag}"
    subprocess.run(["ip", "link", "add", host_end, "type", "veth", "peer", "name", ns_end], check=True)
    try:
        subprocess.run(["ip", "link", "set", ns_end, "netns", str(d.proc.pid)], check=True)
        subprocess.run(["ip", "addr", "add", "169.254.77.1/30", "dev", host_end], check=True)
        subprocess.run(["ip", "link", "set", host_end, "up"], check=True)
        in_ns(d, "ip", "addr", "add", "169.254.77.2/30", "dev", ns_end)
        in_ns(d, "ip", "link", "set", ns_end, "up")
        srv = start_server(tmp_path / "www", "169.254.77.1")
        try:
            img = make_qcow2(srv, "ns.qcow2")
            d.ok("POST", "/v1/pools", {"name": "images", "type": "dir", "path": str(tmp_path / "pool")})
            results = {}

            def create(name):
                results[name] = d.call("POST", "/v1/pools/images/volumes", {"name": name, "image": img})

            threads = [threading.Thread(target=create, args=(n,)) for n in ("a", "b")]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            assert all(results[n][0] == 201 for n in "ab"), results
            assert srv.gets == {"/ns.qcow2": 1}, srv.gets
            base = d.state_dir / "images" / img["sha512"]
            for n in "ab":
                assert qemu_info(tmp_path / "pool" / n)["backing-filename"] == str(base)
                qemu_check(tmp_path / "pool" / n)
        finally:
            stop_server(srv)
    finally:
        subprocess.run(["ip", "link", "del", host_end], capture_output=True)
