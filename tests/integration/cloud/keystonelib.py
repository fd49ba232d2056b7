"""The real Keystone (Debian's `keystone` package, scripts/deps/cloud-compare.txt)
beside strata-cloud: its own keystone.conf in a temporary directory, SQLite,
Fernet tokens, `keystone-manage db_sync / fernet_setup / bootstrap`, served by
Debian's uwsgi (the server the package ships for it) on a loopback port with
the application mounted at /identity, as devstack lays it out. Every reply
says "Connection: close": uwsgi closes connections after a reply (also with
--http11-socket, now and then), and a client reusing one meanwhile gets
"connection reset"; told, the clients open a new connection instead. Nothing under
/etc or /var is used or changed.

    ks = Keystone(); ks.setup(); ks.start(); ...; ks.stop()

Keystone.missing() says why it cannot run here (None when it can)."""
import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from cloudlib import ADMIN_PASSWORD, free_port, stop_process, wait_answering

KEYSTONE_MANAGE = "/usr/bin/keystone-manage"
KEYSTONE_WSGI = "/usr/bin/keystone-wsgi-public"
UWSGI = "/usr/bin/uwsgi_python3"

CONF = """[DEFAULT]
log_dir = {tmp}
log_file = keystone.log
[database]
connection = sqlite:///{tmp}/keystone.db?timeout=120
[fernet_tokens]
key_repository = {tmp}/fernet-keys
max_active_keys = 3
[fernet_receipts]
key_repository = {tmp}/fernet-receipts
[credential]
key_repository = {tmp}/credential-keys
[token]
provider = fernet
expiration = 3600
[identity]
# bcrypt's fewest rounds: each password login costs Keystone ~2 ms, not
# 12 rounds' ~0.25 s (the comparison is about answers, not hashing cost)
password_hash_rounds = 4
"""


class Keystone:
    def __init__(self, processes=4, threads=8):
        self.tmp = Path(tempfile.mkdtemp(prefix="keystone-"))
        self.conf = self.tmp / "keystone.conf"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes, self.threads = processes, threads
        self.proc = None
        self.log = self.tmp / "uwsgi.log"

    @staticmethod
    def missing():
        for path, what in [(KEYSTONE_MANAGE, "keystone"), (KEYSTONE_WSGI, "keystone"),
                           (UWSGI, "uwsgi-plugin-python3")]:
            if not os.path.exists(path):
                return f"{path} is missing (Debian package {what}: scripts/deps/cloud-compare.txt)"
        return None

    def manage(self, *args):
        r = subprocess.run([KEYSTONE_MANAGE, "--config-file", str(self.conf), *args],
                           capture_output=True, text=True, timeout=600)
        if r.returncode:
            raise RuntimeError(f"keystone-manage {args[0]} failed: {r.stderr[-2000:]}")
        return r

    def setup(self, password=ADMIN_PASSWORD):
        self.conf.write_text(CONF.format(tmp=self.tmp))
        self.manage("db_sync")
        # SQLite's default rollback journal locks readers out while a write
        # commits, and its 5 s busy timeout is short on a loaded machine:
        # Keystone answers "database is locked". WAL (kept in the file) lets
        # reads go on beside the one writer.
        with sqlite3.connect(self.tmp / "keystone.db") as db:
            assert db.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
        user = os.environ.get("USER") or "root"
        for what in ("fernet_setup", "credential_setup"):
            self.manage(what, "--keystone-user", user, "--keystone-group", user)
        identity = f"{self.url}/identity"
        self.manage("bootstrap", "--bootstrap-password", password,
                    "--bootstrap-admin-url", identity, "--bootstrap-internal-url", identity,
                    "--bootstrap-public-url", identity, "--bootstrap-region-id", "RegionOne")

    def start(self):
        env = dict(os.environ, OS_KEYSTONE_CONFIG_FILES=str(self.conf))
        # uwsgi mounts a file by its .py name: the package's script has none
        app = self.tmp / "keystone_public.py"
        app.write_text(Path(KEYSTONE_WSGI).read_text())
        self.proc = subprocess.Popen(
            [UWSGI, "--http-socket", f"127.0.0.1:{self.port}", "--master", "--die-on-term",
             "--processes", str(self.processes), "--threads", str(self.threads),
             "--enable-threads", "--lazy-apps", "--need-app", "--disable-logging",
             "--buffer-size", "65535", "--add-header", "Connection: close", "--manage-script-name",
             "--mount", f"/identity={app}", "--chdir", str(self.tmp)],
            stdout=open(self.log, "w"), stderr=subprocess.STDOUT, env=env)
        wait_answering(self.proc, self.url + "/identity/v3", self.log, "keystone under uwsgi", 600)

    def stop(self):
        stop_process(self.proc)
        shutil.rmtree(self.tmp, ignore_errors=True)
