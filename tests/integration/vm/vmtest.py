"""Running strata-vm with the project's test guests (tests/guest/) for the VMM
tests: one-shot runs, and live VMs whose console is read line by line and whose
control socket is driven as JSON lines."""
import json
import os
import queue
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import BUILD, program

GUEST_DIR = BUILD / "tests" / "guest"
MEMORY_MIB = 64
RT_FAIL = 16  # a test guest's "a check failed" exit code (tests/guest/rt/rt.h)


def vm_binary():
    return program("src", "vm", "strata-vm")


def guest(name):
    p = GUEST_DIR / f"{name}.elf"
    if not p.exists():
        pytest.fail(f"test guest {p} was not built (ninja -C {BUILD})")
    return p


def vm_args(guest_name, *args, memory=MEMORY_MIB):
    return [str(vm_binary()), "--kernel", str(guest(guest_name)), "--memory", str(memory), *args]


class Result:
    def __init__(self, cmd, rc, out, err):
        self.cmd, self.rc, self.out, self.err = cmd, rc, out, err

    def __str__(self):
        return (f"$ {' '.join(map(str, self.cmd))}\nexit status {self.rc}\n"
                f"--- console (stdout) ---\n{self.out}\n--- stderr ---\n{self.err}")


def decode(b):
    return b.decode("utf-8", "replace").replace("\r", "")


def run(cmd, timeout=60, input=None, cwd=None, env=None):
    """Runs a command to its end; Result with text console/stderr."""
    try:
        p = subprocess.run([str(c) for c in cmd], input=input, capture_output=True,
                           timeout=timeout, cwd=cwd, env=env,
                           stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"timed out after {timeout} s: {' '.join(map(str, cmd))}\n"
                    f"console so far:\n{decode(e.stdout or b'')}\nstderr:\n{decode(e.stderr or b'')}")
    return Result(cmd, p.returncode, decode(p.stdout), decode(p.stderr))


def run_guest(guest_name, *args, timeout=60, input=None, memory=MEMORY_MIB):
    return run(vm_args(guest_name, *args, memory=memory), timeout=timeout, input=input)


class LiveVM:
    """A strata-vm process with its console collected by a reader thread."""

    def __init__(self, guest_name, *args, tmp_path, control=True, memory=MEMORY_MIB):
        self.control_path = str(tmp_path / "control.sock") if control else None
        cmd = vm_args(guest_name, *args, memory=memory)
        if control:
            cmd += ["--control", self.control_path]
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.out, self.err = [], []
        self.lines = queue.Queue()
        self._readers = [threading.Thread(target=self._read, args=(self.proc.stdout, self.out, True),
                                          daemon=True),
                         threading.Thread(target=self._read, args=(self.proc.stderr, self.err, False),
                                          daemon=True)]
        for t in self._readers:
            t.start()

    def _read(self, f, sink, lines):
        buf = b""
        while True:
            chunk = f.read1(4096) if hasattr(f, "read1") else f.read(1)
            if not chunk:
                break
            sink.append(chunk)
            if lines:
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    self.lines.put(decode(line))
                # a partial line (e.g. an echo) is offered too, marked by the queue's reader
                if buf:
                    self.lines.put(None)

    @property
    def console(self):
        return decode(b"".join(self.out))

    @property
    def stderr(self):
        return decode(b"".join(self.err))

    def wait_for(self, text, timeout=30):
        """Waits until the console contains text; fails with the console so far."""
        deadline = time.monotonic() + timeout
        while text not in self.console:
            if self.proc.poll() is not None:
                for t in self._readers:
                    t.join(2)
                if text in self.console:
                    return
                pytest.fail(f"strata-vm ended (status {self.proc.returncode}) before the console "
                            f"showed {text!r}\n{self.describe()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the console did not show {text!r} in {timeout} s\n{self.describe()}")
            try:
                self.lines.get(timeout=0.05)
            except queue.Empty:
                pass

    def send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def wait(self, timeout=30):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"strata-vm did not end in {timeout} s\n{self.describe()}")
        for t in self._readers:
            t.join(5)
        return rc

    def alive(self):
        return self.proc.poll() is None

    def describe(self):
        return (f"$ {' '.join(map(str, self.cmd))}\n--- console ---\n{self.console}\n"
                f"--- stderr ---\n{self.stderr}")

    def connect(self, timeout=120):
        return Control(self.control_path, timeout)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Control:
    """One client of the control socket: JSON requests, one reply line each."""

    def __init__(self, path, timeout=120):
        deadline = time.monotonic() + timeout
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.sock.close()
                if time.monotonic() > deadline:
                    pytest.fail(f"control socket {path} did not accept a connection in {timeout} s")
                time.sleep(0.05)
        self.sock.settimeout(timeout)
        self.buf = b""

    def send_raw(self, data):
        self.sock.sendall(data)

    def reply(self):
        """The next reply line as JSON (None when the VMM closed the connection)."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, name, **arguments):
        req = {"execute": name}
        if arguments:
            req["arguments"] = arguments
        self.send_raw(json.dumps(req).encode() + b"\n")
        return self.reply()

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def one_error_line(r):
    """Asserts the bad-input contract: nonzero exit (not a signal), one clear line."""
    assert r.rc > 0, f"expected a nonzero exit status, not a crash or success\n{r}"
    assert r.rc != 2, f"status 2 means a guest crash; bad input must be caught before\n{r}"
    lines = [l for l in r.err.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected exactly one line on stderr, got {len(lines)}\n{r}"
    assert len(lines[0]) > 10, f"the error line says too little\n{r}"
    return lines[0]
