"""Issue 13 item 4: strata never dies of SIGPIPE; a server that hangs up is
one error line."""
import os
import socket
import subprocess
import threading

from conftest import program
from hostlib import short_tmpdir


class FakeServer:
    """A unix socket server that reads `read_first` bytes of a request, then
    sends `reply` (if any) and closes the connection."""

    def __init__(self, path, read_first, reply=b""):
        self.path = path
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(4)
        self.read_first = read_first
        self.reply = reply
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        conn, _ = self.listener.accept()
        got = b""
        while len(got) < self.read_first:
            chunk = conn.recv(self.read_first - len(got))
            if not chunk:
                break
            got += chunk
        if self.reply:
            conn.sendall(self.reply)
        conn.close()

    def close(self):
        self.thread.join(30)
        self.listener.close()


def strata(sock, *args):
    return subprocess.run([str(program("src", "cli", "strata")), "--socket", sock] + list(args),
                          capture_output=True, text=True, timeout=120)


def one_error_line(r):
    assert r.returncode == 1, f"strata exited {r.returncode} (a signal if negative): {r.stderr!r}"
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("strata: error: "), r.stderr


def test_cli_survives_a_server_that_hangs_up_during_an_upload(tmp_path):
    """Item 4: a closed connection while strata writes killed it with SIGPIPE,
    without a word."""
    d = short_tmpdir()
    sock = os.path.join(d, "s.sock")
    srv = FakeServer(sock, read_first=64)
    big = tmp_path / "big.raw"
    big.write_bytes(b"\0" * (8 << 20))
    try:
        r = strata(sock, "vol-upload", "v.raw", str(big), "--pool", "p")
    finally:
        srv.close()
        os.unlink(sock)
        os.rmdir(d)
    one_error_line(r)
    assert "closed the connection" in r.stderr, r.stderr


def test_cli_reports_a_reply_cut_short(tmp_path):
    d = short_tmpdir()
    sock = os.path.join(d, "s.sock")
    srv = FakeServer(sock, read_first=16,
                     reply=b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n[{\"na")
    try:
        r = strata(sock, "list", "--all")
    finally:
        srv.close()
        os.unlink(sock)
        os.rmdir(d)
    one_error_line(r)
