"""Issue 13, item 9: a GET on a domain whose VMM stops answering held the
lock every call needs, so every other call waited.

No guest runs here: the "VMM" is a real peer of stratad's control protocol, a
unix socket this test serves at the domain's control path, and the run is
one stratad re-attaches to after a restart (a runtime row naming two live
processes that stand in for the keeper and the VMM). The peer answers at
first, then keeps one request open by sending a space now and then without
ever finishing the line, for as long as the test wants."""
import json
import socket
import sqlite3
import subprocess
import threading
import time

import pytest

from hostlib import Stratad, cleanup, guest, short_tmpdir


class FakeVMM:
    """Answers "status" and "query-devices"; while held, keeps each request
    open, sending a space every 0.2 s, and counts the requests waiting."""

    def __init__(self, path):
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(64)
        self.hold = threading.Event()
        self.waiting = 0
        self.cond = threading.Condition()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(c,), daemon=True).start()

    def _one(self, c):
        with c:
            buf = b""
            while b"\n" not in buf:
                chunk = c.recv(4096)
                if not chunk:
                    return
                buf += chunk
            cmd = json.loads(buf.split(b"\n")[0])["execute"]
            if self.hold.is_set():
                with self.cond:
                    self.waiting += 1
                    self.cond.notify_all()
                try:
                    while self.hold.is_set():
                        c.sendall(b" ")
                        time.sleep(0.2)
                finally:
                    with self.cond:
                        self.waiting -= 1
            ret = {"status": "running"} if cmd == "status" else {"devices": []}
            c.sendall(json.dumps({"return": ret}).encode() + b"\n")

    def wait_waiting(self, timeout=60):
        with self.cond:
            assert self.cond.wait_for(lambda: self.waiting > 0, timeout), "stratad never asked the VMM"

    def close(self):
        self.hold.clear()
        self.srv.close()


def starttime(pid):
    return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[19])


@pytest.fixture
def hung():
    d = Stratad(short_tmpdir()).start()
    stand_ins = [subprocess.Popen(["sleep", "100000"]) for _ in range(2)]
    vmm = None
    try:
        for name in ("hung", "other"):
            d.ok("POST", "/v1/domains", {"name": name, "memory_mib": 16, "os": {"kernel": guest("pwrbtn")}})
        uid = d.ok("GET", "/v1/domains/hung")["uuid"]
        d.stop()
        keeper, vm = stand_ins
        db = sqlite3.connect(d.state_dir / "stratad.db")
        db.execute("INSERT INTO runtime(uuid, state, vm_pid, vm_start, keeper_pid, keeper_start, started_at)"
                   " VALUES(?, 'running', ?, ?, ?, ?, ?)",
                   (uid, vm.pid, starttime(vm.pid), keeper.pid, starttime(keeper.pid), int(time.time())))
        db.commit()
        db.close()
        vmm = FakeVMM(str(d.state_dir / "run" / f"{uid}.ctl"))
        d.start()
        assert d.ok("GET", "/v1/domains/hung")["state"] == "running"
        yield d, vmm
    finally:
        if vmm:
            vmm.close()
        for p in stand_ins:
            p.kill()
            p.wait()
        cleanup(d)


def test_a_hung_vmm_stalls_only_its_own_caller(hung):
    d, vmm = hung
    vmm.hold.set()
    result = {}

    def ask():
        result["hung"] = d.call("GET", "/v1/domains/hung")

    t = threading.Thread(target=ask, daemon=True)
    t.start()
    vmm.wait_waiting()
    # stratad is inside a request to the VMM that does not end while held
    st, other = d.call("GET", "/v1/domains/other")
    assert st == 200 and other["name"] == "other"
    assert d.call("GET", "/v1/host")[0] == 200
    assert d.call("GET", "/v1/domains")[0] == 200
    assert t.is_alive() and "hung" not in result, "the held request ended on its own"
    vmm.hold.clear()
    t.join(60)
    st, info = result["hung"]
    assert st == 200 and info["state"] == "running" and info["vmm"] == {"status": "running"}, info


def run_held(d, vmm, method, path, body=None):
    """Sends one request that the held VMM keeps open; returns the thread and
    where its (status, reply) lands once the VMM lets go."""
    result = {}

    def send():
        result["reply"] = d.call(method, path, body)

    t = threading.Thread(target=send, daemon=True)
    t.start()
    vmm.wait_waiting()
    return t, result


# (operation on the hung domain, what the domain says once the VMM answers)
HELD_OPERATIONS = {
    "suspend": ("POST", "/v1/domains/hung/suspend", None),
    "shutdown": ("POST", "/v1/domains/hung/shutdown", None),
    "attach": ("POST", "/v1/domains/hung/disks", "DISK"),
}


@pytest.mark.parametrize("op", sorted(HELD_OPERATIONS))
def test_a_long_operation_busies_only_its_domain(hung, op, tmp_path):
    """The follow-up of item 9: shutdown, suspend and disk attach held the
    lock every call needs while their VMM answered (before: the calls on
    'other' below timed out after 30 s); a second operation on the same
    domain is refused as busy (409) instead of queueing behind it."""
    d, vmm = hung
    disk = tmp_path / "extra.img"
    disk.write_bytes(b"\0" * 65536)
    method, path, body = HELD_OPERATIONS[op]
    vmm.hold.set()
    t, result = run_held(d, vmm, method, path, {"path": str(disk)} if body == "DISK" else None)
    # other domains, the host and writes elsewhere go on
    assert d.ok("GET", "/v1/domains/other")["name"] == "other"
    assert d.call("GET", "/v1/domains")[0] == 200
    assert d.ok("POST", "/v1/domains", {"name": "third", "memory_mib": 16,
                                        "os": {"kernel": guest("pwrbtn")}})["name"] == "third"
    # a second operation on the busy domain: 409 at once, naming what it waits for
    for second in [("POST", "/v1/domains/hung/resume", None), ("POST", "/v1/domains/hung/suspend", None),
                   ("POST", "/v1/domains/hung/disks", {"path": str(disk), "target": "vdq"}),
                   ("DELETE", "/v1/domains/hung/disks/vdq", None)]:
        st, reply = d.call(*second)
        assert st == 409 and "busy" in reply["error"]["message"], (second, st, reply)
    assert t.is_alive() and "reply" not in result, "the held request ended on its own"
    vmm.hold.clear()
    t.join(60)
    st, reply = result["reply"]
    assert st in (200, 201), reply
    info = d.ok("GET", "/v1/domains/hung")
    if op == "suspend":
        assert info["state"] == "paused"
    elif op == "shutdown":
        assert info["shutting_down"] is True
    else:
        assert [x["path"] for x in info["definition"]["disks"]] == [str(disk)]
    # the busy mark is gone: the next operation goes through
    if op != "shutdown":
        assert d.ok("POST", "/v1/domains/hung/resume" if op == "suspend" else "/v1/domains/hung/suspend")
