"""Guests get their disks and NICs from stratad: a domain defined through
the CLI with a qcow2 pool volume, a read-only raw disk, a qcow2 overlay on a
raw base volume and a NIC on a NAT network runs tests/guest/host-io.c, which writes a pattern to its disk,
checks the read-only one refuses writes, and sends frames; the host checks
the image bytes (qemu-img), sees the frames on the bridge with the domain's
MAC, and (with the guest's own DHCP client) lists the lease dnsmasq gave.
stratad runs in a network namespace of its own (unshare -n)."""
import hashlib
import json
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

from hostlib import Events, guest, in_ns, links, netd  # noqa: F401  (fixture)

CATCH = Path(__file__).resolve().parent / "frame_catch.py"
MASK = (1 << 64) - 1
ETHERTYPE = 0x88b5


def pattern(seed, off, length):
    """What host-io.c writes at disk offset off."""
    return b"".join(struct.pack("<Q", (((o ^ seed) * 0x9e3779b97f4a7c15) + 0x1234567) & MASK)
                    for o in range(off, off + length, 8))


class Catcher:
    """frame_catch.py in the daemon's namespace, bound before the guest runs."""

    def __init__(self, d, iface, count):
        self.p = subprocess.Popen(["nsenter", "-t", str(d.proc.pid), "-n", sys.executable, str(CATCH), iface,
                                   str(ETHERTYPE), str(count), "60"], stdout=subprocess.PIPE, text=True)
        assert self.p.stdout.readline().strip() == "ready", "the frame catcher did not start"

    def frames(self):
        out, _ = self.p.communicate(timeout=90)
        return [line.split(" ", 1) for line in out.splitlines() if line]


def run_to_end(d, ev, name):
    """Starts a host-io domain through the CLI; its verdict is how it ended."""
    d.cli("start", name)
    got = ev.expect(name, "started", "stopped", timeout=120)
    assert got[1]["reason"] == "poweroff", \
        f"host-io failed ({got[1]['reason']}): " + (d.state_dir / "log" / f"{name}.log").read_text(errors="replace")


def nat_network(d, name, subnet):
    f = d.state_dir / f"{name}.json"
    f.write_text(json.dumps({"name": name, "mode": "nat", "ip": f"{subnet}.1/24",
                             "dhcp": {"start": f"{subnet}.100", "end": f"{subnet}.199"}}))
    d.cli("net-define", f)
    d.cli("net-start", name)


def define(d, name, body):
    f = d.state_dir / f"{name}.json"
    f.write_text(json.dumps({"name": name, "memory_mib": 64, **body}))
    d.cli("define", f)
    return json.loads(d.cli("--json", "dominfo", name).stdout)


def run_catching_frames(d, name, body, iface, seed):
    """Defines and runs a host-io domain with a catcher on iface: its first
    NIC's MAC, after checking the guest's three frames came from it."""
    info = define(d, name, {**body, "os": {"kernel": guest("host-io"), "cmdline": f"seed={seed}"}})
    mac = info["definition"]["interfaces"][0]["mac"]
    ev = Events(d)
    catcher = Catcher(d, iface, 3)
    run_to_end(d, ev, name)
    frames = catcher.frames()
    assert frames == [[mac, f"strata-host-io 0 {seed}"]] * 3, f"frames seen on {iface}: {frames}"
    return mac


def test_qcow2_volume_readonly_disk_and_nat_nic(netd, tmp_path):
    d = netd
    if not shutil.which("qemu-img"):
        from conftest import skip_loudly
        skip_loudly("qemu-img is missing (qemu-utils): cannot check the qcow2 image")
    nat_network(d, "gio", "10.90.0")
    pool = tmp_path / "pool"
    d.cli("pool-define-as", "gp", "dir", pool)
    d.cli("vol-create-as", "gp", "root.qcow2", "8M", "--format", "qcow2")
    # an overlay on a raw base: the guest's writes land in the overlay only
    d.cli("vol-create-as", "gp", "base.raw", "4M")
    base = pool / "base.raw"
    with open(base, "r+b") as f:
        f.write(b"BASEDATA" * 512)
    base_bytes = base.read_bytes()
    d.cli("vol-clone", "base.raw", "child.qcow2", "--pool", "gp", "--overlay")
    ro = tmp_path / "ro.raw"
    ro.write_bytes(b"STRATA-RO".ljust(1 << 20, b"\0"))
    ro_sum = hashlib.sha256(ro.read_bytes()).hexdigest()
    seed = 0x5eed1234
    run_catching_frames(d, "gio", {"disks": [{"pool": "gp", "volume": "root.qcow2", "format": "qcow2"},
                                             {"path": str(ro), "readonly": True},
                                             {"pool": "gp", "volume": "child.qcow2", "format": "qcow2"}],
                                   "interfaces": [{"type": "network", "source": "gio"}]}, "stbr-gio", seed)
    # the run's tap is gone with the VMM
    assert not [x for x in links(d) if x.startswith("stt")]

    img = pool / "root.qcow2"
    check = subprocess.run(["qemu-img", "check", str(img)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    raw = tmp_path / "root.raw"
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(img), str(raw)], check=True)
    data = raw.read_bytes()
    assert len(data) == 8 << 20
    assert data[1 << 20:(1 << 20) + 65536] == pattern(seed, 1 << 20, 65536), "the guest's bytes are not in the volume"
    assert data[:1 << 20] == bytes(1 << 20) and data[(1 << 20) + 65536:] == bytes(len(data) - (1 << 20) - 65536)
    assert hashlib.sha256(ro.read_bytes()).hexdigest() == ro_sum, "the read-only disk changed"
    assert base.read_bytes() == base_bytes, "the overlay's base changed"
    child = pool / "child.qcow2"
    assert subprocess.run(["qemu-img", "check", str(child)], capture_output=True).returncode == 0
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(child), str(tmp_path / "child.raw")], check=True)
    data = (tmp_path / "child.raw").read_bytes()
    assert data[:4096] == b"BASEDATA" * 512 and data[1 << 20:(1 << 20) + 65536] == pattern(seed, 1 << 20, 65536)


def test_two_nics_keep_their_order(netd):
    """NIC i is fd 3 + i in the VMM: the guest's NIC 0 frames appear on the
    NAT bridge with NIC 0's MAC, NIC 1's on the other bridge with its MAC."""
    d = netd
    nat_network(d, "two", "10.93.0")
    assert in_ns(d, "ip", "link", "add", "name", "br9", "type", "bridge").returncode == 0
    assert in_ns(d, "ip", "link", "set", "br9", "up").returncode == 0
    info = define(d, "twonic", {"os": {"kernel": guest("host-io"), "cmdline": "seed=5"},
                                "interfaces": [{"type": "network", "source": "two"},
                                               {"type": "bridge", "source": "br9"}]})
    macs = [n["mac"] for n in info["definition"]["interfaces"]]
    ev = Events(d)
    catchers = [Catcher(d, "stbr-two", 3), Catcher(d, "br9", 3)]
    run_to_end(d, ev, "twonic")
    for i, c in enumerate(catchers):
        assert c.frames() == [[macs[i], f"strata-host-io {i} 5"]] * 3


def test_dhcp_lease_of_a_guest_listed(netd):
    d = netd
    nat_network(d, "dh", "10.91.0")
    info = define(d, "dhc", {"os": {"kernel": guest("host-io"), "cmdline": "seed=3 dhcp=1"},
                             "interfaces": [{"type": "network", "source": "dh", "mac": "52:54:00:12:34:56"}]})
    assert info["definition"]["interfaces"][0]["mac"] == "52:54:00:12:34:56"
    ev = Events(d)
    run_to_end(d, ev, "dhc")
    leases = json.loads(d.cli("--json", "net-dhcp-leases", "dh").stdout)
    assert len(leases) == 1, leases
    lease = leases[0]
    assert lease["mac"] == "52:54:00:12:34:56" and lease["hostname"] == "host-io"
    assert re.fullmatch(r"10\.91\.0\.1[0-9][0-9]", lease["ip"]), lease
    table = d.cli("net-dhcp-leases", "dh").stdout
    assert "52:54:00:12:34:56" in table and lease["ip"] in table and "host-io" in table
    # the domain's own view: its NIC's address, from the same lease
    addrs = json.loads(d.cli("--json", "domifaddr", "dhc").stdout)
    assert addrs == [{"type": "network", "source": "dh", "mac": "52:54:00:12:34:56", "tap": None,
                      "ip": lease["ip"]}]
    assert lease["ip"] in d.cli("domifaddr", "dhc").stdout


def test_macvtap_direct_nic_on_a_veth(netd):
    """direct: a macvtap on a veth in the namespace; the peer end sees the frames."""
    d = netd
    r = in_ns(d, "ip", "link", "add", "vparent", "type", "veth", "peer", "name", "vpeer")
    assert r.returncode == 0, r.stderr
    for dev in ("vparent", "vpeer"):
        assert in_ns(d, "ip", "link", "set", dev, "up").returncode == 0
    run_catching_frames(d, "mvt", {"interfaces": [{"type": "direct", "source": "vparent"}]}, "vpeer", 9)
    # the macvtap is removed when the run ends; the parent stays
    ls = links(d)
    assert "vparent" in ls and not [x for x in ls if x.startswith("stt")]


def test_direct_nic_on_a_missing_device_refused(netd):
    d = netd
    define(d, "nodev", {"os": {"kernel": guest("host-io")},
                        "interfaces": [{"type": "direct", "source": "nosuchdev"}]})
    r = d.cli("start", "nodev", check=False)
    assert r.returncode == 1 and "host device 'nosuchdev' does not exist" in r.stderr, r.stderr
    status, reply = d.call("POST", "/v1/domains/nodev/start")
    assert status == 400, reply
    assert json.loads(d.cli("--json", "dominfo", "nodev").stdout)["state"] == "shutoff"
    assert d.vmm_pids() == [] and not [x for x in links(d) if x.startswith("stt")]


def test_nic_survives_a_stratad_kill(netd):
    """kill -9 stratad: the guest keeps its tap (the VMM holds it) on the
    bridge; the next stratad (in the same namespace) re-attaches, and a
    destroy then leaves no tap behind."""
    import signal
    d = netd
    nat_network(d, "kn", "10.92.0")
    dom = define(d, "kg", {"memory_mib": 16, "os": {"kernel": guest("pwrbtn")},
                           "interfaces": [{"type": "network", "source": "kn"}]})
    tap = "stt" + dom["uuid"][:8] + "-0"
    pid = d.ok("POST", "/v1/domains/kg/start")["pid"]
    assert links(d)[tap]["master"] == "stbr-kn"
    d.stop(signal.SIGKILL)
    d.wrapper = ["nsenter", "-t", str(pid), "-n"]  # the namespace lives on in the guest's VMM
    d.start()
    assert links(d)[tap]["master"] == "stbr-kn"
    info = d.ok("GET", "/v1/domains/kg")
    assert info["state"] == "running" and info["pid"] == pid and d.vmm_pids() == [pid]
    # the VMM's own view: its NIC is on that tap
    assert [x["tap"] for x in info["devices"] if "tap" in x] == [tap]
    assert f"{tap}: rx" in d.cli("dominfo", "kg").stdout
    assert d.ok("GET", "/v1/domains/kg/interfaces")[0]["tap"] == tap
    assert d.call("GET", "/v1/domains/nosuch/interfaces")[0] == 404
    d.ok("POST", "/v1/domains/kg/destroy")
    assert not [x for x in links(d) if x.startswith("stt")] and d.vmm_pids() == []
