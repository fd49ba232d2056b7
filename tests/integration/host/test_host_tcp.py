"""The API on TCP: a bearer token is required; the CLI can use it."""
import http.client
import json
import socket

from conftest import program
from hostlib import Stratad, cleanup, free_port, guest, short_tmpdir

TOKEN = "s3cret-token-0123456789abcdef"


def test_tcp_token(tmp_path):
    tok = tmp_path / "token"
    tok.write_text(TOKEN + "\n")
    port = free_port()
    d = Stratad(short_tmpdir(), extra_args=["--listen-tcp", f"127.0.0.1:{port}", "--token-file", str(tok)]).start()
    try:
        def call(method, path, token=None, body=None):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            c.request(method, path, body=json.dumps(body) if body else None, headers=headers)
            r = c.getresponse()
            return r.status, json.loads(r.read())
        assert call("GET", "/v1/domains")[0] == 401
        assert call("GET", "/v1/domains", token="wrong")[0] == 401
        assert call("GET", "/v1/domains", token=TOKEN[:-1])[0] == 401
        status, _ = call("POST", "/v1/domains", token=TOKEN,
                         body={"name": "tcp1", "memory_mib": 16, "os": {"kernel": guest("pwrbtn")}})
        assert status == 201
        import subprocess
        r = subprocess.run([str(program("src", "cli", "strata")), "--connect", f"127.0.0.1:{port}",
                            "--token-file", str(tok), "--json", "list", "--all"], capture_output=True, text=True)
        assert r.returncode == 0 and json.loads(r.stdout)[0]["name"] == "tcp1"
        r = subprocess.run([str(program("src", "cli", "strata")), "--connect", f"127.0.0.1:{port}", "list"],
                           capture_output=True, text=True)
        assert r.returncode == 1 and "Bearer" in r.stderr
    finally:
        cleanup(d)


def test_tcp_needs_token(tmp_path):
    import shutil
    d = Stratad(short_tmpdir(), extra_args=["--listen-tcp", "127.0.0.1:1"])
    try:
        d.start()
        raise AssertionError("stratad started on TCP without a token")
    except RuntimeError as e:
        assert "needs --token-file" in str(e)
    finally:
        shutil.rmtree(d.state_dir, ignore_errors=True)


def test_console_over_tcp(tmp_path):
    """The console is proxied by the API: a TCP client with the token gets
    the guest's serial stream on its own connection (HTTP upgrade)."""
    import subprocess
    import time
    tok = tmp_path / "token"
    tok.write_text(TOKEN + "\n")
    port = free_port()
    d = Stratad(short_tmpdir(), extra_args=["--listen-tcp", f"127.0.0.1:{port}", "--token-file", str(tok)]).start()
    strata = [str(program("src", "cli", "strata")), "--connect", f"127.0.0.1:{port}", "--token-file", str(tok)]
    try:
        d.ok("POST", "/v1/domains", {"name": "tcon", "memory_mib": 16, "os": {"kernel": guest("serial-echo")}})
        d.ok("POST", "/v1/domains/tcon/start")

        def upgrade(token):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            auth = f"Authorization: Bearer {token}\r\n" if token else ""
            s.sendall(f"GET /v1/domains/tcon/console HTTP/1.1\r\nHost: x\r\n{auth}Connection: Upgrade\r\n"
                      "Upgrade: strata-console\r\n\r\n".encode())
            return s
        s = upgrade(None)
        assert s.recv(4096).startswith(b"HTTP/1.1 401"), "a console without the token"
        s.close()

        deadline = time.time() + 30
        out = ""
        while time.time() < deadline and "serial-echo: ready" not in out:
            out = subprocess.run(strata + ["console", "tcon"], input="", capture_output=True, text=True,
                                 timeout=30).stdout
            time.sleep(0.2)
        assert "serial-echo: ready" in out, out
        r = subprocess.run(strata + ["console", "tcon"], input="ping\n", capture_output=True, text=True, timeout=30)
        assert "line 'ping'" in r.stdout, r.stdout + r.stderr
        r = subprocess.run(strata + ["console", "nosuch"], input="", capture_output=True, text=True, timeout=30)
        assert r.returncode == 1 and r.stderr == "strata: error: no domain named 'nosuch'\n", r.stderr
    finally:
        cleanup(d)
