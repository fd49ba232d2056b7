"""A throwaway PostgreSQL cluster for the cloud tests: Debian's postgresql
package, initdb into a temporary directory, listening only on a unix socket
in that directory, stopped and removed afterwards.

    def test_x(postgres): url = postgres.new_database()

The `postgres` fixture is tests/conftest.py's: one cluster for the whole
session, every test's databases in it (a cloud's is dropped when it stops).
Importing `postgres` from here still works (it hands out that one cluster).
"""
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import skip_loudly


def _pg_bindir():
    base = Path("/usr/lib/postgresql")
    versions = sorted((p for p in base.glob("*/bin/initdb")), reverse=True) if base.exists() else []
    return versions[0].parent if versions else None


class PostgresCluster:
    def __init__(self):
        self.bindir = _pg_bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="strata-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.count = 0
        # initdb refuses to run as root: the cluster belongs to the postgres user.
        self.user = "postgres" if os.getuid() == 0 else None
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)

    def _run(self, *args, check=True):
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)

    def start(self):
        self._run("initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres",
                  "--encoding=UTF8", "--locale=C.UTF-8")
        opts = f"-k {self.dir} -c listen_addresses='' -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w",
                  "-t", "120", "start")
        # pg_ctl -w already waits; check the socket answers before handing it out.
        deadline = time.monotonic() + 120
        while self._run("pg_isready", "-h", str(self.dir), "-U", "postgres", check=False).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {self.log.read_text()}")
            time.sleep(0.2)

    def url(self, dbname):
        return f"host={self.dir} user=postgres dbname={dbname}"

    def new_database(self, template=None):
        """A fresh empty database, or a copy of template's (a url of
        new_database's, no longer in use); returns its libpq connection string."""
        self.count += 1
        name = f"strata{self.count}"
        copy = ["-T", template.split("dbname=")[1]] if template else []
        self._run("createdb", "-h", str(self.dir), "-U", "postgres", *copy, name)
        return self.url(name)

    def drop_database(self, url):
        """Drops the database of url (new_database's), closing what is still
        connected to it."""
        name = url.split("dbname=")[1]
        self.psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def psql(self, dbname, sql):
        return self._run("psql", "-h", str(self.dir), "-U", "postgres", "-d", dbname, "-At",
                         "-c", sql).stdout

    def stop(self):
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def session_cluster():
    """The body of tests/conftest.py's session fixture `postgres`."""
    if _pg_bindir() is None:
        skip_loudly("PostgreSQL is not installed (scripts/deps/cloud.txt: postgresql)")
    if os.getuid() == 0 and shutil.which("runuser") is None:
        skip_loudly("running as root without runuser: cannot run initdb as postgres")
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres(postgres):  # noqa: F811  (the session's cluster: tests/conftest.py)
    """For test modules that import it: the session's one cluster, not one
    cluster per module."""
    return postgres
