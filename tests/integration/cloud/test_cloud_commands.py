"""strata-cloud's state commands: bootstrap (idempotent, on SQLite and on a
throwaway PostgreSQL) and fernet-rotate, and their refusals of bad input."""
import sqlite3
import subprocess

from conftest import program


def cloud(*args):
    return subprocess.run([str(program("src", "cloud", "strata-cloud")), *args],
                          capture_output=True, text=True, timeout=300)


def bootstrap(state, pwfile, *extra):
    return cloud("bootstrap", "-d", str(state), "--admin-password-file", str(pwfile),
                 "--public-url", "http://127.0.0.1:5000", *extra)


def test_bootstrap_sqlite_idempotent(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("secret\n")
    for _ in range(2):
        r = bootstrap(tmp_path / "s", pw)
        assert r.returncode == 0, r.stderr
    db = sqlite3.connect(tmp_path / "s" / "cloud.db")
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 1
    assert sorted(r[0] for r in db.execute("SELECT name FROM role")) == ["admin", "member", "reader"]
    # identity's, compute's, image's and network's endpoints, once each after two bootstraps
    assert sorted(r[0] for r in db.execute("SELECT interface || ' ' || url FROM endpoint")) == sorted(
        f"{i} http://127.0.0.1:5000{path}" for i in ("admin", "internal", "public")
        for path in ("/identity", "/compute/v2.1", "/image", "/networking"))
    assert db.execute("SELECT count(*) FROM implied_role").fetchone()[0] == 2
    keys = sorted(p.name for p in (tmp_path / "s" / "fernet-keys").iterdir())
    assert keys == ["0", "1"]


def test_bootstrap_postgresql_idempotent(tmp_path, postgres):
    url = postgres.new_database()
    pw = tmp_path / "pw"
    pw.write_text("secret")
    for _ in range(2):
        r = bootstrap(tmp_path / "s", pw, "--db", url)
        assert r.returncode == 0, r.stderr
    dbname = url.split("dbname=")[1]
    assert postgres.psql(dbname, "SELECT count(*) FROM users").strip() == "1"
    assert postgres.psql(dbname, "SELECT count(*) FROM endpoint").strip() == "12"
    assert not (tmp_path / "s" / "cloud.db").exists()


def test_fernet_rotate(tmp_path):
    keydir = tmp_path / "s" / "fernet-keys"
    # the first run sets the repository up (0 staged, 1 primary), then rotates
    for expect in (["0", "1", "2"], ["0", "2", "3"], ["0", "3", "4"]):
        r = cloud("fernet-rotate", "-d", str(tmp_path / "s"))
        assert r.returncode == 0, r.stderr
        assert sorted((p.name for p in keydir.iterdir()), key=int) == expect
    assert "primary key 4, 3 keys" in r.stdout


def test_bad_input_one_line_and_nonzero(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("")
    cases = [
        ("bootstrap", "-d", str(tmp_path / "s"), "--public-url", "http://x"),      # no password file
        ("bootstrap", "-d", str(tmp_path / "s"), "--admin-password-file", str(pw),
         "--public-url", "http://x"),                                               # empty password
        ("bootstrap", "-d", str(tmp_path / "s"), "--admin-password-file", str(tmp_path / "none"),
         "--public-url", "http://x"),                                               # missing file
        ("bootstrap", "-d", str(tmp_path / "s"), "--admin-password-file", str(pw),
         "--public-url", "ftp://x"),                                                # bad URL
        ("fernet-rotate", "-d", str(tmp_path / "s"), "--max-active", "1"),
        ("fernet-rotate",),                                                         # no -d
        ("fernet-rotate", "-d", str(tmp_path / "s"), "--bogus"),
        ("nonsense",),
    ]
    for args in cases:
        r = cloud(*args)
        assert r.returncode != 0, args
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("strata-cloud: "), (args, r.stderr)
    pw.write_text("x")
    r = bootstrap(tmp_path / "t", pw, "--db", "host=/nonexistent dbname=x")
    assert r.returncode == 1 and "PostgreSQL" in r.stderr
