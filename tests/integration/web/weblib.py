"""Helpers for the web UI's tests: a stratad serving the page on TCP (and its
unix socket), a plain HTTP client that keeps a cookie, and throwaway host
accounts for the PAM login."""
import grp
import http.client
import json
import os
import pwd
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "host"))
from conftest import ROOT, skip_loudly, wait_for  # noqa: E402,F401  (wait_for: for the web tests)
from hostlib import Stratad, cleanup, free_port, short_tmpdir  # noqa: E402,F401

TOKEN = "web-test-token-0123456789abcdef"
RESULTS = ROOT / "build" / "test-results" / "web"  # screenshots


class WebStratad(Stratad):
    """stratad with --listen-tcp on a free loopback port: what a browser talks to."""

    def __init__(self, state_dir, extra_args=(), wrapper=(), pki=None):
        """pki: pkilib.make_pki()'s certificates: HTTPS on TCP, clients trusting its CA."""
        self.port = free_port()
        self.pki = pki
        token = Path(state_dir) / "token"
        token.write_text(TOKEN + "\n")
        token.chmod(0o600)
        tls = ["--tls-cert", str(pki["cert"]), "--tls-key", str(pki["key"])] if pki else []
        super().__init__(state_dir, ["--listen-tcp", f"127.0.0.1:{self.port}", "--token-file", str(token)]
                         + tls + list(extra_args), wrapper)

    @property
    def origin(self):
        return f"{'https' if self.pki else 'http'}://127.0.0.1:{self.port}"

    def tcp(self, method, path, body=None, headers=None, raw=None):
        """One request on TCP: (status, headers dict (lower-case names), body as JSON or bytes)."""
        if self.pki:
            ctx = ssl.create_default_context(cafile=str(self.pki["ca"]))
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=60, context=ctx)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        hdrs = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        text = resp.read()
        got = {k.lower(): v for k, v in resp.getheaders()}
        conn.close()
        if "json" in got.get("content-type", "") and text:
            return resp.status, got, json.loads(text)
        return resp.status, got, text

    def raw_tcp(self, request: bytes):
        """A request written byte for byte (paths no client library would send); the status line's code."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=60) as s:
            s.sendall(request)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), head.decode(errors="replace"), body


@pytest.fixture
def webd():
    d = WebStratad(short_tmpdir()).start()
    yield d
    cleanup(d)


class Session:
    """A logged-in client: the cookie and the CSRF token, sent as the page sends them."""

    def __init__(self, d, user, password):
        self.d = d
        status, hdrs, body = d.tcp("POST", "/v1/session", {"user": user, "password": password},
                                   headers={"Origin": d.origin})
        assert status == 201, (status, body)
        self.set_cookie = hdrs["set-cookie"]
        self.cookie = self.set_cookie.split(";")[0]
        self.csrf = body["csrf_token"]
        self.info = body

    def call(self, method, path, body=None, headers=None, csrf=True, origin=True):
        hdrs = {"Cookie": self.cookie}
        if csrf and method not in ("GET", "HEAD"):
            hdrs["X-CSRF-Token"] = self.csrf
        if origin and method not in ("GET", "HEAD"):
            hdrs["Origin"] = self.d.origin
        hdrs.update(headers or {})
        return self.d.tcp(method, path, body, hdrs)


def pam_ready():
    if os.geteuid() != 0:
        skip_loudly("the web login tests need root (PAM reads /etc/shadow; they create host users)")
    for tool in ("useradd", "userdel", "chpasswd", "groupadd", "groupdel"):
        if not shutil.which(tool):
            skip_loudly(f"{tool} is not installed")
    if not Path("/etc/pam.d/strata").exists():
        skip_loudly("/etc/pam.d/strata is missing: run scripts/install-deps.sh (it runs scripts/install-web.sh)")


class HostUsers:
    """Throwaway host accounts (useradd + chpasswd), removed at the end, and
    the `strata` group when the host lacked it."""

    def __init__(self):
        pam_ready()
        self.made = []
        self.made_group = False

    def strata_group(self):
        try:
            grp.getgrnam("strata")
        except KeyError:
            subprocess.run(["groupadd", "--system", "strata"], check=True)
            self.made_group = True
        return "strata"

    def add(self, full_access=False):
        name = "stw" + secrets.token_hex(4)
        password = "pw-" + secrets.token_urlsafe(12)
        cmd = ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin"]
        if full_access:
            cmd += ["--groups", self.strata_group()]
        subprocess.run(cmd + [name], check=True, capture_output=True)
        self.made.append(name)
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
        return name, password, pwd.getpwnam(name).pw_uid

    def remove(self):
        for name in self.made:
            subprocess.run(["userdel", name], check=False, capture_output=True)
        if self.made_group:
            subprocess.run(["groupdel", "strata"], check=False, capture_output=True)


@pytest.fixture
def users():
    u = HostUsers()
    yield u
    u.remove()


