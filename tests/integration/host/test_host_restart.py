"""Restart safety: guests outlive stratad (kill -9 included); the next
stratad re-attaches to every one of them, without duplicates."""
import signal
import sqlite3

from hostlib import Events, Stratad, cleanup, guest, short_tmpdir, wait_console


def test_kill9_and_reattach():
    d = Stratad(short_tmpdir()).start()
    try:
        names = ["r1", "r2", "r3"]
        for n in names:
            d.ok("POST", "/v1/domains", {"name": n, "memory_mib": 16, "os": {"kernel": guest("pwrbtn")}})
            d.ok("POST", f"/v1/domains/{n}/start")
        d.ok("POST", "/v1/domains/r2/suspend")
        before = {x["name"]: x for x in d.ok("GET", "/v1/domains")}
        pids = d.vmm_pids()
        assert len(pids) == 3

        assert d.stop(signal.SIGKILL) == -signal.SIGKILL
        assert d.vmm_pids() == pids  # the guests did not notice
        db = sqlite3.connect(d.state_dir / "stratad.db")
        rows = db.execute("SELECT d.name, r.state, r.vm_pid FROM domains d JOIN runtime r USING(uuid)"
                          " ORDER BY d.name").fetchall()
        db.close()
        assert rows == [("r1", "running", before["r1"]["pid"]), ("r2", "paused", before["r2"]["pid"]),
                        ("r3", "running", before["r3"]["pid"])]

        d.start()
        after = {x["name"]: x for x in d.ok("GET", "/v1/domains")}
        assert sorted(after) == names
        for n in names:
            assert after[n]["pid"] == before[n]["pid"] and after[n]["uuid"] == before[n]["uuid"]
        assert after["r2"]["state"] == "paused"
        assert d.vmm_pids() == pids  # no duplicates were started

        # controllable: the event stream sees what the re-attached guests do
        ev = Events(d)
        d.ok("POST", "/v1/domains/r2/resume")
        ev.expect("r2", "resumed")
        wait_console(d, "r1", "pwrbtn: waiting for the power button")
        d.ok("POST", "/v1/domains/r1/shutdown")
        assert ev.expect("r1", "stopped")[0]["reason"] == "shutdown"
        d.ok("POST", "/v1/domains/r3/destroy")
        assert ev.expect("r3", "stopped")[0]["reason"] == "destroyed"
        assert d.vmm_pids() == [before["r2"]["pid"]]

        # a guest that ends while stratad is away is reported by the next one
        d.stop(signal.SIGKILL)
        import os
        import time
        os.kill(before["r2"]["pid"], signal.SIGKILL)
        # the keeper records the end (it outlives stratad); then stratad starts
        exit_file = d.state_dir / "run" / f"{before['r2']['uuid']}.exit"
        deadline = time.time() + 30
        while time.time() < deadline and not exit_file.read_text().endswith("\n"):
            time.sleep(0.05)
        assert exit_file.read_text() == "signal 9\n"
        d.start()
        info = d.ok("GET", "/v1/domains/r2")
        assert info["state"] == "shutoff" and info["last_stop_reason"] == "killed by signal 9"
        assert d.vmm_pids() == []
        assert d.ok("POST", "/v1/domains/r2/start")["state"] == "running"
    finally:
        cleanup(d)


def test_sigterm_leaves_guests_running():
    d = Stratad(short_tmpdir()).start()
    try:
        d.ok("POST", "/v1/domains", {"name": "t1", "memory_mib": 16, "os": {"kernel": guest("pwrbtn")}})
        pid = d.ok("POST", "/v1/domains/t1/start")["pid"]
        assert d.stop(signal.SIGTERM) == 0
        assert d.vmm_pids() == [pid]
        d.start()
        assert d.ok("GET", "/v1/domains/t1")["pid"] == pid
    finally:
        cleanup(d)


def test_schema_migrations_recorded():
    d = Stratad(short_tmpdir()).start()
    try:
        d.stop()
        db = sqlite3.connect(d.state_dir / "stratad.db")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        db.close()
        assert version == 9 and {"domains", "runtime", "audit", "pools", "networks", "volumes", "images",
                                 "web_sessions", "templates"} <= tables
        # a database from a newer stratad is refused, not rewritten
        db = sqlite3.connect(d.state_dir / "stratad.db")
        db.execute("PRAGMA user_version=99")
        db.commit()
        db.close()
        try:
            d.start()
            raise AssertionError("stratad accepted a database from the future")
        except RuntimeError as e:
            assert "newer than this stratad" in str(e)
    finally:
        cleanup(d)


def test_one_stratad_per_state_dir():
    d = Stratad(short_tmpdir()).start()
    try:
        import subprocess
        from conftest import program
        r = subprocess.run([str(program("src", "host", "stratad")), "-d", str(d.state_dir)], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 1 and "another stratad is running" in r.stderr
        assert d.ok("GET", "/v1/host")["domains"] == 0  # the first one still serves
    finally:
        cleanup(d)


def test_sigterm_with_a_console_attached():
    """An attached console does not keep stratad from stopping: the session
    ends (the client sees the connection close), the guest runs on."""
    import subprocess
    from conftest import program
    d = Stratad(short_tmpdir()).start()
    try:
        d.ok("POST", "/v1/domains", {"name": "c1", "memory_mib": 16, "os": {"kernel": guest("serial-echo")}})
        pid = d.ok("POST", "/v1/domains/c1/start")["pid"]
        wait_console(d, "c1", "serial-echo: ready")
        client = subprocess.Popen([str(program("src", "cli", "strata")), "--socket", d.sock, "console", "c1"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert b"serial-echo: ready" in client.stdout.read1(65536)  # attached: the history came
        assert d.stop(signal.SIGTERM) == 0
        assert client.wait(timeout=30) == 0  # stdin still open: only the server can have ended it
        assert d.vmm_pids() == [pid]
        d.start()
        assert d.ok("GET", "/v1/domains/c1")["state"] == "running"
    finally:
        cleanup(d)
