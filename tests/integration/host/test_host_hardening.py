"""Issue 13: the state directory's files are private; the API socket takes a
burst of clients."""
import os
import signal
import socket
import sqlite3
import stat
import subprocess
import time

import pytest

from conftest import program
from hostlib import Stratad, cleanup, guest, short_tmpdir, stratad  # noqa: F401  (fixture)


def private(path):
    return stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0


def write_something(d, name="priv"):
    d.ok("POST", "/v1/domains", {"name": name, "memory_mib": 16, "os": {"kernel": guest("pwrbtn")}})


def test_database_files_are_private(stratad):
    """Item 6: stratad.db and its -wal/-shm were 0644 (the audit log and every
    definition readable by any local user)."""
    write_something(stratad)
    files = [stratad.state_dir / f for f in ("stratad.db", "stratad.db-wal", "stratad.db-shm")]
    for f in files:
        assert f.exists(), f
        assert private(f), f"{f} is {oct(os.stat(f).st_mode)}"


def test_world_readable_state_files_are_fixed_at_start(stratad):
    write_something(stratad)
    stratad.stop()
    db = stratad.state_dir / "stratad.db"
    os.chmod(db, 0o644)
    for extra in ("stratad.db-wal", "stratad.db-shm"):
        if (stratad.state_dir / extra).exists():
            os.chmod(stratad.state_dir / extra, 0o666)
    stratad.start()
    for f in ("stratad.db", "stratad.db-wal", "stratad.db-shm"):
        p = stratad.state_dir / f
        if p.exists():
            assert private(p), f"{p} is {oct(os.stat(p).st_mode)}"
    assert stratad.ok("GET", "/v1/domains/priv")["name"] == "priv"


def test_foreign_owned_state_file_is_refused(stratad):
    write_something(stratad)
    stratad.stop()
    db = stratad.state_dir / "stratad.db"
    os.chown(db, 65534, 65534)
    log_before = stratad.log()
    with pytest.raises(RuntimeError):
        stratad.start()
    msg = stratad.log()[len(log_before):]
    lines = [ln for ln in msg.splitlines() if ln.strip()]
    assert len(lines) == 1 and "stratad.db" in lines[0] and "owned by uid 65534" in lines[0], msg
    os.chown(db, os.geteuid(), os.getegid())
    stratad.start()
    assert stratad.ok("GET", "/v1/domains/priv")["name"] == "priv"


def test_a_burst_of_clients_is_queued_not_refused(stratad):
    """Item 8: the unix socket's backlog was 8, so of 64 clients connecting
    while stratad was busy, the ninth on was refused (EAGAIN). stratad is
    stopped while they connect: every connect must be queued, then every
    client answered."""
    clients = []
    os.kill(stratad.proc.pid, signal.SIGSTOP)
    try:
        for i in range(64):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)  # as curl does: a full backlog is EAGAIN, not a wait
            try:
                s.connect(stratad.sock)
            except BlockingIOError:
                s.close()
                pytest.fail(f"connection {i + 1} of 64 was refused: the listen backlog is too small")
            clients.append(s)
    finally:
        os.kill(stratad.proc.pid, signal.SIGCONT)
    replies = []
    for s in clients:
        s.setblocking(True)
        s.settimeout(120)
        s.sendall(b"GET /v1/host HTTP/1.0\r\nHost: x\r\n\r\n")
    for s in clients:
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        replies.append(data.split(b"\r\n", 1)[0].split(b" ", 1)[-1])
    assert replies == [b"200 OK"] * 64, replies


def audit_rows(d):
    db = sqlite3.connect(d.state_dir / "stratad.db")
    rows = db.execute("SELECT id, ts, path FROM audit ORDER BY id").fetchall()
    db.close()
    return rows


def test_audit_table_keeps_the_newest_rows():
    """Item 5: the audit table grew without bound (3,000 refused requests a
    second from any local user). --audit-max-rows keeps the newest N."""
    d = Stratad(short_tmpdir(), extra_args=["--audit-max-rows", "20"]).start()
    try:
        for i in range(60):
            d.call("POST", f"/v1/domains/nosuch{i}/destroy")
        rows = audit_rows(d)
        assert len(rows) <= 20, len(rows)
        assert rows[-1][2] == "/v1/domains/nosuch59/destroy", rows[-1]
        assert [r["path"] for r in d.ok("GET", "/v1/audit?limit=1000")][-1:] == ["/v1/domains/nosuch59/destroy"]
    finally:
        cleanup(d)


def test_audit_rows_older_than_the_limit_go_at_start():
    d = Stratad(short_tmpdir(), extra_args=["--audit-max-days", "7"]).start()
    try:
        d.call("POST", "/v1/domains/recent/destroy")
        d.stop()
        db = sqlite3.connect(d.state_dir / "stratad.db")
        now = int(time.time())
        db.executemany("INSERT INTO audit(ts, uid, pid, method, path, status) VALUES(?, 0, 1, 'GET', ?, 404)",
                       [(now - 8 * 86400, "/v1/domains/old"), (now - 6 * 86400, "/v1/domains/young")])
        db.commit()
        db.close()
        d.start()
        paths = [r[2] for r in audit_rows(d)]
        assert "/v1/domains/old" not in paths and "/v1/domains/young" in paths and "/v1/domains/recent/destroy" in paths
    finally:
        cleanup(d)


def test_bad_audit_options_are_one_line(tmp_path):
    for args in (["--audit-max-rows", "lots"], ["--audit-max-days", "-1"]):
        r = subprocess.run([str(program("src", "host", "stratad")), "-d", str(tmp_path)] + args,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and len(r.stderr.splitlines()) == 1 and args[0] in r.stderr, r.stderr
