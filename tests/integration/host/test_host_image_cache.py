"""Issue 16 (on the hosts): stratad's image cache. A base image is fetched
once per host (keyed by its SHA-512) from a loopback HTTP server that counts
its GETs, kept read-only in STATE/images, and shared by volumes that are
qcow2 overlays on it (qemu-img check and info agree); two requests at once
make one download; the cache survives a restart; a corrupted or truncated
base is found by its hash or size and fetched again; unused bases go by age
and by size, a base in use never. Nothing here boots a guest."""
import functools
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import threading
import time

import pytest

from conftest import skip_loudly, wait_for
from hostlib import Events, Stratad, UnixHTTPConnection, cleanup, guest, in_ns, netd, short_tmpdir  # noqa: F401

MIB = 1 << 20


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
    d = daemon("--image-cache-interval", "3600")
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
        e = ev.next()
        while e["event"] != "image-corrupt":
            e = ev.next()
        assert "sha512" in e["reason"], e
        ev.close()

        # bytes flipped while stratad is away: found by its hash after the restart
        d.stop()
        flip_bytes(base)
        d.start()
        create_on(d, "d", img)
        assert server.gets == {path: 3}, server.gets
        assert base.read_bytes() == good

        # truncated while stratad is away: found by its size at start
        d.stop()
        os.truncate(base, 1000)
        d.start()
        assert d.ok("GET", "/v1/images") == [], "a truncated base was kept"
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
        assert not base.exists() and d.ok("GET", "/v1/images") == []
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
    """POST .../start without hostlib's guard: the start must be refused
    before any VMM runs, so no guest is needed (a start that got through
    would fail differently here, without /dev/kvm)."""
    conn = UnixHTTPConnection(d.sock)
    conn.request("POST", f"/v1/domains/{name}/start")
    resp = conn.getresponse()
    reply = json.loads(resp.read())
    conn.close()
    return resp.status, reply


def test_start_refused_on_a_corrupt_base(stratad_pool, server):
    d, pool = stratad_pool
    img = make_raw(server, "boot.raw")
    create_on(d, "root", img)
    d.ok("POST", "/v1/pools/images/volumes/root/clone", {"name": "layer2", "mode": "overlay"})
    base = d.state_dir / "images" / img["sha512"]
    for vol in ("root", "layer2"):
        d.ok("POST", "/v1/domains", {"name": f"g-{vol}", "os": {"kernel": guest("pwrbtn")},
                                     "disks": [{"pool": "images", "volume": vol, "target": "vda"}]})
    flip_bytes(base)
    # the overlay on an overlay on the base: the chain is followed to it
    st, reply = post_start(d, "g-layer2")
    assert st == 409 and "was corrupt" in reply["error"]["message"] and "disk vda" in reply["error"]["message"], reply
    assert not base.exists()
    st, reply = post_start(d, "g-root")
    assert st == 409 and "not in the image cache" in reply["error"]["message"], reply
    assert d.vmm_pids() == [] and all(x["state"] == "shutoff" for x in d.ok("GET", "/v1/domains"))
    # fetched again by the next request that names it: the overlays have their base back
    create_on(d, "root2", img)
    assert base.read_bytes() == (server.root / "boot.raw").read_bytes()


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
