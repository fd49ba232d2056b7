"""Bad input: each case gets a 4xx JSON error (or a clear CLI error and a
nonzero exit) and changes nothing."""
import sqlite3
import threading

import pytest

from hostlib import guest, stratad  # noqa: F401  (fixture)


def snapshot(d):
    db = sqlite3.connect(d.state_dir / "stratad.db")
    rows = db.execute("SELECT uuid, name, def, autostart FROM domains ORDER BY name").fetchall()
    rt = db.execute("SELECT uuid, state, vm_pid FROM runtime ORDER BY uuid").fetchall()
    db.close()
    return rows, rt, d.ok("GET", "/v1/domains")


def good(name="base"):
    return {"name": name, "memory_mib": 16, "os": {"kernel": guest("pwrbtn")}}


def refused(d, status_wanted, method, path, **kw):
    before = snapshot(d)
    status, reply = d.call(method, path, **kw)
    assert status == status_wanted, reply
    assert isinstance(reply, dict) and reply["error"]["code"] == status_wanted and reply["error"]["message"]
    assert snapshot(d) == before
    return reply["error"]["message"]


@pytest.fixture
def d(stratad):
    stratad.ok("POST", "/v1/domains", good())
    return stratad


def test_invalid_json(d):
    msg = refused(d, 400, "POST", "/v1/domains", raw=b'{"name": "x", ', headers={"Content-Type": "application/json"})
    assert "invalid JSON" in msg
    refused(d, 400, "POST", "/v1/domains", raw=b'[1, 2]', headers={"Content-Type": "application/json"})
    refused(d, 400, "POST", "/v1/domains", raw=b'{"name": "a", "name": "b"}',
            headers={"Content-Type": "application/json"})


def test_invalid_xml(d):
    msg = refused(d, 400, "POST", "/v1/domains", raw=b"<domain><name>x</name>", headers={"Content-Type": "application/xml"})
    assert "invalid XML" in msg
    refused(d, 400, "POST", "/v1/domains", raw=b"<network><name>x</name></network>",
            headers={"Content-Type": "application/xml"})
    # an external entity is neither fetched nor expanded
    xxe = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]><domain><name>&e;</name></domain>'
    refused(d, 400, "POST", "/v1/domains", raw=xxe, headers={"Content-Type": "application/xml"})


def test_unknown_fields(d):
    for body in ({**good("u1"), "colour": "blue"}, {**good("u2"), "os": {"kernel": guest("pwrbtn"), "bios": "x"}},
                 {**good("u3"), "disks": [{"path": guest("hello"), "cache": "none"}]}):
        assert "unknown field" in refused(d, 400, "POST", "/v1/domains", body=body)
    xml = f"<domain><name>u4</name><os><kernel>{guest('pwrbtn')}</kernel></os><blkiotune/></domain>".encode()
    assert "not supported" in refused(d, 400, "POST", "/v1/domains", raw=xml,
                                      headers={"Content-Type": "application/xml"})


def test_bad_values(d):
    for body in ({**good("v1"), "memory_mib": 1}, {**good("v2"), "vcpus": 0}, {**good("v3"), "vcpus": "2"},
                 {**good("../v4")}, {**good("v5"), "uuid": "not-a-uuid"}, {"name": "v6"},
                 {**good("v7"), "os": {"kernel": "relative/path"}},
                 {**good("v8"), "interfaces": [{"type": "network", "source": "x", "mac": "01:00:00:00:00:01"}]}):
        refused(d, 400, "POST", "/v1/domains", body=body)


def test_duplicate_names_and_uuids(d):
    assert "already exists" in refused(d, 409, "POST", "/v1/domains", body=good())
    uuid = d.ok("GET", "/v1/domains/base")["uuid"]
    refused(d, 409, "POST", "/v1/domains", body={**good("other"), "uuid": uuid.upper()})


def test_missing_disks(d):
    body = {**good("nodisk"), "disks": [{"path": "/nonexistent/disk.img"}]}
    assert "No such file" in refused(d, 400, "POST", "/v1/domains", body=body)
    body = {**good("nodisk"), "disks": [{"pool": "nopool", "volume": "v"}]}
    refused(d, 400, "POST", "/v1/domains", body=body)


def test_volume_names_cannot_escape(d, tmp_path):
    d.ok("POST", "/v1/pools", {"name": "p", "path": str(tmp_path / "pool")})
    (tmp_path / "secret").write_text("outside")
    for name in ("../secret", "..", ".hidden", "a/b", "-x"):
        status, reply = d.call("POST", "/v1/pools/p/volumes", body={"name": name, "capacity": 1024})
        assert status == 400, (name, reply)
    # through the URL too: %2e%2e%2f is decoded and then refused as a name
    for path in ("/v1/pools/p/volumes/..%2Fsecret", "/v1/pools/p/volumes/%2e%2e%2fsecret/data"):
        status, _ = d.call("GET", path)
        assert status in (400, 404)
        status, _ = d.call("DELETE", path)
        assert status in (400, 404, 405)
    status, _ = d.call("PUT", "/v1/pools/p/volumes/..%2Fsecret/data", raw=b"overwrite")
    assert status in (400, 404)
    assert (tmp_path / "secret").read_text() == "outside"
    assert sorted(p.name for p in (tmp_path / "pool").iterdir()) == []
    body = {**good("escape"), "disks": [{"pool": "p", "volume": "../secret"}]}
    refused(d, 400, "POST", "/v1/domains", body=body)


def test_oversized_body(d):
    import json
    import socket
    # announced too large: refused before the body is read
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(d.sock)
    sock.sendall(b"POST /v1/domains HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 104857600\r\n\r\n")
    reply = b""
    while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        reply += chunk
    sock.close()
    assert reply.startswith(b"HTTP/1.1 413")
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["error"]["code"] == 413
    # streamed without a length (chunked): read, counted, refused
    big = b'{"name": "big", "pad": "' + b"x" * (2 << 20) + b'"}'
    before = snapshot(d)
    status, reply = d.call("POST", "/v1/domains", raw=(big[i:i + 65536] for i in range(0, len(big), 65536)),
                           headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    assert status == 413 and reply["error"]["code"] == 413
    assert snapshot(d) == before


def test_unknown_endpoint_and_method(d):
    assert d.call("GET", "/v1/nothing")[0] == 404
    assert d.call("GET", "/nothing")[0] == 404
    assert d.call("PATCH", "/v1/domains/base")[0] == 405
    assert d.call("POST", "/v1/domains/nosuch/start")[0] == 404
    assert d.call("GET", "/v1/domains?state=bogus")[0] == 400


def test_state_conflicts(d):
    refused(d, 409, "POST", "/v1/domains/base/suspend")
    refused(d, 409, "POST", "/v1/domains/base/shutdown")
    refused(d, 409, "POST", "/v1/domains/base/destroy")
    d.ok("POST", "/v1/domains/base/start")
    refused(d, 409, "POST", "/v1/domains/base/start")
    refused(d, 409, "POST", "/v1/domains/base/resume")
    refused(d, 409, "DELETE", "/v1/domains/base")
    d.ok("POST", "/v1/domains/base/destroy")


def race(d, calls):
    results = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i, method, path):
        barrier.wait()
        results[i] = d.call(method, path)[0]
    threads = [threading.Thread(target=run, args=(i, m, p)) for i, (m, p) in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.needs_kvm  # starts guests from threads or at stratad's start
def test_concurrent_start_twice(d):
    for _ in range(3):
        results = race(d, [("POST", "/v1/domains/base/start")] * 2)
        assert sorted(results) == [200, 409]
        assert len(d.vmm_pids()) == 1
        d.ok("POST", "/v1/domains/base/destroy")
        assert d.vmm_pids() == []


@pytest.mark.needs_kvm  # starts guests from threads or at stratad's start
def test_concurrent_undefine_while_starting(d):
    for i in range(3):
        d.ok("POST", "/v1/domains", good(f"race{i}"))
        start, undef = race(d, [("POST", f"/v1/domains/race{i}/start"), ("DELETE", f"/v1/domains/race{i}")])
        # one of the two wins; the other sees the result and is refused
        assert (start, undef) in ((200, 409), (404, 200))
        status, info = d.call("GET", f"/v1/domains/race{i}")
        if start == 200:
            assert info["state"] == "running" and len(d.vmm_pids()) == 1
            d.ok("POST", f"/v1/domains/race{i}/destroy")
            d.ok("DELETE", f"/v1/domains/race{i}")
        else:
            assert status == 404 and d.vmm_pids() == []


def test_read_only_users(d):
    """uid 65534 (not root, not in the strata group) may look, not touch;
    refused writes are audited with the uid."""
    import os
    os.chmod(d.state_dir, 0o711)  # mkdtemp made it 0700; stratad's own default is 0711
    assert "base" in d.cli("list", "--all", user=65534).stdout
    r = d.cli("start", "base", user=65534, check=False)
    assert r.returncode == 1 and "read-only access" in r.stderr
    r = d.cli("undefine", "base", user=65534, check=False)
    assert r.returncode == 1
    assert d.ok("GET", "/v1/domains/base")["state"] == "shutoff"
    audit = d.ok("GET", "/v1/audit")
    assert {"uid": 65534, "method": "POST", "path": "/v1/domains/base/start", "status": 403}.items() <= audit[-2].items()
    assert audit[-1]["method"] == "DELETE" and audit[-1]["uid"] == 65534 and audit[-1]["status"] == 403
    assert audit[0]["uid"] == 0 and audit[0]["path"] == "/v1/domains" and audit[0]["pid"] > 0
    # the console is full access only, upgraded or not
    d.ok("POST", "/v1/domains/base/start")
    r = d.cli("console", "base", user=65534, check=False, input="")
    assert r.returncode == 1 and r.stderr == "strata: error: the console needs full access\n", r.stderr


def test_cli_errors(d, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": ')
    r = d.cli("define", bad, check=False)
    assert r.returncode == 1 and r.stderr.startswith("strata: error: invalid JSON") and r.stderr.count("\n") == 1
    r = d.cli("start", "nosuch", check=False)
    assert r.returncode == 1 and r.stderr == "strata: error: no domain named 'nosuch'\n"
    r = d.cli("start", check=False)
    assert r.returncode == 2 and "usage" in r.stderr
    r = d.cli("list", "--bogus", check=False)
    assert r.returncode == 2
    r = d.cli("--socket", "/nonexistent.sock", "list", check=False)
    assert r.returncode == 1 and "cannot connect to stratad" in r.stderr


def test_strata_group_has_full_access(d):
    """A member of the `strata` group (here as a supplementary group) may
    change things. The group is created for the test when the host lacks it."""
    import grp
    import os
    import shutil
    import subprocess
    if os.geteuid() != 0 or not shutil.which("groupadd"):
        from conftest import skip_loudly
        skip_loudly("creating the strata group needs root and groupadd")
    created = False
    try:
        gid = grp.getgrnam("strata").gr_gid
    except KeyError:
        subprocess.run(["groupadd", "--system", "strata"], check=True)
        created = True
        gid = grp.getgrnam("strata").gr_gid
    try:
        os.chmod(d.state_dir, 0o711)
        r = d.cli("start", "base", user=65534, check=False)
        assert r.returncode == 1 and "read-only" in r.stderr
        from conftest import program
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", f"--groups={gid}",
                            str(program("src", "cli", "strata")), "--socket", d.sock, "start", "base"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert d.ok("GET", "/v1/domains/base")["state"] == "running"
        last = d.ok("GET", "/v1/audit")[-1]
        assert (last["uid"], last["path"], last["status"]) == (65534, "/v1/domains/base/start", 200)
        d.ok("POST", "/v1/domains/base/destroy")
    finally:
        if created:
            subprocess.run(["groupdel", "strata"], check=False)


def test_vmm_refuses_the_kernel(d, tmp_path):
    """A kernel file that is no kernel: strata-vm exits 1 at start; the API
    says why (the VMM's own line), and nothing stays behind."""
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x7fELF" + b"\0" * 60)
    d.ok("POST", "/v1/domains", {"name": "junk", "memory_mib": 16, "os": {"kernel": str(junk)}})
    status, reply = d.call("POST", "/v1/domains/junk/start")
    assert status == 500 and "the VMM exited at start: strata-vm: error:" in reply["error"]["message"]
    assert d.ok("GET", "/v1/domains/junk")["state"] == "shutoff" and d.vmm_pids() == []
    assert snapshot(d)[1] == []  # no runtime row
    assert sorted(p.name for p in (d.state_dir / "run").iterdir()) == []


def test_console_of_a_stopped_domain(d):
    """An upgrade request for a console that is not there is an ordinary
    JSON error: the connection is not switched."""
    r = d.cli("console", "base", check=False, input="")
    assert r.returncode == 1 and r.stderr == "strata: error: domain 'base' is not running\n", r.stderr
    status, reply = d.call("GET", "/v1/domains/base/console",
                           headers={"Connection": "Upgrade", "Upgrade": "strata-console"})
    assert status == 409 and "not running" in reply["error"]["message"]
    status, reply = d.call("GET", "/v1/domains/nosuch/console",
                           headers={"Connection": "Upgrade", "Upgrade": "strata-console"})
    assert status == 404


def test_encoded_slash_and_nul_in_names(d):
    """Issue 13 item 7: names are routed on the raw path; an encoded '/' or NUL
    in one is a 400 (both reached other domains before: DELETE
    /v1/domains/base%00junk undefined base, POST /v1/domains/base%2Fstart
    started it)."""
    msg = refused(d, 400, "DELETE", "/v1/domains/base%00junk")
    assert "NUL" in msg
    msg = refused(d, 400, "GET", "/v1/pools/a%2Fb/volumes")
    assert "'/'" in msg
    # routed on the raw path: "base%2Fstart" is one name, not base + start
    refused(d, 400, "POST", "/v1/domains/base%2Fstart")
    # a name that is not UTF-8 still gets a JSON error body (it was {})
    status, reply = d.call("GET", "/v1/domains/%FF%FE")
    assert status == 404 and reply["error"]["code"] == 404 and "no domain" in reply["error"]["message"]
    assert d.ok("GET", "/v1/domains/base")["state"] == "shutoff"
