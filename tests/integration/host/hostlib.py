"""Helpers for the stratad tests: a daemon in a temporary state directory,
an HTTP client over its unix socket, and an event-stream reader."""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import BUILD, free_port, kvm_missing_reason, program, skip_loudly  # noqa: F401  (free_port: for the tests)

# Requests and CLI verbs that make stratad run a VMM: a test reaching one on a
# host without a usable /dev/kvm SKIPs there, loudly; what it checked before stands.
GUEST_STARTING = re.compile(r"^/v1/domains/[^/]+/start$")
GUEST_STARTING_VERBS = {"start", "create"}


# A stand-in VMM that runs no guest (tests/integration/web/fake_vmm.py): with
# it, a stratad starts "guests" on a host without /dev/kvm.
FAKE_VMM = Path(__file__).resolve().parent.parent / "web" / "fake_vmm.py"


def needs_guest(what):
    reason = kvm_missing_reason()
    if reason:
        skip_loudly(f"{what} runs a guest: {reason}")


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=120):
        super().__init__("stratad", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class Stratad:
    """One stratad process; restartable on the same state directory."""

    def __init__(self, state_dir, extra_args=(), wrapper=(), vm_binary=None):
        """vm_binary: FAKE_VMM (no /dev/kvm needed), or strata-vm."""
        self.state_dir = Path(state_dir)
        self.vm_binary = str(vm_binary or program("src", "vm", "strata-vm"))
        self.fake_vmm = vm_binary is not None
        self.sock = str(self.state_dir / "stratad.sock")
        self.extra_args = list(extra_args)
        self.wrapper = list(wrapper)
        self.proc = None

    def start(self):
        return self.spawn().wait_up()

    def spawn(self):
        """Starts the process; wait_up() waits until it answers (several
        daemons spawned first come up side by side)."""
        log = open(self.state_dir / "stratad.log", "ab")
        env = dict(os.environ, STRATA_LOG="info")
        self.proc = subprocess.Popen(
            self.wrapper + [str(program("src", "host", "stratad")), "-d", str(self.state_dir),
                            "--vm-binary", self.vm_binary] + self.extra_args,
            stdout=log, stderr=log, env=env)
        return self

    def wait_up(self, seconds=120):
        """Until GET /v1/host answers 200 (generous: an ASan stratad on a
        machine whose cores are all busy starts slowly)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("stratad exited: " + self.log())
            try:
                status, _ = self.call("GET", "/v1/host")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"stratad did not come up in {seconds} s: " + self.log())

    def log(self):
        return (self.state_dir / "stratad.log").read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=120)
        return self.proc.returncode if self.proc else None

    def call(self, method, path, body=None, headers=None, raw=None):
        if method == "POST" and GUEST_STARTING.match(path) and not self.fake_vmm:
            needs_guest(f"POST {path}")
        conn = UnixHTTPConnection(self.sock)
        hdrs = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=hdrs,
                     encode_chunked=hdrs.get("Transfer-Encoding") == "chunked")
        resp = conn.getresponse()
        text = resp.read()
        conn.close()
        ctype = resp.getheader("Content-Type", "")
        if "json" in ctype:
            return resp.status, json.loads(text)
        return resp.status, text

    def ok(self, method, path, body=None, expect=(200, 201)):
        status, reply = self.call(method, path, body)
        assert status in expect, f"{method} {path} -> {status} {reply}"
        return reply

    def cli(self, *args, check=True, user=None, input=None, timeout=60):
        if args and args[0] in GUEST_STARTING_VERBS and not self.fake_vmm:
            needs_guest(f"strata {args[0]}")
        cmd = [str(program("src", "cli", "strata")), "--socket", self.sock] + [str(a) for a in args]
        if user:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + cmd
        r = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"strata {' '.join(map(str, args))} -> {r.returncode}: {r.stderr}")
        return r

    def vmm_pids(self):
        """Every strata-vm process whose control socket is in our run dir."""
        run = str(self.state_dir / "run")
        pids = []
        for p in Path("/proc").iterdir():
            if not p.name.isdigit():
                continue
            try:
                cmd = (p / "cmdline").read_bytes().split(b"\0")
                stat = (p / "stat").read_text()
                comm = (p / "comm").read_text().strip()
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                continue
            # a VMM's teardown child shares its memory, so its command line too
            if comm != "strata-vm":
                continue
            if cmd and cmd[0].endswith(b"strata-vm") and any(run.encode() in a for a in cmd):
                pids.append(int(p.name))
        return sorted(pids)


class Events:
    """Reads the SSE stream in a thread. Each domain's events are consumed
    in order, independently of other domains' events."""

    def __init__(self, daemon, query=""):
        self.cond = threading.Condition()
        self.events = []
        self.cursor = {}  # name -> index of the next unread event for it
        self.all_cursor = 0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(daemon.sock)
        self.sock.sendall(f"GET /v1/events{query} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(120), "the event stream did not open"

    def _run(self):
        buf = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.startswith(b": subscribed"):
                    self.ready.set()
                elif line.startswith(b"data: "):
                    with self.cond:
                        self.events.append(json.loads(line[6:]))
                        self.cond.notify_all()

    def next(self, timeout=120):
        """The next event of any domain."""
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.events) > self.all_cursor, timeout):
                raise AssertionError(f"no event within {timeout} s")
            self.all_cursor += 1
            return self.events[self.all_cursor - 1]

    def next_of(self, kind):
        """The next event named `kind` of any domain, passing over others."""
        e = self.next()
        while e["event"] != kind:
            e = self.next()
        return e

    def _next_for(self, name, timeout):
        def find():
            for i in range(self.cursor.get(name, 0), len(self.events)):
                if self.events[i]["name"] == name:
                    return i
            return None
        with self.cond:
            if not self.cond.wait_for(lambda: find() is not None, timeout):
                raise AssertionError(f"no event for {name} within {timeout} s")
            i = find()
            self.cursor[name] = i + 1
            return self.events[i]

    def expect(self, name, *kinds, timeout=120):
        """The next events for domain `name` are kinds, in order; returns them."""
        got = []
        for kind in kinds:
            e = self._next_for(name, timeout)
            got.append(e)
            assert e["event"] == kind, f"expected {kind}, got {e} (so far {got})"
        return got

    def close(self):
        self.sock.close()


def wait_console(d, name, text, timeout=60):
    """Until the guest's console history shows text: a guest that must be
    ready first (pwrbtn clears a power-button press that comes before it
    says it is waiting, as an OS would)."""
    deadline = time.time() + timeout
    out = ""
    while time.time() < deadline and text not in out:
        out = d.cli("console", name, input="").stdout
    assert text in out, f"{name} never printed {text!r}: {out!r}"
    return out


def guest(name):
    p = BUILD / "tests" / "guest" / f"{name}.elf"
    assert p.exists(), f"{p} was not built"
    return str(p)


def short_tmpdir():
    """Unix socket paths are limited to 108 bytes: keep the state dir short."""
    return tempfile.mkdtemp(prefix="sd", dir="/tmp")


@pytest.fixture
def stratad():
    d = short_tmpdir()
    daemon = Stratad(d).start()
    yield daemon
    cleanup(daemon)


def cleanup(daemon):
    """Guests outlive stratad by design: destroy what a test left running."""
    try:
        if daemon.proc.poll() is None:
            for dom in daemon.ok("GET", "/v1/domains"):
                if dom["state"] != "shutoff":
                    daemon.call("POST", f"/v1/domains/{dom['name']}/destroy")
            for net in daemon.ok("GET", "/v1/networks"):
                if net["active"] and net["mode"] != "bridge":
                    daemon.call("POST", f"/v1/networks/{net['name']}/stop")
    except Exception:
        pass
    try:
        daemon.stop()
    except subprocess.TimeoutExpired:  # a hung stratad must not leave its guests behind
        daemon.proc.kill()
        daemon.proc.wait()
    for pid in daemon.vmm_pids():
        os.kill(pid, 9)
    shutil.rmtree(daemon.state_dir, ignore_errors=True)


def in_ns(d, *cmd):
    r = subprocess.run(["nsenter", "-t", str(d.proc.pid), "-n"] + list(cmd), capture_output=True, text=True)
    return r


def links(d):
    return {x["ifname"]: x for x in json.loads(in_ns(d, "ip", "-j", "-d", "link", "show").stdout)}


def nft_tables(d):
    return in_ns(d, "nft", "list", "tables").stdout


@pytest.fixture
def netd():
    for tool in ("unshare", "nsenter", "ip", "nft", "dnsmasq"):
        if not shutil.which(tool):
            skip_loudly(f"{tool} is not installed")
    if os.geteuid() != 0:
        skip_loudly("network tests need root (network namespaces, bridges)")
    d = Stratad(short_tmpdir(), wrapper=["unshare", "-n"]).start()
    yield d
    cleanup(d)
