"""Issue 13 (stratad under load, libvirt fidelity), the follow-ups of item 9
and item 11:

- a start waits for its VMM to come up (up to --start-timeout) without the
  lock every call needs: other domains' define, start and list go on, a
  second operation on the starting domain is a 409 at once, and destroy
  ends the start (before: every call waited for the whole start);
- <memballoon model='none'> leaves the balloon out of strata-vm's command
  line (before: every guest got --balloon), model='virtio' keeps it, and
  dumpxml says which;
- a disk's <serial> apart from its target reaches strata-vm (virtio-blk's
  GET_ID) with the target as the disk's id (before: refused);
- a disk in an inactive pool is refused at start naming the pool (before:
  the guest started on the stopped pool's file).

No guest runs: the VMM is tests/integration/web/fake_vmm.py, which records
its command line and, while the test holds it, does not come up."""
import json
import threading
import time
import xml.etree.ElementTree as ET

import pytest

from hostlib import FAKE_VMM, Stratad, cleanup, short_tmpdir


@pytest.fixture(scope="module")
def fake():
    d = Stratad(short_tmpdir(), vm_binary=FAKE_VMM,
                # the test, not a deadline, decides how long a held start lasts
                extra_args=["--start-timeout", "3600"]).start()
    (d.state_dir / "kernel").write_bytes(b"\0" * 4096)
    (d.state_dir / "disk.img").write_bytes(b"\0" * 65536)
    yield d
    for hold in d.state_dir.glob("fake-vmm-*.hold"):
        hold.unlink()
    cleanup(d)


def define(d, name, **extra):
    return d.ok("POST", "/v1/domains", {"name": name, "memory_mib": 16,
                                        "os": {"kernel": str(d.state_dir / "kernel")}, **extra})


def vmm_file(d, uuid, suffix):
    return d.state_dir / f"fake-vmm-{uuid}.{suffix}"


def wait_for(what, cond, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


class HeldStart:
    """POST .../start of a domain whose VMM the test holds back."""

    def __init__(self, d, name):
        self.d, self.name = d, name
        self.uuid = d.ok("GET", f"/v1/domains/{name}")["uuid"]
        self.hold = vmm_file(d, self.uuid, "hold")
        self.hold.touch()
        self.result = {}
        self.thread = threading.Thread(target=self._start, daemon=True)
        self.thread.start()
        wait_for(f"{name}'s VMM waiting", vmm_file(d, self.uuid, "waiting").exists)

    def _start(self):
        self.result["reply"] = self.d.call("POST", f"/v1/domains/{self.name}/start")

    def pending(self):
        return self.thread.is_alive() and "reply" not in self.result

    def release(self):
        self.hold.unlink()
        self.thread.join(120)
        assert not self.thread.is_alive(), "the start did not end once its VMM came up"
        return self.result["reply"]


def test_a_starting_domain_stalls_no_other_domain(fake):
    """Before: the start held the host lock until its VMM answered, so the
    GET below waited for it (the client's 30 s timeout, or the start's own
    deadline, came first)."""
    define(fake, "slow")
    define(fake, "quick")
    held = HeldStart(fake, "slow")
    try:
        # the start is under way (its VMM is waiting for the test); meanwhile:
        listed = {x["name"]: x["state"] for x in fake.ok("GET", "/v1/domains")}
        assert listed["quick"] == "shutoff", listed
        info = fake.ok("GET", "/v1/domains/slow")
        assert info.get("busy") == "starting" and "vmm" not in info, info
        assert define(fake, "third")["name"] == "third"
        assert fake.ok("POST", "/v1/domains/quick/start")["state"] == "running"
        # a second operation on the starting domain: 409 at once, saying why
        for method, path in [("POST", "/v1/domains/slow/start"), ("POST", "/v1/domains/slow/suspend"),
                             ("POST", "/v1/domains/slow/reboot"), ("POST", "/v1/domains/slow/shutdown"),
                             ("DELETE", "/v1/domains/slow"), ("GET", "/v1/domains/slow/memstats")]:
            st, reply = fake.call(method, path)
            assert st == 409 and "busy: starting" in reply["error"]["message"], (method, path, st, reply)
        r = fake.cli("start", "slow", check=False)
        assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1 and "busy: starting" in r.stderr, r
        out = fake.cli("list", "--all").stdout
        assert "quick" in out and "third" in out, out
        assert held.pending(), "the start ended before its VMM came up"
    finally:
        st, reply = held.release()
    assert st == 200 and reply["state"] == "running", reply
    info = fake.ok("GET", "/v1/domains/slow")
    assert "busy" not in info and info["vmm"] == {"status": "running"}, info
    for name in ("slow", "quick"):
        fake.ok("POST", f"/v1/domains/{name}/destroy")
    for name in ("slow", "quick", "third"):
        fake.ok("DELETE", f"/v1/domains/{name}")


def test_destroy_ends_a_start_in_progress(fake):
    define(fake, "doomed")
    held = HeldStart(fake, "doomed")
    try:
        assert fake.ok("POST", "/v1/domains/doomed/destroy")["state"] == "shutoff"
        held.thread.join(120)
        st, reply = held.result["reply"]
        assert st == 409 and "destroyed while it started" in reply["error"]["message"], (st, reply)
    finally:
        held.hold.unlink(missing_ok=True)
    info = fake.ok("GET", "/v1/domains/doomed")
    assert info["state"] == "shutoff" and "busy" not in info and info["last_stop_reason"] == "destroyed", info
    # nothing is left of the run: the next start is a whole new one
    vmm_file(fake, info["uuid"], "argv").unlink()
    assert fake.ok("POST", "/v1/domains/doomed/start")["state"] == "running"
    fake.ok("POST", "/v1/domains/doomed/destroy")
    fake.ok("DELETE", "/v1/domains/doomed")


def post_xml(d, text):
    st, reply = d.call("POST", "/v1/domains", raw=text.encode(), headers={"Content-Type": "application/xml"})
    assert st == 201, reply
    return reply


def domain_xml(d, name, devices):
    return f"""<domain type='kvm'><name>{name}</name><memory unit='MiB'>16</memory>
  <os><type arch='x86_64'>hvm</type><kernel>{d.state_dir}/kernel</kernel></os>
  <devices>{devices}</devices></domain>"""


def started_argv(d, name):
    """strata-vm's command line for a start of name."""
    uuid = d.ok("GET", f"/v1/domains/{name}")["uuid"]
    vmm_file(d, uuid, "argv").unlink(missing_ok=True)
    d.ok("POST", f"/v1/domains/{name}/start")
    argv = json.loads(vmm_file(d, uuid, "argv").read_text())
    d.ok("POST", f"/v1/domains/{name}/destroy")
    return argv


def disk_specs(argv):
    return [argv[i + 1] for i, a in enumerate(argv) if a == "--disk"]


@pytest.mark.parametrize("model", ["virtio", "none", None])
def test_memballoon_model_reaches_the_vmm(fake, model):
    devices = f"<memballoon model='{model}'/>" if model else ""
    post_xml(fake, domain_xml(fake, "bal", devices))
    try:
        x = ET.fromstring(fake.ok("GET", "/v1/domains/bal/xml"))
        # libvirt's default when none is given: a virtio balloon
        assert [m.get("model") for m in x.findall("devices/memballoon")] == [model or "virtio"]
        assert ("--balloon" in started_argv(fake, "bal")) == (model != "none")
        if model == "none":
            st, reply = fake.call("GET", "/v1/domains/bal/memstats")
            assert st == 400 and "no memory balloon" in reply["error"]["message"], reply
        # what dumpxml gives defines the same domain again
        before = fake.ok("GET", "/v1/domains/bal")["definition"]
        fake.ok("DELETE", "/v1/domains/bal")
        assert post_xml(fake, ET.tostring(x, encoding="unicode"))["definition"] == before
    finally:
        fake.call("DELETE", "/v1/domains/bal")


def test_disk_serial_apart_from_its_target(fake):
    img = fake.state_dir / "disk.img"
    disks = (f"<disk type='file' device='disk'><source file='{img}'/><target dev='vda' bus='virtio'/>"
             "<serial>WD-WMAP9A966149</serial></disk>"
             f"<disk type='file' device='disk'><source file='{img}'/><target dev='vdb' bus='virtio'/>"
             "<readonly/></disk>")
    reply = post_xml(fake, domain_xml(fake, "ser", disks))
    try:
        assert [x.get("serial") for x in reply["definition"]["disks"]] == ["WD-WMAP9A966149", None]
        x = ET.fromstring(fake.ok("GET", "/v1/domains/ser/xml"))
        assert [s.text for s in x.findall("devices/disk/serial")] == ["WD-WMAP9A966149", "vdb"]
        assert disk_specs(started_argv(fake, "ser")) == [
            f"{img},format=raw,id=vda,serial=WD-WMAP9A966149", f"{img},format=raw,id=vdb,serial=vdb,ro"]
        before = reply["definition"]
        fake.ok("DELETE", "/v1/domains/ser")
        assert post_xml(fake, ET.tostring(x, encoding="unicode"))["definition"] == before
    finally:
        fake.call("DELETE", "/v1/domains/ser")
    # what the guest could not read back as given is refused, naming it
    for serial, why in [("eb90327c-8302-4725-9e1b-4e85ed4dc251", "1..20 bytes"), ("a,b", "character")]:
        st, reply = fake.call("POST", "/v1/domains", {"name": "ser", "os": {"kernel": str(fake.state_dir / "kernel")},
                                                      "disks": [{"path": str(img), "serial": serial}]})
        msg = reply["error"]["message"]
        assert st == 400 and "serial" in msg and why in msg and "\n" not in msg, reply


def test_a_disk_in_an_inactive_pool_is_refused_at_start(fake):
    """Before: the guest started on the stopped pool's file (200)."""
    pool_dir = fake.state_dir / "pool-x"
    pool_dir.mkdir()
    fake.ok("POST", "/v1/pools", {"name": "px", "type": "dir", "path": str(pool_dir)})  # active once defined
    fake.ok("POST", "/v1/pools/px/volumes", {"name": "root", "capacity": "1M", "format": "raw"})
    define(fake, "onpool", disks=[{"pool": "px", "volume": "root"}])
    fake.ok("POST", "/v1/pools/px/stop")
    try:
        st, reply = fake.call("POST", "/v1/domains/onpool/start")
        msg = reply["error"]["message"]
        assert st == 409 and "storage pool 'px' is not active" in msg and "\n" not in msg, (st, reply)
        r = fake.cli("start", "onpool", check=False)
        assert r.returncode != 0 and r.stderr.strip().count("\n") == 0 and \
            "storage pool 'px' is not active" in r.stderr, r
        assert fake.ok("GET", "/v1/domains/onpool")["state"] == "shutoff"
        # once the pool is active again, it starts
        fake.ok("POST", "/v1/pools/px/start")
        assert fake.ok("POST", "/v1/domains/onpool/start")["state"] == "running"
        fake.ok("POST", "/v1/domains/onpool/destroy")
    finally:
        fake.call("DELETE", "/v1/domains/onpool")

