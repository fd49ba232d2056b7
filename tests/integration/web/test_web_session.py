"""The web login: PAM-checked host accounts, the session cookie's flags, CSRF
and Origin checks, read-only users, logout, idle timeout, the audit table."""
import hashlib
import sqlite3
import time

from weblib import TOKEN, Session, WebStratad, cleanup, short_tmpdir, users, webd  # noqa: F401


def test_login_right_and_wrong(webd, users):
    name, password, uid = users.add(full_access=True)
    s = Session(webd, name, password)
    assert s.info["user"] == name and s.info["uid"] == uid and s.info["write_access"] is True
    assert len(s.csrf) == 64
    flags = [f.strip() for f in s.set_cookie.split(";")]
    assert flags[0].startswith("strata_session=") and len(flags[0].split("=", 1)[1]) == 64
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= set(flags)
    assert "Secure" not in flags  # plain HTTP on loopback: no TLS here yet
    status, _, me = s.call("GET", "/v1/session")
    assert status == 200 and me["user"] == name and me["csrf_token"] == s.csrf and me["logged_in"] is True
    status, _, host = s.call("GET", "/v1/host")
    assert status == 200 and host["uid"] == uid and host["write_access"] is True
    # a second login is another session with another cookie and token
    s2 = Session(webd, name, password)
    assert s2.cookie != s.cookie and s2.csrf != s.csrf

    for user, pw in [(name, password + "x"), ("nosuchuser" + name, password), (name, ""), ("", "")]:
        t0 = time.monotonic()
        status, hdrs, body = webd.tcp("POST", "/v1/session", {"user": user, "password": pw},
                                      headers={"Origin": webd.origin})
        took = time.monotonic() - t0
        assert status == 401 and body["error"]["message"] == "wrong user name or password", (user, body)
        assert "set-cookie" not in hdrs
        assert took >= 0.95, f"a failed login answered after {took:.2f} s (the fixed delay is 1 s)"
    rows = webd.ok("GET", "/v1/audit")
    logins = [(r["path"], r["status"], r["uid"]) for r in rows if r["path"] == "/v1/session"]
    assert logins.count(("/v1/session", 401, 2**32 - 1)) == 4
    assert ("/v1/session", 201, uid) in logins


def test_read_only_user_gets_403(webd, users):
    name, password, uid = users.add(full_access=False)
    s = Session(webd, name, password)
    assert s.info["write_access"] is False
    status, _, doms = s.call("GET", "/v1/domains")
    assert status == 200 and doms == []
    status, _, body = s.call("POST", "/v1/pools", {"name": "p", "type": "dir", "path": "/tmp"})
    assert status == 403 and "read-only" in body["error"]["message"]
    status, _, body = s.call("GET", "/v1/audit")
    assert status == 403
    assert webd.ok("GET", "/v1/pools") == []
    last = webd.ok("GET", "/v1/audit")[-1]
    assert (last["uid"], last["path"], last["status"]) == (uid, "/v1/pools", 403)


def test_csrf_and_origin(webd, users, tmp_path):
    name, password, _ = users.add(full_access=True)
    s = Session(webd, name, password)
    pool = {"name": "p1", "type": "dir", "path": str(tmp_path)}
    status, _, body = s.call("POST", "/v1/pools", pool, csrf=False)
    assert status == 403 and "X-CSRF-Token" in body["error"]["message"]
    status, _, body = s.call("POST", "/v1/pools", pool, headers={"X-CSRF-Token": "0" * 64})
    assert status == 403
    status, _, body = s.call("POST", "/v1/pools", pool, headers={"Origin": "http://evil.example"})
    assert status == 403 and "cross-origin" in body["error"]["message"]
    status, _, body = s.call("POST", "/v1/pools", pool, headers={"Sec-Fetch-Site": "cross-site"})
    assert status == 403
    # another session's token is no good either
    other = Session(webd, name, password)
    status, _, body = s.call("POST", "/v1/pools", pool, headers={"X-CSRF-Token": other.csrf})
    assert status == 403
    assert webd.ok("GET", "/v1/pools") == []
    # a login posted from another site is refused before PAM is asked
    status, _, body = webd.tcp("POST", "/v1/session", {"user": name, "password": password},
                               headers={"Origin": "http://evil.example"})
    assert status == 403
    status, _, body = s.call("POST", "/v1/pools", pool)
    assert status == 201 and [p["name"] for p in webd.ok("GET", "/v1/pools")] == ["p1"]


def test_no_login_no_api(webd):
    status, _, body = webd.tcp("GET", "/v1/domains")
    assert status == 401 and "POST /v1/session" in body["error"]["message"]
    status, _, body = webd.tcp("GET", "/v1/session")
    assert status == 200 and body == {"logged_in": False}
    status, _, body = webd.tcp("GET", "/v1/domains", headers={"Cookie": "strata_session=" + "a" * 64})
    assert status == 401
    status, _, body = webd.tcp("GET", "/v1/domains", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200  # the bearer token stays for scripts


def test_logout(webd, users):
    name, password, _ = users.add(full_access=True)
    s = Session(webd, name, password)
    status, hdrs, body = s.call("DELETE", "/v1/session", csrf=False)
    assert status == 403  # logout is state-changing too: a forged one is refused
    status, hdrs, body = s.call("DELETE", "/v1/session")
    assert status == 200 and body == {"logged_out": True}
    assert "Max-Age=0" in hdrs["set-cookie"] and hdrs["set-cookie"].startswith("strata_session=;")
    status, _, _ = s.call("GET", "/v1/domains")
    assert status == 401


def test_idle_timeout(users):
    name, password, _ = users.add(full_access=True)
    d = WebStratad(short_tmpdir(), ["--session-idle-timeout", "3"]).start()
    try:
        s = Session(d, name, password)
        assert s.info["idle_timeout"] == 3
        for _ in range(4):  # in use every half second: it stays (each use restarts the clock)
            assert s.call("GET", "/v1/host")[0] == 200
            time.sleep(0.5)
        time.sleep(5.5)  # idle for longer than the timeout (the idle time is what is tested)
        assert s.call("GET", "/v1/host")[0] == 401
    finally:
        cleanup(d)


def test_sessions_survive_a_restart(users, tmp_path):
    """Logins are kept in the database (the cookie's SHA-256 only): a restarted
    stratad keeps them, their CSRF tokens and their idle time; a logged-out
    session stays out."""
    name, password, uid = users.add(full_access=True)
    # a timeout no loaded machine reaches by accident between the calls below
    d = WebStratad(short_tmpdir(), ["--session-idle-timeout", "600"]).start()
    try:
        s = Session(d, name, password)
        out = Session(d, name, password)
        assert out.call("DELETE", "/v1/session")[0] == 200
        d.stop()
        db = sqlite3.connect(d.state_dir / "stratad.db")
        rows = db.execute("SELECT hash, user, uid, can_write FROM web_sessions").fetchall()
        db.close()
        cookie = s.cookie.split("=", 1)[1]
        assert rows == [(hashlib.sha256(cookie.encode()).hexdigest(), name, uid, 1)]
        for f in d.state_dir.glob("stratad.db*"):  # neither the cookie nor the CSRF token is on disk
            data = f.read_bytes()
            assert cookie.encode() not in data and s.csrf.encode() not in data, f
        d.start()
        status, _, me = s.call("GET", "/v1/session")
        assert status == 200 and me["logged_in"] is True and me["uid"] == uid and me["csrf_token"] == s.csrf
        status, _, body = s.call("POST", "/v1/pools", {"name": "p1", "type": "dir", "path": str(tmp_path)})
        assert status == 201, body
        assert out.call("GET", "/v1/host")[0] == 401
        # idle while stratad is down counts: past the timeout the session is gone after the
        # restart. The database's last use 601 s earlier stands for 601 s down (a stratad
        # that restarted the idle clocks at its start would keep the session: 200).
        d.stop()
        db = sqlite3.connect(d.state_dir / "stratad.db")
        with db:
            assert db.execute("UPDATE web_sessions SET last_used = last_used - 601").rowcount == 1
        db.close()
        d.start()
        assert s.call("GET", "/v1/host")[0] == 401
        db = sqlite3.connect(d.state_dir / "stratad.db")
        assert db.execute("SELECT count(*) FROM web_sessions").fetchone() == (0,)
        db.close()
    finally:
        cleanup(d)
