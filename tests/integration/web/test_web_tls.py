"""stratad over HTTPS (--tls-cert/--tls-key): the session cookie gets Secure,
the Origin check wants https://, a real Chromium trusting a throwaway CA logs
in and changes something, bad TLS setups stop stratad with one error line, and
off loopback without certificate files stratad makes and keeps its own."""
import http.client
import json
import shutil
import ssl
import stat
import subprocess
from pathlib import Path

import pytest

from browser import browser, by_css, login, quit, row_texts, wait_css, wait_text
from conftest import program
from pkilib import make_pki
from weblib import Session, Stratad, WebStratad, cleanup, free_port, short_tmpdir, users, wait_for  # noqa: F401


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def tlsd(pki):
    d = WebStratad(short_tmpdir(), pki=pki).start()
    yield d
    cleanup(d)


def test_https_session_cookie_is_secure(tlsd, users, tmp_path):
    name, password, uid = users.add(full_access=True)
    s = Session(tlsd, name, password)
    flags = [f.strip() for f in s.set_cookie.split(";")]
    assert {"HttpOnly", "SameSite=Strict", "Secure"} <= set(flags), flags
    status, _, me = s.call("GET", "/v1/session")
    assert status == 200 and me["uid"] == uid
    pool = {"name": "p1", "type": "dir", "path": str(tmp_path)}
    # the page's origin is https://...: the same host and port over http:// is another origin
    status, _, body = s.call("POST", "/v1/pools", pool, headers={"Origin": f"http://127.0.0.1:{tlsd.port}"})
    assert status == 403 and "cross-origin" in body["error"]["message"]
    status, _, body = s.call("POST", "/v1/pools", pool)
    assert status == 201, body
    assert [p["name"] for p in tlsd.ok("GET", "/v1/pools")] == ["p1"]
    # plain HTTP on the TLS port gets no API answer
    conn = http.client.HTTPConnection("127.0.0.1", tlsd.port, timeout=30)
    try:
        conn.request("GET", "/v1/session")
        status = conn.getresponse().status
    except (http.client.HTTPException, OSError):
        status = None
    finally:
        conn.close()
    assert status in (None, 400), status


def test_browser_over_https(tlsd, users, pki, tmp_path):
    pooldir = tmp_path / "pool"
    pooldir.mkdir()
    tlsd.ok("POST", "/v1/pools", {"name": "images", "type": "dir", "path": str(pooldir)})
    name, password, _ = users.add(full_access=True)
    untrusting = browser()  # the system's CAs only: the throwaway CA's server is refused
    try:
        untrusting.get(tlsd.origin + "/")
        assert by_css(untrusting, "form[aria-label='Log in']") == []
    finally:
        quit(untrusting)
    drv = browser(ca=pki["ca"])
    try:
        login(drv, tlsd, name, password)
        wait_text(drv, "#who", name)
        c = {c["name"]: c for c in drv.get_cookies()}["strata_session"]
        assert c["secure"] is True and c["httpOnly"] is True and c["sameSite"] == "Strict"
        # a change through the page: the Origin and CSRF checks pass over https
        drv.get(tlsd.origin + "/#/storage")
        form = wait_css(drv, "form[aria-label='New volume in images']")
        form.find_element("css selector", "input[name=name]").send_keys("disk1")
        form.find_element("css selector", "input[name=capacity]").send_keys("16M")
        form.find_element("css selector", "button[type=submit]").click()
        wait_for("the volume", lambda: tlsd.call("GET", "/v1/pools/images/volumes/disk1")[0] == 200)
        wait_for("the volume in the table", lambda: "disk1" in row_texts(drv, "section[data-pool=images] table"))
        by_css(drv, "#logout")[0].click()
        wait_text(drv, "#login-error", "Logged out.")
        status, _, _ = tlsd.tcp("GET", "/v1/host", headers={"Cookie": f"strata_session={c['value']}"})
        assert status == 401
    finally:
        quit(drv)


def stratad_fails(args, expect):
    """stratad exits at once, nonzero, with one error line containing expect."""
    d = short_tmpdir()
    r = subprocess.run([str(program("src", "host", "stratad")), "-d", d, *args],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0, (args, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("stratad: "), (args, r.stderr)
    assert expect in lines[0], (args, lines[0])


def test_bad_tls_setups_refused(pki, tmp_path):
    token = tmp_path / "token"
    token.write_text("0123456789abcdef0123\n")
    token.chmod(0o600)
    port = free_port()
    tcp = ["--token-file", str(token), "--listen-tcp"]
    cert, key = ["--tls-cert", str(pki["cert"])], ["--tls-key", str(pki["key"])]
    stratad_fails([*tcp, f"127.0.0.1:{port}", *key], "--tls-cert and --tls-key go together")
    stratad_fails([*tcp, f"127.0.0.1:{port}", *cert], "--tls-cert and --tls-key go together")
    stratad_fails([*cert, *key], "with --listen-tcp")
    stratad_fails([*tcp, f"127.0.0.1:{port}", *cert, "--tls-key", str(pki["dir"] / "other-ca.key")],
                  "TLS certificate")
    stratad_fails([*tcp, f"127.0.0.1:{port}", *cert, "--tls-key", str(tmp_path / "missing")], "TLS key")


def https_get(port, cafile, path="/v1/session"):
    ctx = ssl.create_default_context(cafile=str(cafile))
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=60, context=ctx)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read()), conn.sock.getpeercert(binary_form=True)
    finally:
        conn.close()


def test_self_signed_certificate_off_loopback(pki, tmp_path):
    """--listen-tcp off loopback without --tls-cert: stratad makes its own
    certificate on the first start, keeps it, and takes a replacement."""
    state = Path(short_tmpdir())
    token = state / "token"
    token.write_text("0123456789abcdef0123\n")
    token.chmod(0o600)
    port = free_port()
    d = Stratad(state, ["--listen-tcp", f"0.0.0.0:{port}", "--token-file", str(token)]).start()
    try:
        cert, key = state / "tls" / "stratad.crt", state / "tls" / "stratad.key"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600 and stat.S_IMODE((state / "tls").stat().st_mode) == 0o700
        status, body, der = https_get(port, cert)  # verified against the certificate itself, 127.0.0.1 in its names
        assert status == 200 and body["logged_in"] is False
        assert der == ssl.PEM_cert_to_DER_cert(cert.read_text())
        with pytest.raises(ssl.SSLError):
            https_get(port, pki["ca"])  # a client trusting something else refuses it
        first = cert.read_bytes()
        d.stop()
        d.start()
        assert cert.read_bytes() == first and https_get(port, cert)[2] == der  # kept, not made again
        # replaced by one's own: the next start serves that one
        d.stop()
        shutil.copy(pki["cert"], cert)
        shutil.copy(pki["key"], key)
        d.start()
        status, _, der2 = https_get(port, pki["ca"])
        assert status == 200 and der2 == ssl.PEM_cert_to_DER_cert(pki["cert"].read_text())
    finally:
        cleanup(d)
