"""DHCP host reservations (`/v1/networks/N/hosts`): stratad writes them to
its dnsmasq's dhcp-hostsfile and SIGHUPs it, so a client with the reserved
MAC gets the reserved address from the real dnsmasq. The client is busybox's
udhcpc in a network namespace of its own, joined to the network's bridge by
a veth pair. Reservations survive a restart of stratad (in a new namespace:
the network is started again and serves them)."""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from hostlib import in_ns, netd, skip_loudly, stratad  # noqa: F401  (fixtures)

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


def test_cli_reservations_and_xml_hosts_served_by_dnsmasq(netd, client_ns, tmp_path):
    """A network defined from libvirt XML with a <dhcp><host/> serves it; the
    CLI's net-dhcp-host-add/-list/-remove and virsh's net-update form change
    what the running dnsmasq hands out."""
    d = netd
    f = tmp_path / "res.xml"
    f.write_text(f"""<network><name>res</name><bridge name='stbr-res'/>
      <ip address='10.85.0.1' prefix='24'><dhcp><host mac='{MAC}' ip='10.85.0.21' name='vm-a'/></dhcp></ip>
      </network>""")
    d.cli("net-define", f)
    d.cli("net-start", "res")
    plug(d, client_ns, MAC, 0)
    assert dhcp(client_ns, 0, 15) == "10.85.0.21"
    # virsh's form: added while dnsmasq runs, served to the second MAC
    out = d.cli("net-update", "res", "add", "ip-dhcp-host", f"<host mac='{OTHER}' ip='10.85.0.22'/>",
                "--live", "--config").stdout
    assert "10.85.0.22" in out, out
    plug(d, client_ns, OTHER, 1)
    assert dhcp(client_ns, 1, 15) == "10.85.0.22"
    listed = d.cli("net-dhcp-host-list", "res").stdout
    assert MAC in listed and "vm-a" in listed and "10.85.0.22" in listed, listed
    # removed by the CLI and added back at another address: dnsmasq follows
    d.cli("net-dhcp-host-remove", "res", OTHER)
    d.cli("net-dhcp-host-add", "res", OTHER, "10.85.0.23", "vm-b")
    assert dhcp(client_ns, 1, 15) == "10.85.0.23"
    xml_file = tmp_path / "host.xml"
    xml_file.write_text(f"<host mac='{OTHER}' ip='10.85.0.23'/>")
    d.cli("net-update", "res", "delete", "ip-dhcp-host", xml_file)
    assert [h["mac"] for h in json.loads(d.cli("--json", "net-dhcp-host-list", "res").stdout)] == [MAC]
    d.cli("net-destroy", "res")


@pytest.mark.parametrize("args,words", [
    (["net-dhcp-host-add", "res", "52:54:00:ab:cd", "10.86.0.5"], "mac"),
    (["net-dhcp-host-add", "res", OTHER, "10.87.0.5"], "subnet"),
    (["net-dhcp-host-add", "res", MAC, "10.86.0.6"], "already has a reservation"),
    (["net-dhcp-host-add", "res", OTHER, "10.86.0.7", "bad name"], "host name"),
    (["net-dhcp-host-add", "nope", OTHER, "10.86.0.7"], "nope"),
    (["net-dhcp-host-add", "res", OTHER], "usage"),
    (["net-dhcp-host-remove", "res", OTHER], "no reservation"),
    (["net-update", "res", "modify", "ip-dhcp-host", f"<host mac='{OTHER}' ip='10.86.0.7'/>"], "add, add-first"),
    (["net-update", "res", "add", "ip-dhcp-range", "<range start='10.86.0.2' end='10.86.0.9'/>"],
     "ip-dhcp-host"),
    (["net-update", "res", "add", "ip-dhcp-host", f"<host mac='{OTHER}'/>"], "needs a mac and an ip"),
    (["net-update", "res", "add", "ip-dhcp-host", "<host mac='x' ip='10.86.0.7'"], "XML"),
    (["net-update", "res", "add", "ip-dhcp-host", "/nonexistent/host.xml"], "/nonexistent/host.xml"),
])
def test_cli_reservation_errors_are_one_line(stratad, args, words):
    """Each bad reservation command fails with one line naming the problem, and changes nothing."""
    if not stratad.call("GET", "/v1/networks/res")[0] == 200:
        stratad.ok("POST", "/v1/networks", {"name": "res", "mode": "isolated", "ip": "10.86.0.1/24"})
        stratad.ok("POST", "/v1/networks/res/hosts", {"mac": MAC, "ip": "10.86.0.5"})
    r = stratad.cli(*args, check=False)
    assert r.returncode != 0 and r.stdout == "", (args, r)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and words.lower() in lines[0].lower(), (args, r.stderr)
    assert stratad.ok("GET", "/v1/networks/res/hosts") == [{"mac": MAC, "ip": "10.86.0.5"}]
