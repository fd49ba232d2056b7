"""strata-cloud under test: a bootstrapped state directory, the daemon on a
free loopback port, and the real `openstack` CLI pointed at it through a
clouds.yaml in a temporary directory (OS_CLOUD=strata)."""
import atexit
import json
import os
import shutil
import sqlite3
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import oscfork
from conftest import free_port, program, skip_loudly, wait_answering  # noqa: F401

OPENSTACK = "/usr/bin/openstack"
ADMIN_PASSWORD = "s3cret-admin"
# The CLI's HOME, one for all clouds: it keeps only stevedore's entry point
# cache there, and one HOME means one fork-server (oscfork) for the session.
CLI_HOME = tempfile.mkdtemp(prefix="strata-cli-home-")
# The public URL of the bootstrapped templates (template()), replaced by each
# copy's own. STRATA_TEST_BOOTSTRAP=1 bootstraps every cloud instead.
TEMPLATE_URL = "http://template.invalid:1"
_templates = {}


def stop_process(proc):
    """SIGTERM, then SIGKILL after 60 s; the exit status (None: never started)."""
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode if proc else None


class Cloud:
    """tls: (certificate, key, CA) PEM paths: serve HTTPS and trust that CA."""
    def __init__(self, db_url=None, tls=None, listen_host="127.0.0.1", extra_args=()):
        self.tmp = Path(tempfile.mkdtemp(prefix="strata-cloud-"))
        self.extra_args = list(extra_args)
        self.state = self.tmp / "state"
        self.db_url = db_url
        self.tls = tls
        self.listen_host = listen_host
        self.port = free_port()
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.ssl = ssl.create_default_context(cafile=str(tls[2])) if tls else None
        self.proc = None
        self.log = self.tmp / "serve.log"

    def serve_args(self):
        tls = ["--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])] if self.tls else []
        return ["serve", "-d", str(self.state), "--listen", f"{self.listen_host}:{self.port}",
                *self.db_args(), *tls, *self.extra_args]

    def db_args(self):
        return ["--db", self.db_url] if self.db_url else []

    def cloud(self, *args, check=True):
        r = subprocess.run([str(program("src", "cloud", "strata-cloud")), *args],
                           capture_output=True, text=True, timeout=300)
        if check and r.returncode:
            raise AssertionError(f"strata-cloud {' '.join(args)}: {r.stderr}")
        return r

    def bootstrap(self):
        pw = self.tmp / "admin-password"
        pw.write_text(ADMIN_PASSWORD + "\n")
        return self.cloud("bootstrap", "-d", str(self.state), *self.db_args(),
                          "--admin-password-file", str(pw), "--public-url", self.url)

    def bootstrap_copy(self, pg=None):
        """What bootstrap() makes, copied from the session's template of this
        backend (pg: the postgres fixture's cluster, whose new_database
        (template=...) copied the rows already): the same rows with this
        cloud's public URL in the catalog; no token keys, which serve makes
        afresh as for any state directory without them."""
        t = template(pg)
        shutil.copytree(t.state, self.state, ignore=shutil.ignore_patterns("fernet-keys"))
        sql = f"UPDATE endpoint SET url = replace(url, '{TEMPLATE_URL}', '{self.url}')"
        if pg:
            pg.psql(self.db_url.split("dbname=")[1], sql)
        else:
            with sqlite3.connect(self.state / "cloud.db") as db:
                db.execute(sql)
            db.close()

    def start(self, *serve_args):
        self.proc = subprocess.Popen(
            [str(program("src", "cloud", "strata-cloud")), *self.serve_args(), *serve_args],
            stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        oscfork.prepare(self.cli_env())  # the CLI's imports overlap the daemon's start
        wait_answering(self.proc, self.url + "/identity/v3", self.log, "strata-cloud serve", 120,
                       self.ssl)

    def cli_env(self, **more):
        """The CLI's environment: the tests' without OS_*, HOME=CLI_HOME, and more."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update(HOME=CLI_HOME, **more)
        return env

    def stop(self):
        return stop_process(self.proc)

    def clouds_yaml(self, name="strata", user="admin", password=ADMIN_PASSWORD, project="admin"):
        path = self.tmp / "clouds.yaml"
        path.write_text(
            "clouds:\n"
            f"  {name}:\n"
            "    auth:\n"
            f"      auth_url: {self.url}/identity/v3\n"
            f"      username: {user}\n"
            f"      password: {password}\n"
            f"      project_name: {project}\n"
            "      user_domain_name: Default\n"
            "      project_domain_name: Default\n"
            "    region_name: RegionOne\n"
            "    identity_api_version: 3\n")
        return path

    def openstack(self, *args, check=True, fmt_json=True, cacert=None, **auth):
        """Over HTTPS the CLI trusts the test's CA (--os-cacert), or cacert."""
        if not os.path.exists(OPENSTACK):
            skip_loudly("python3-openstackclient is not installed (/usr/bin/openstack)")
        yaml = self.clouds_yaml(**auth)
        env = self.cli_env(OS_CLIENT_CONFIG_FILE=str(yaml), OS_CLOUD="strata")
        cmd = [OPENSTACK, *(["--os-cacert", str(cacert or self.tls[2])] if self.tls else []), *args]
        if fmt_json:
            cmd += ["-f", "json"]
        r = oscfork.run(cmd, env, timeout=300)
        if check and r.returncode:
            raise AssertionError(f"openstack {' '.join(args)} failed: {r.stderr}\n"
                                 f"server log:\n{self.log.read_text()[-3000:]}")
        if check and fmt_json and r.stdout.strip():
            return json.loads(r.stdout)
        return r

    def openstack_env(self, *args, env=None, check=True, fmt_json=True):
        """The CLI with no clouds.yaml: its options and OS_* variables only
        (auth URL and region are set; env adds to them)."""
        if not os.path.exists(OPENSTACK):
            skip_loudly("python3-openstackclient is not installed (/usr/bin/openstack)")
        full = self.cli_env(OS_AUTH_URL=f"{self.url}/identity/v3", OS_IDENTITY_API_VERSION="3",
                            OS_REGION_NAME="RegionOne", **(env or {}))
        cmd = [OPENSTACK, *args] + (["-f", "json"] if fmt_json else [])
        r = oscfork.run(cmd, full, timeout=300)
        if check and r.returncode:
            raise AssertionError(f"openstack {' '.join(args)} failed: {r.stderr}\n"
                                 f"server log:\n{self.log.read_text()[-3000:]}")
        if check and fmt_json and r.stdout.strip():
            return json.loads(r.stdout)
        return r

    def token(self, user, password, project):
        """A project-scoped token of user (raw HTTP)."""
        status, headers, body = self.request("POST", "/identity/v3/auth/tokens", {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"name": "Default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}})
        assert status == 201, body
        return headers["X-Subject-Token"]

    def request(self, method, path, body=None, headers=None, raw=None):
        """(status, headers, parsed JSON or None) of one raw HTTP request."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=60, context=self.ssl) as r:
                text = r.read()
                return r.status, r.headers, json.loads(text) if text else None
        except urllib.error.HTTPError as e:
            text = e.read()
            return e.code, e.headers, json.loads(text) if text else None

    def admin_token(self):
        return self.token("admin", ADMIN_PASSWORD, "admin")

    def api(self, method, path, token, body=None, version=None, raw=None, headers=None):
        """A request with a token (and a compute microversion when given)."""
        headers = {"X-Auth-Token": token, **(headers or {})}
        if version:
            headers["OpenStack-API-Version"] = f"compute {version}"
        return self.request(method, path, body, headers=headers, raw=raw)

    def member_token(self, project, user, password="pw-" + "member", role="member"):
        """A project, a user with role on it (raw identity API calls, much
        faster than the CLI) and the user's project-scoped token."""
        admin = self.admin_token()
        ids = {}
        for kind, body in (("projects", {"project": {"name": project}}),
                           ("users", {"user": {"name": user, "password": password}})):
            status, _, obj = self.api("POST", f"/identity/v3/{kind}", admin, body)
            if status == 409:
                status, _, found = self.api("GET", f"/identity/v3/{kind}?name={body[kind[:-1]]['name']}",
                                            admin)
                obj = {kind[:-1]: found[kind][0]}
            else:
                assert status == 201, obj
            ids[kind] = obj[kind[:-1]]["id"]
        _, _, roles = self.api("GET", f"/identity/v3/roles?name={role}", admin)
        status, _, _ = self.api("PUT", f"/identity/v3/projects/{ids['projects']}/users/"
                                f"{ids['users']}/roles/{roles['roles'][0]['id']}", admin)
        assert status == 204
        return self.token(user, password, project), ids["projects"], ids["users"]


def template(pg=None):
    """The session's bootstrapped cloud (not serving) of a backend, made at
    its first use: its state directory, and on PostgreSQL (pg: the cluster)
    its database, are what each cloud of started() copies."""
    key = id(pg) if pg else "sqlite"
    if key not in _templates:
        t = Cloud(db_url=pg.new_database() if pg else None)
        t.url = TEMPLATE_URL
        t.bootstrap()
        _templates[key] = t
        atexit.register(shutil.rmtree, t.tmp, ignore_errors=True)
    return _templates[key]


def started(request, *serve_args):
    """A bootstrapped, running Cloud on the backend of request.param
    ("sqlite" or "postgresql", the latter a database of its own in the
    session's cluster (the postgres fixture), dropped after the fixture that
    asked for it is done). Its state is a copy of the session's bootstrapped
    template (bootstrap_copy): bootstrap's own tests bootstrap for real."""
    fresh = os.environ.get("STRATA_TEST_BOOTSTRAP") == "1"
    url = pg = None
    if request.param == "postgresql":
        pg = request.getfixturevalue("postgres")
        url = pg.new_database(template=None if fresh else template(pg).db_url)
        request.addfinalizer(lambda: pg.drop_database(url))
    c = Cloud(db_url=url, extra_args=serve_args)
    if fresh:
        c.bootstrap()
    else:
        c.bootstrap_copy(pg)
    c.start()
    return c


def nova_error(body, name, code):
    """Nova's fault body: {name: {"code", "message"}}; returns the message."""
    assert set(body) == {name}, body
    assert body[name]["code"] == code and body[name]["message"], body
    return body[name]["message"]


def serving(request, *serve_args):
    """The body of the cloud fixtures: started(), then it must stop cleanly on
    SIGTERM."""
    c = started(request, *serve_args)
    try:
        yield c
    finally:
        assert c.stop() == 0, f"serve did not stop cleanly on SIGTERM:\n{c.log.read_text()}"


@pytest.fixture(params=["sqlite", "postgresql"])
def cloud(request):
    """A bootstrapped, serving cloud on SQLite and on a throwaway PostgreSQL
    (tests/conftest.py's postgres fixture), one per test."""
    yield from serving(request)


@pytest.fixture(params=["sqlite", "postgresql"], scope="module", name="cloud")
def module_cloud(request):
    """The fixture `cloud`, one per test module and backend: a module imports
    module_cloud instead of cloud when its tests need no fresh cloud (each
    test's names are its own, and it compares what it made, not whole lists).
    Starting a cloud per test was ~15 % of the cloud tests' time."""
    yield from serving(request)
