"""Booting a real Linux guest in strata-vm for the Linux tests: where the
assets are (scripts/fetch-assets.sh makes them), one boot with its console
read line by line, and what this kind of host is known not to do."""
import functools
import json
import os
import re
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
RESULTS = ROOT / "build" / "test-results"


def cache_dir():
    """The same choice as scripts/fetch-assets.sh."""
    if os.environ.get("STRATA_CACHE"):
        root = Path(os.environ["STRATA_CACHE"])
    elif os.access("/var/cache/strata", os.W_OK):
        root = Path("/var/cache/strata")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        root = Path(base) / "strata"
    return root / "linux"


def asset(name):
    """Path of a cached asset, or None when scripts/fetch-assets.sh has not made it."""
    p = cache_dir() / name
    return p if p.exists() else None


# --- What this kind of host cannot do: decided here, in one place. ----------

def is_pvm_host():
    """KVM here is PVM software-assisted nesting when the kvm_pvm module is in."""
    return Path("/sys/module/kvm_pvm").exists()


# Reason to SKIP the 2-CPU check on PVM hosts, or None while AP start-up is not
# known to fail there (then the check must pass). The lead sets it from the SMP
# test guest's result (INIT/SIPI to a real-mode trampoline); the environment
# variable STRATA_AP_WAKEUP_LIMIT overrides it ("none" = expect APs to start).
PVM_AP_WAKEUP_LIMIT = None


def ap_wakeup_limit():
    env = os.environ.get("STRATA_AP_WAKEUP_LIMIT")
    if env is not None:
        return None if env.lower() in ("", "none") else env
    return PVM_AP_WAKEUP_LIMIT if is_pvm_host() else None


USER_SPACE_LIMIT = (
    "guest user space cannot run on this PVM nested KVM: an unmodified kernel is "
    "emulated, and the first SYSCALL from ring 3 lands at entry_SYSCALL_64 still in "
    "user mode and faults (docs/linux-guests.md)")

# How the console shows that limit: init's first syscall faults fetching the
# kernel's entry (the fault address is the instruction pointer, in the kernel
# half), then the kernel panics because init died.
USER_SPACE_FAULT = re.compile(r"init\[1\]: segfault at (ffffffff[0-9a-f]{8}) ip \1 ")


def user_space_limit(console):
    """The reason to SKIP the user-space checks when the console shows the known
    fault on a PVM host; None otherwise (then they must pass)."""
    m = USER_SPACE_FAULT.search(console)
    if m and is_pvm_host():
        line = console[console.rfind("\n", 0, m.start()) + 1:].split("\n", 1)[0].strip()
        return f"{USER_SPACE_LIMIT}; console: '{line}'"
    return None


# kvm_pvm's other user-space fault: now and then a fresh process reads zeros
# where it has just written its TLS and dies at address 0 (busybox's start-up,
# `mov %fs:(%rax),%rax; mov (%rax),%rax`; docs/virtio.md). Not the VMM's doing
# as far as anyone has found; the guest scripts retry what can run twice.
TLS_ZERO_FAULT = re.compile(r"^.*\S+\[\d+\]: segfault at 0 ip [0-9a-f]+ sp [0-9a-f]+ error \d.*$", re.M)


def tls_zero_faults(console):
    """The console's lines showing that fault on a PVM host (empty elsewhere)."""
    if not is_pvm_host():
        return []
    return [m.group(0).strip() for m in TLS_ZERO_FAULT.finditer(console)]


def tls_fault_skips(console_of):
    """Decorator for a user-space check: when it fails in a boot whose console
    shows the TLS-zero fault, it SKIPs loudly, quoting the fault and the failure;
    in a boot without that fault a failure stays a failure."""
    def wrap(fn):
        @functools.wraps(fn)
        def check(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except AssertionError as e:
                faults = tls_zero_faults(console_of(*args, **kwargs))
                if not faults:
                    raise
                from conftest import skip_loudly
                first = str(e).strip().splitlines()[0] if str(e).strip() else "assertion"
                skip_loudly(f"kvm_pvm's TLS-zero user-space fault hit this boot "
                            f"({len(faults)}x, first: '{faults[0]}'); the check failed "
                            f"with: {first[:200]} (docs/virtio.md)")
        return check
    return wrap


def control(path, name, **args):
    """One command on strata-vm's control socket (JSON lines); its answer."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(path)
        req = {"execute": name, **({"arguments": args} if args else {})}
        s.sendall(json.dumps(req).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)


# --- One boot. --------------------------------------------------------------

@dataclass
class Boot:
    name: str
    command: list
    status: int = None          # strata-vm's exit status, None after a timeout
    timed_out: bool = False
    seconds: float = 0.0
    console: str = ""
    stderr: str = ""
    arrivals: list = field(default_factory=list)   # (seconds, console line)
    log: Path = None

    def when(self, pattern):
        """Wall-clock seconds from exec to the first console line matching pattern."""
        rx = re.compile(pattern)
        return next((t for t, line in self.arrivals if rx.search(line)), None)

    def tail(self, n=15):
        lines = self.console.splitlines()[-n:]
        err = self.stderr.strip().splitlines()[-3:]
        return ("last console lines:\n  " + "\n  ".join(lines) +
                "\nstrata-vm stderr:\n  " + "\n  ".join(err) +
                f"\n{self.outcome()} (log: {self.log})")

    def outcome(self):
        if self.timed_out:
            return "still running at the timeout (killed)"
        if self.status is not None and self.status < 0:
            return f"strata-vm was killed by signal {-self.status} (not by this test)"
        return f"strata-vm exited with status {self.status}"


def boot(name, vm, kernel, initrd, cmdline, cpus, memory, timeout, extra=(), wrap=()):
    """Runs strata-vm once with the console on stdio; keeps the console in
    build/test-results/linux-<name>.console.log. wrap: a command strata-vm runs
    under (e.g. ip netns exec NS)."""
    cmd = [*wrap, str(vm), "--kernel", str(kernel), "--initrd", str(initrd),
           "--cpus", str(cpus), "--memory", str(memory), "--console", "stdio",
           "--cmdline", cmdline, *extra]
    RESULTS.mkdir(parents=True, exist_ok=True)
    b = Boot(name, cmd, log=RESULTS / f"linux-{name}.console.log")
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    err_chunks = []
    err_reader = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()))
    err_reader.start()

    with open(b.log, "w", encoding="utf-8") as log:
        def read_console():
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                b.arrivals.append((time.monotonic() - start, line))
                log.write(line + "\n")
                log.flush()
        reader = threading.Thread(target=read_console)
        reader.start()
        try:
            b.status = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            b.timed_out = True
            proc.kill()
            proc.wait()
        b.seconds = time.monotonic() - start
        reader.join(10)
    err_reader.join(10)
    b.console = "\n".join(line for _, line in b.arrivals)
    b.stderr = b"".join(err_chunks).decode("utf-8", "replace")
    with open(RESULTS / f"linux-{name}.vmm.log", "w", encoding="utf-8") as f:
        f.write(f"command: {' '.join(cmd)}\nexit status: {b.status}\n"
                f"timed out after {timeout} s: {b.timed_out}\nwall time: {b.seconds:.1f} s\n"
                f"--- strata-vm stderr ---\n{b.stderr}")
    return b
