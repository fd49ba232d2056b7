"""run(): subprocess.run(cmd, capture_output=True, text=True, env=, timeout=) for
the real `openstack` CLI, through osc_forkserver.py: a /usr/bin/python3 that has
imported the client once and forks a fresh child per call (~0.3 s instead of
~2 s of start-up). One server per environment-without-OS_* and working
directory (the server starts with exactly that environment, so whatever the
client reads at import time is the call's). STRATA_OPENSTACK_EXEC=1: plain
subprocesses. test_cloud_forkserver.py shows both give identical results."""
import atexit
import collections
import json
import locale
import os
import selectors
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

PYTHON = "/usr/bin/python3"
SERVER = Path(__file__).with_name("osc_forkserver.py")
KEEP = 3  # servers kept alive (one per cloud's HOME: the latest few clouds)
READY_SECONDS = 300

_servers = collections.OrderedDict()


def exec_wanted():
    return os.environ.get("STRATA_OPENSTACK_EXEC") == "1"


def without_os(env):
    return {k: v for k, v in env.items() if not k.startswith("OS_")}


def key_of(env, cwd):
    return cwd, tuple(sorted(without_os(env).items()))


class Server:
    def __init__(self, env, cwd):
        self.logs = Path(tempfile.mkdtemp(prefix="osc-forkserver-"))
        ours, theirs = socket.socketpair()
        with open(self.logs / "stdout", "w+b") as out, open(self.logs / "stderr", "w+b") as err:
            self.proc = subprocess.Popen([PYTHON, str(SERVER), str(theirs.fileno())],
                                         pass_fds=[theirs.fileno()], env=without_os(env), cwd=cwd,
                                         stdout=out, stderr=err)
        theirs.close()
        self.sock = ours
        self.buf = b""
        self.ready = False
        self.broken = False
        self.last_pid = None
        self.last_cpu = None  # CPU seconds of the last call's child

    def log_tail(self):
        return (self.logs / "stderr").read_text(errors="replace")[-3000:]

    def message(self, deadline):
        """The server's next message, None when the deadline passed."""
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                raise AssertionError(f"the openstack fork-server exited: {self.log_tail()}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def wait_ready(self):
        if not self.ready:
            msg = self.message(time.monotonic() + READY_SECONDS)
            if msg is None or "ready" not in msg:
                raise AssertionError(f"the openstack fork-server did not start: {msg} "
                                     f"{self.log_tail()}")
            self.ready = True

    def run(self, cmd, env, cwd, timeout):
        self.wait_ready()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        payload = json.dumps({"args": list(cmd[1:]), "env": env, "cwd": cwd}).encode()
        data = struct.pack("!I", len(payload)) + payload
        self.sock.settimeout(None)
        try:
            sent = socket.send_fds(self.sock, [data], [0, out_w, err_w])
            self.sock.sendall(data[sent:])
        finally:
            os.close(out_w)
            os.close(err_w)
        try:
            return self.collect(cmd, out_r, err_r, timeout)
        except subprocess.TimeoutExpired:
            raise  # the child was killed and reaped: in step
        except BaseException:
            # mid-call (an interrupt, a dead server): its answers would be
            # out of step with the next call's, so this server is done
            self.broken = True
            raise

    def collect(self, cmd, out_r, err_r, timeout):
        """Like Popen.communicate with a timeout: the child's output and
        status; at the timeout it is killed, then TimeoutExpired."""
        deadline = time.monotonic() + timeout
        chunks = {out_r: [], err_r: []}
        pid = status = None
        timed_out = killed = False
        with selectors.DefaultSelector() as sel:
            for fd in (out_r, err_r, self.sock):
                sel.register(fd, selectors.EVENT_READ)
            while len(sel.get_map()) > 1 or status is None:
                wait = None if timed_out else max(0.0, deadline - time.monotonic())
                for k, _ in sel.select(wait):
                    if k.fileobj is self.sock:
                        for msg in self.messages():
                            if "error" in msg:
                                raise AssertionError(f"openstack fork-server: {msg['error']}")
                            pid = self.last_pid = msg.get("pid", pid)
                            status = msg.get("status", status)
                            self.last_cpu = msg.get("cpu", self.last_cpu)
                        continue
                    data = os.read(k.fd, 65536)
                    if data:
                        chunks[k.fd].append(data)
                    else:
                        sel.unregister(k.fd)
                        os.close(k.fd)
                timed_out = timed_out or time.monotonic() >= deadline
                if timed_out and not killed and pid is not None and status is None:
                    os.kill(pid, signal.SIGKILL)
                    killed = True
        out, err = (decode(b"".join(chunks[fd])) for fd in (out_r, err_r))
        if timed_out and killed:
            raise subprocess.TimeoutExpired(cmd, timeout, output=out, stderr=err)
        return subprocess.CompletedProcess(cmd, status, out, err)

    def messages(self):
        """The messages complete after one read of the socket."""
        chunk = self.sock.recv(65536)
        if not chunk:
            raise AssertionError(f"the openstack fork-server exited: {self.log_tail()}")
        self.buf += chunk
        *lines, self.buf = self.buf.split(b"\n")
        return [json.loads(line) for line in lines]

    def close(self):
        """EOF ends the server; a broken one is killed (a child it still
        runs ends on its own, as a plain subprocess would)."""
        self.sock.close()
        if self.broken:
            self.proc.kill()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def decode(data):
    """As subprocess's text mode: the locale's encoding, universal newlines."""
    text = data.decode(locale.getpreferredencoding(False))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def server_for(env, cwd):
    key = key_of(env, cwd)
    server = _servers.get(key)
    if server is None or server.broken or server.proc.poll() is not None:
        if server is not None:
            server.close()
        server = _servers[key] = Server(env, cwd)
        while len(_servers) > KEEP:
            _servers.popitem(last=False)[1].close()
    _servers.move_to_end(key)
    return server


def prepare(env):
    """Starts (without waiting) the server a later run(env=env) will use, so
    that its imports overlap with whatever the test does meanwhile."""
    if not exec_wanted():
        server_for(env, os.getcwd())


def stdin_usable():
    try:
        os.fstat(0)
        return True
    except OSError:
        return False


def run(cmd, env, timeout):
    """subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)."""
    if exec_wanted() or not stdin_usable():
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    return server_for(env, os.getcwd()).run(cmd, env, os.getcwd(), timeout)


def shutdown():
    while _servers:
        _servers.popitem()[1].close()


atexit.register(shutdown)
