"""DHCP host reservations (`/v1/networks/N/hosts`): stratad writes them to
its dnsmasq's dhcp-hostsfile and SIGHUPs it, so a client with the reserved
MAC gets the reserved address from the real dnsmasq. The client is busybox's
udhcpc in a network namespace of its own, joined to the network's bridge by
a veth pair. Reservations survive a restart of stratad (in a new namespace:
the network is started again and serves them)."""
import os
import shutil
import signal
import subprocess
import time

import pytest

from hostlib import in_ns, netd, skip_loudly  # noqa: F401  (fixture)

MAC = "52:54:00:ab:cd:01"
OTHER = "52:54:00:ab:cd:02"


@pytest.fixture
def client_ns():
    """A process holding a network namespace for the DHCP client."""
    if not shutil.which("busybox"):
        skip_loudly("busybox is not installed (its udhcpc is the DHCP client)")
    holder = subprocess.Popen(["unshare", "-n", "sleep", "3600"])
    deadline = time.time() + 30
    # unshare execs sleep once the namespace is made
    while time.time() < deadline and os.readlink(f"/proc/{holder.pid}/ns/net") == os.readlink("/proc/self/ns/net"):
        time.sleep(0.05)
    yield holder.pid
    holder.send_signal(signal.SIGKILL)
    holder.wait()


def plug(d, ns_pid, mac, idx):
    """A veth from the network's bridge into the client's namespace, named cIDX."""
    host_end, peer = f"vh{idx}", f"vc{idx}"
    for cmd in (["ip", "link", "add", host_end, "type", "veth", "peer", "name", peer],
                ["ip", "link", "set", host_end, "master", "stbr-res", "up"],
                ["ip", "link", "set", peer, "netns", str(ns_pid)]):
        r = in_ns(d, *cmd)
        assert r.returncode == 0, r.stderr
    for cmd in (["ip", "link", "set", peer, "address", mac], ["ip", "link", "set", peer, "up"]):
        r = subprocess.run(["nsenter", "-t", str(ns_pid), "-n"] + cmd, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


def dhcp(ns_pid, idx, tries):
    """The address udhcpc obtains on veth IDX, or None."""
    r = subprocess.run(["nsenter", "-t", str(ns_pid), "-n", "busybox", "udhcpc", "-i", f"vc{idx}", "-f", "-q", "-n",
                        "-t", str(tries), "-T", "2", "-A", "1", "-s", "/bin/true"],
                       capture_output=True, text=True, timeout=30 + 3 * tries)
    for line in (r.stdout + r.stderr).splitlines():
        if "lease of" in line and "obtained" in line:
            return line.split("lease of", 1)[1].split()[0]
    return None


def test_reservation_served_by_dnsmasq_and_kept_across_restart(netd, client_ns):
    d = netd
    d.ok("POST", "/v1/networks", {"name": "res", "mode": "isolated", "ip": "10.81.0.1/24",
                                   "dhcp": {"start": "10.81.0.100", "end": "10.81.0.200"}})
    d.ok("POST", "/v1/networks/res/start")
    assert d.ok("GET", "/v1/networks/res/hosts") == []
    # added while dnsmasq runs: it learns it by SIGHUP
    assert d.ok("POST", "/v1/networks/res/hosts", {"mac": MAC.upper(), "ip": "10.81.0.42", "name": "vm-a"}) == \
        {"mac": MAC, "ip": "10.81.0.42", "name": "vm-a"}
    hostsfile = d.state_dir / "net-res.hostsfile"
    assert hostsfile.read_text() == f"{MAC},10.81.0.42,vm-a\n"
    plug(d, client_ns, MAC, 0)
    assert dhcp(client_ns, 0, 15) == "10.81.0.42"
    leases = d.ok("GET", "/v1/networks/res/leases")
    assert [(x["mac"], x["ip"]) for x in leases] == [(MAC, "10.81.0.42")]

    # stratad restarted (a fresh namespace: the network starts again) keeps it
    d.ok("POST", "/v1/networks/res/stop")
    d.stop()
    d.start()
    assert d.ok("GET", "/v1/networks/res/hosts") == [{"mac": MAC, "ip": "10.81.0.42", "name": "vm-a"}]
    d.ok("POST", "/v1/networks/res/start")
    cmdline = open(f"/proc/{int((d.state_dir / 'run' / 'net-res.pid').read_text())}/cmdline").read().split("\0")
    assert f"--dhcp-hostsfile={hostsfile}" in cmdline
    plug(d, client_ns, MAC, 1)
    assert dhcp(client_ns, 1, 15) == "10.81.0.42"

    # deleted: the next client with that MAC gets a dynamic address instead
    d.ok("DELETE", f"/v1/networks/res/hosts/{MAC}")
    assert d.ok("GET", "/v1/networks/res/hosts") == []
    assert d.call("DELETE", f"/v1/networks/res/hosts/{MAC}")[0] == 404
    d.ok("POST", "/v1/networks/res/hosts", {"mac": OTHER, "ip": "10.81.0.42"})
    got = dhcp(client_ns, 1, 15)
    assert got and got != "10.81.0.42" and 100 <= int(got.rsplit(".", 1)[1]) <= 200, got
    d.ok("POST", "/v1/networks/res/stop")
    d.ok("DELETE", "/v1/networks/res")
    assert not hostsfile.exists()


def test_static_only_network_serves_reserved_macs_only(netd, client_ns):
    """A network without a dynamic range answers reserved MACs and no one else."""
    d = netd
    d.ok("POST", "/v1/networks", {"name": "res", "mode": "isolated", "ip": "10.82.0.1/24"})
    d.ok("POST", "/v1/networks/res/start")
    plug(d, client_ns, MAC, 0)
    assert dhcp(client_ns, 0, 2) is None
    d.ok("POST", "/v1/networks/res/hosts", {"mac": MAC, "ip": "10.82.0.7"})
    assert dhcp(client_ns, 0, 15) == "10.82.0.7"
    d.ok("POST", "/v1/networks/res/stop")


def test_reservation_bad_input(netd):
    d = netd
    d.ok("POST", "/v1/networks", {"name": "res", "mode": "isolated", "ip": "10.83.0.1/24"})
    d.ok("POST", "/v1/networks", {"name": "lan", "mode": "bridge", "bridge": "br9"})
    d.ok("POST", "/v1/networks/res/hosts", {"mac": MAC, "ip": "10.83.0.5"})
    bad = [
        ({"mac": "52:54:00:ab:cd", "ip": "10.83.0.6"}, 400, "mac"),
        ({"mac": "53:54:00:ab:cd:09", "ip": "10.83.0.6"}, 400, "unicast"),
        ({"mac": OTHER, "ip": "10.84.0.6"}, 400, "subnet"),
        ({"mac": OTHER, "ip": "10.83.0.255"}, 400, "subnet"),
        ({"mac": OTHER, "ip": "10.83.0.1"}, 400, "own address"),
        ({"mac": OTHER, "ip": "not-an-ip"}, 400, "IPv4"),
        ({"mac": OTHER, "ip": "10.83.0.6", "name": "bad name"}, 400, "host name"),
        ({"mac": OTHER, "ip": "10.83.0.6", "extra": 1}, 400, "extra"),
        ({"mac": MAC, "ip": "10.83.0.6"}, 409, "already"),
        ({"mac": OTHER, "ip": "10.83.0.5"}, 409, "already reserved"),
    ]
    for body, status, words in bad:
        got, reply = d.call("POST", "/v1/networks/res/hosts", body)
        assert got == status and words in reply["error"]["message"], (body, got, reply)
    assert d.call("POST", "/v1/networks/lan/hosts", {"mac": OTHER, "ip": "10.83.0.6"})[0] == 400
    assert d.call("GET", "/v1/networks/nope/hosts")[0] == 404
    assert d.call("POST", "/v1/networks/nope/hosts", {"mac": OTHER, "ip": "10.83.0.6"})[0] == 404
    assert d.ok("GET", "/v1/networks/res/hosts") == [{"mac": MAC, "ip": "10.83.0.5"}]
