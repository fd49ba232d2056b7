"""Issue 16 (on the hosts): POST /v1/pools/P/volumes {"name", "source":
{"url", "sha512"}, "format"} makes a volume from an HTTP(S) URL, streamed to
a hidden file and renamed into place only when the SHA-512 matches, with
progress in the event stream; `strata vol-create-from`. The server is
Python's http.server on loopback."""
import functools
import hashlib
import http.server
import os
import shutil
import subprocess
import threading

import pytest

from conftest import skip_loudly
from hostlib import Events, stratad  # noqa: F401  (fixture)


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def pool(stratad, tmp_path):
    path = tmp_path / "images"
    stratad.ok("POST", "/v1/pools", {"name": "images", "type": "dir", "path": str(path)})
    return stratad, path


def sha512(data):
    return hashlib.sha512(data).hexdigest()


def test_volume_from_url(pool, server):
    d, path = pool
    root, base = server
    data = os.urandom(5 << 20) + b"\0" * (1 << 20)
    (root / "disk.img").write_bytes(data)
    ev = Events(d)
    try:
        info = d.ok("POST", "/v1/pools/images/volumes",
                    {"name": "fetched", "source": {"url": f"{base}/disk.img", "sha512": sha512(data)}})
        assert info["format"] == "raw" and info["capacity"] == len(data), info
        assert (path / "fetched").read_bytes() == data
        seen = []
        while not seen or seen[-1]["event"] != "volume-uploaded":
            e = ev.next()
            if e["name"] == "fetched":
                seen.append(e)
        assert seen[0]["event"] == "volume-fetch-started", seen
        progress = [e for e in seen[1:-1]]
        assert progress and all(e["event"] == "volume-progress" for e in progress), seen
        assert progress[-1]["bytes_done"] == progress[-1]["bytes_total"] == len(data), progress
        assert all(a["bytes_done"] <= b["bytes_done"] for a, b in zip(progress, progress[1:]))
    finally:
        ev.close()


def test_volume_from_url_refusals_leave_nothing(pool, server):
    d, path = pool
    root, base = server
    data = os.urandom(1 << 20)
    (root / "disk.img").write_bytes(data)
    good = {"url": f"{base}/disk.img", "sha512": sha512(data)}

    st, reply = d.call("POST", "/v1/pools/images/volumes",
                       {"name": "bad", "source": {**good, "sha512": sha512(b"other")}})
    assert st == 400 and "sha512 mismatch" in reply["error"]["message"], reply
    st, reply = d.call("POST", "/v1/pools/images/volumes",
                       {"name": "bad", "source": {**good, "url": f"{base}/missing.img"}})
    assert st == 502 and "404" in reply["error"]["message"], reply
    for url in ("file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://x"):
        st, reply = d.call("POST", "/v1/pools/images/volumes", {"name": "bad", "source": {**good, "url": url}})
        assert st == 400 and "http:// or https://" in reply["error"]["message"], reply
    st, reply = d.call("POST", "/v1/pools/images/volumes",
                       {"name": "bad", "source": {**good, "sha512": "xyz"}})
    assert st == 400 and "128 hex digits" in reply["error"]["message"], reply
    st, reply = d.call("POST", "/v1/pools/images/volumes", {"name": "bad", "source": {**good, "size": 1}})
    assert st == 400, reply
    assert os.listdir(path) == [] and d.ok("GET", "/v1/pools/images/volumes") == []

    d.ok("POST", "/v1/pools/images/volumes", {"name": "v", "source": good})
    st, reply = d.call("POST", "/v1/pools/images/volumes", {"name": "v", "source": good})
    assert st == 409 and "already exists" in reply["error"]["message"], reply
    assert os.listdir(path) == ["v"] and (path / "v").read_bytes() == data


def test_volume_from_url_qcow2_and_cli(pool, server, tmp_path):
    if not shutil.which("qemu-img"):
        skip_loudly("qemu-img (qemu-utils) is not installed: no qcow2 image to serve")
    d, path = pool
    root, base = server
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(root / "base.qcow2"), "64M"], check=True)
    q = (root / "base.qcow2").read_bytes()
    r = d.cli("vol-create-from", "images", "base.qcow2", "--url", f"{base}/base.qcow2", "--sha512", sha512(q),
              "--format", "qcow2")
    assert "created" in r.stdout
    info = d.ok("GET", "/v1/pools/images/volumes/base.qcow2")
    assert info["format"] == "qcow2" and info["capacity"] == 64 << 20
    r = d.cli("vol-create-from", "images", "x", "--url", f"{base}/base.qcow2", "--sha512", "0" * 128, check=False)
    assert r.returncode == 1 and "sha512 mismatch" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    r = d.cli("vol-create-from", "images", "x", "--url", f"{base}/base.qcow2", check=False)
    assert r.returncode == 2 and "--sha512" in r.stderr, r.stderr
    assert sorted(os.listdir(path)) == ["base.qcow2"]
