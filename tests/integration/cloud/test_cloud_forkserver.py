"""The openstack CLI's fork-server (oscfork.py, osc_forkserver.py) against a
plain /usr/bin/openstack subprocess: the same stdout, stderr and exit code over
a sample of commands (success, 401, 404, bad arguments, -f json/value/table,
OS_CLOUD with a clouds.yaml, OS_* alone, --os-cacert); a fresh process per call
holding no more descriptors than the plain CLI; a timeout kills the call; the
server ends with the test session."""
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import oscfork
from cloudlib import OPENSTACK, Cloud
from conftest import skip_loudly
from test_cloud_tls import pki, start_tls_cloud  # noqa: F401  (pki: a fixture)


@pytest.fixture(autouse=True)
def _forkserver_in_use():
    if not os.path.exists(OPENSTACK):
        skip_loudly("python3-openstackclient is not installed (/usr/bin/openstack)")
    if oscfork.exec_wanted():
        skip_loudly("STRATA_OPENSTACK_EXEC=1: the CLI runs without the fork-server")


@pytest.fixture(scope="module")
def cloud():
    c = Cloud()
    c.bootstrap()
    c.start()
    yield c
    assert c.stop() == 0


def same(cmd, env):
    """Runs cmd both ways; asserts identical results (but for the request ID
    the cloud draws for each request); the fork-server's."""
    forked = oscfork.run(cmd, env, timeout=300)
    plain = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert (forked.returncode, forked.stdout, request_ids(forked.stderr)) == \
        (plain.returncode, plain.stdout, request_ids(plain.stderr)), cmd
    return forked


def request_ids(text):
    return re.sub(r"req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "req-ID", text)


def yaml_env(cloud, **auth):
    return cloud.cli_env(OS_CLIENT_CONFIG_FILE=str(cloud.clouds_yaml(**auth)), OS_CLOUD="strata")


def test_same_results_through_a_clouds_yaml(cloud):
    env = yaml_env(cloud)
    pids = set()
    for args, code in ((["project", "show", "admin", "-f", "json"], 0),
                       (["project", "list", "-f", "value"], 0),
                       (["role", "list"], 0),  # a table
                       (["catalog", "list", "-f", "yaml"], 0),
                       (["project", "show", "no-such-project"], 1),  # 404
                       (["project", "create"], 2),  # bad arguments: argparse's usage
                       (["no-such-command"], 2),
                       (["help", "user", "create"], 0)):
        r = same([OPENSTACK, *args], env)
        assert r.returncode == code, (args, r.stderr)
        pids.add(oscfork.server_for(env, os.getcwd()).last_pid)
    assert len(pids) == 8  # a fresh process per call
    bad = same([OPENSTACK, "token", "issue"], yaml_env(cloud, password="wrong"))
    assert bad.returncode == 1 and "401" in bad.stderr


def test_same_results_with_os_variables_only(cloud):
    env = cloud.cli_env(OS_AUTH_URL=f"{cloud.url}/identity/v3", OS_IDENTITY_API_VERSION="3",
                        OS_USERNAME="admin", OS_PASSWORD="s3cret-admin", OS_PROJECT_NAME="admin",
                        OS_USER_DOMAIN_NAME="Default", OS_PROJECT_DOMAIN_NAME="Default")
    assert same([OPENSTACK, "user", "show", "admin", "-f", "json"], env).returncode == 0
    assert same([OPENSTACK, "user", "list", "-f", "value", "-c", "Name"], env).returncode == 0
    env["OS_PASSWORD"] = "wrong"
    assert same([OPENSTACK, "project", "list"], env).returncode == 1


def test_same_results_over_https(pki):  # noqa: F811
    c = start_tls_cloud(pki)
    try:
        env = yaml_env(c)
        ok = same([OPENSTACK, "--os-cacert", str(pki["ca"]), "project", "show", "admin",
                   "-f", "value", "-c", "name"], env)
        assert ok.returncode == 0 and ok.stdout == "admin\n"
        refused = same([OPENSTACK, "--os-cacert", str(pki["other_ca"]), "project", "list"], env)
        assert refused.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in refused.stderr
    finally:
        assert c.stop() == 0


def fd_kinds(pid):
    """The descriptors of pid: number and kind (pipe, socket, or the path)."""
    d = Path(f"/proc/{pid}/fd")
    return sorted((int(fd), os.readlink(d / fd).split(":[")[0]) for fd in os.listdir(d))


def hung_call(run):
    """Runs the CLI (through run, in a thread) against a socket that accepts
    and never answers; returns the descriptors of the CLI's process while it
    waits for the answer (then the socket closes: the CLI fails)."""
    holder = {}
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        env = Cloud().cli_env(OS_AUTH_URL=f"http://127.0.0.1:{listener.getsockname()[1]}/v3",
                              OS_USERNAME="u", OS_PASSWORD="p", OS_PROJECT_NAME="p",
                              OS_USER_DOMAIN_NAME="Default", OS_PROJECT_DOMAIN_NAME="Default",
                              OS_IDENTITY_API_VERSION="3")
        t = threading.Thread(target=lambda: holder.update(r=run(env, holder)))
        t.start()
        listener.settimeout(300)
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            deadline = time.monotonic() + 60
            while holder["pid"]() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            kinds = fd_kinds(holder["pid"]())
    t.join(300)
    assert holder["r"].returncode == 1
    return kinds


def test_child_holds_what_a_plain_cli_holds():
    cmd = [OPENSTACK, "token", "issue"]

    def forked(env, holder):
        server = oscfork.server_for(env, os.getcwd())
        server.last_pid = None
        holder["pid"] = lambda: server.last_pid
        return oscfork.run(cmd, env, timeout=300)

    def plain(env, holder):
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        holder["pid"] = lambda: p.pid
        out, err = p.communicate(timeout=300)
        return subprocess.CompletedProcess(cmd, p.returncode, out, err)

    ours, theirs = hung_call(forked), hung_call(plain)
    assert ours == theirs and (3, "socket") in ours


def test_timeout_kills_the_call():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        env = Cloud().cli_env(OS_AUTH_URL=f"http://127.0.0.1:{listener.getsockname()[1]}/v3",
                              OS_USERNAME="u", OS_PASSWORD="p", OS_PROJECT_NAME="p",
                              OS_USER_DOMAIN_NAME="Default", OS_PROJECT_DOMAIN_NAME="Default")
        oscfork.run([OPENSTACK, "--version"], env, timeout=300)  # the server is up
        with pytest.raises(subprocess.TimeoutExpired):
            oscfork.run([OPENSTACK, "token", "issue"], env, timeout=2)
        pid = oscfork.server_for(env, os.getcwd()).last_pid
        assert not alive(pid)  # killed
        assert oscfork.run([OPENSTACK, "--version"], env, timeout=300).returncode == 0


def test_server_ends_with_the_session(tmp_path):
    script = tmp_path / "session.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import oscfork
        env = dict(os.environ, HOME={str(tmp_path)!r})
        oscfork.run([{OPENSTACK!r}, "--version"], env, timeout=300)
        print(oscfork.server_for(env, os.getcwd()).proc.pid, flush=True)
        sys.stdin.read()
        """))
    session = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    server = int(session.stdout.readline())
    assert os.path.exists(f"/proc/{server}")
    session.send_signal(signal.SIGKILL)
    session.wait()
    deadline = time.monotonic() + 120
    while alive(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(server)


def alive(pid):
    """pid runs (a zombie waiting for its reaper does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
