"""Networks, inside a network namespace of their own (stratad runs under
`unshare -n`): a NAT network brings up a bridge, dnsmasq and an nftables
table; a guest's tap sits on the bridge; stopping leaves nothing behind."""
import json

from hostlib import guest, in_ns, links, netd, nft_tables  # noqa: F401  (fixture)


def dnsmasq_pid(d, name):
    pidfile = d.state_dir / "run" / f"net-{name}.pid"
    return int(pidfile.read_text()) if pidfile.exists() else None


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_nat_network_lifecycle(netd):
    d = netd
    d.ok("POST", "/v1/networks", {"name": "nat1", "mode": "nat", "ip": "10.77.0.1/24",
                                   "dhcp": {"start": "10.77.0.100", "end": "10.77.0.200"}})
    assert d.ok("GET", "/v1/networks/nat1")["active"] is False
    d.ok("POST", "/v1/networks/nat1/start")
    br = links(d)["stbr-nat1"]
    assert br["linkinfo"]["info_kind"] == "bridge" and "UP" in br["flags"]
    assert "10.77.0.1/24" in in_ns(d, "ip", "addr", "show", "stbr-nat1").stdout
    pid = dnsmasq_pid(d, "nat1")
    assert pid and alive(pid)
    cmdline = open(f"/proc/{pid}/cmdline").read().split("\0")
    assert "--interface=stbr-nat1" in cmdline and "--dhcp-range=10.77.0.100,10.77.0.200" in cmdline
    rules = in_ns(d, "nft", "list", "table", "ip", "strata_nat1").stdout
    assert "masquerade" in rules and "10.77.0.0/24" in rules
    assert d.ok("GET", "/v1/networks/nat1/leases") == []

    # a guest NIC on the network gets a tap on the bridge
    dom = d.ok("POST", "/v1/domains", {"name": "netguest", "memory_mib": 16, "os": {"kernel": guest("pwrbtn")},
                                       "interfaces": [{"type": "network", "source": "nat1"}]})
    tap = "stt" + dom["uuid"][:8] + "-0"
    d.ok("POST", "/v1/domains/netguest/start")
    assert links(d)[tap]["master"] == "stbr-nat1"
    status, reply = d.call("POST", "/v1/networks/nat1/stop")
    assert status == 409 and "netguest" in reply["error"]["message"]
    assert "stbr-nat1" in links(d)
    d.ok("POST", "/v1/domains/netguest/destroy")
    assert tap not in links(d)

    assert d.call("DELETE", "/v1/networks/nat1")[0] == 409  # active
    d.ok("POST", "/v1/networks/nat1/stop")
    assert "stbr-nat1" not in links(d)
    assert "strata_nat1" not in nft_tables(d)
    assert not alive(pid)
    assert not (d.state_dir / "run" / "net-nat1.pid").exists()
    d.ok("DELETE", "/v1/networks/nat1")


def test_isolated_routed_and_bridge(netd):
    d = netd
    d.ok("POST", "/v1/networks", {"name": "iso", "mode": "isolated", "ip": "10.78.0.1/24"})
    d.ok("POST", "/v1/networks", {"name": "rt", "mode": "routed", "ip": "10.79.0.1/24"})
    for n in ("iso", "rt"):
        d.ok("POST", f"/v1/networks/{n}/start")
    iso = in_ns(d, "nft", "list", "table", "ip", "strata_iso").stdout
    rt = in_ns(d, "nft", "list", "table", "ip", "strata_rt").stdout
    assert "masquerade" not in iso and "drop" in iso
    assert "masquerade" not in rt and "10.79.0.0/24 accept" in rt
    assert d.call("POST", "/v1/networks/iso/start")[0] == 409
    for n in ("iso", "rt"):
        d.ok("POST", f"/v1/networks/{n}/stop")
    assert "strata_" not in nft_tables(d)
    assert not [x for x in links(d) if x.startswith("stbr-")]

    # bridge mode: guests join a bridge that already exists
    assert in_ns(d, "ip", "link", "add", "name", "br0", "type", "bridge").returncode == 0
    d.ok("POST", "/v1/networks", {"name": "lan", "mode": "bridge", "bridge": "br0"})
    dom = d.ok("POST", "/v1/domains", {"name": "bridged", "memory_mib": 16, "os": {"kernel": guest("pwrbtn")},
                                       "interfaces": [{"type": "network", "source": "lan"},
                                                      {"type": "bridge", "source": "br0"}]})
    d.ok("POST", "/v1/domains/bridged/start")
    ls = links(d)
    for i in (0, 1):
        assert ls["stt" + dom["uuid"][:8] + f"-{i}"]["master"] == "br0"
    d.ok("POST", "/v1/domains/bridged/destroy")
    assert not [x for x in links(d) if x.startswith("stt")]


def test_network_bad_input(netd):
    d = netd
    for body in ({"name": "x", "mode": "nat"}, {"name": "x", "mode": "warp", "ip": "10.0.0.1/24"},
                 {"name": "x", "ip": "10.0.0.1/24", "colour": 1}, {"name": "../x", "ip": "10.0.0.1/24"},
                 {"name": "x", "mode": "bridge"}, {"name": "x", "ip": "300.0.0.1/24"}):
        status, reply = d.call("POST", "/v1/networks", body=body)
        assert status == 400, (body, reply)
    assert d.ok("GET", "/v1/networks") == []
    # a guest on an inactive network does not start, and leaves no tap
    d.ok("POST", "/v1/networks", {"name": "off", "ip": "10.80.0.1/24"})
    d.ok("POST", "/v1/domains", {"name": "g", "memory_mib": 16, "os": {"kernel": guest("pwrbtn")},
                                 "interfaces": [{"type": "network", "source": "off"}]})
    status, reply = d.call("POST", "/v1/domains/g/start")
    assert status == 400 and "not active" in reply["error"]["message"]
    assert not [x for x in links(d) if x.startswith("stt")] and d.vmm_pids() == []


def test_network_cli(netd):
    d = netd
    f = d.state_dir / "n.json"
    f.write_text(json.dumps({"name": "clinet", "ip": "10.81.0.1/24", "dhcp": {"start": "10.81.0.10",
                                                                               "end": "10.81.0.20"}}))
    d.cli("net-define", f)
    d.cli("net-start", "clinet")
    assert "active" in d.cli("net-list").stdout
    assert d.cli("net-info", "clinet").stdout.splitlines() == [
        "Name:        clinet", "Mode:        nat", "Bridge:      stbr-clinet", "Address:     10.81.0.1/24",
        "Active:      yes"]
    d.cli("net-autostart", "clinet")
    assert "Expiry" in d.cli("net-dhcp-leases", "clinet").stdout
    d.cli("net-destroy", "clinet")
    # autostart: the next stratad (here in a fresh namespace) starts it again
    d.stop()
    d.start()
    assert json.loads(d.cli("--json", "net-info", "clinet").stdout)["active"] is True
    assert "stbr-clinet" in links(d)
    pid = dnsmasq_pid(d, "clinet")
    d.cli("net-destroy", "clinet")
    assert not alive(pid) and "stbr-clinet" not in links(d)
