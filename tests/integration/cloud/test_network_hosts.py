"""A server's NIC on real stratad hosts: the port the cloud made for it
(MAC and fixed IP) becomes a DHCP host reservation on the host's stratad
network of the network's name and the domain's NIC with that MAC, and the
failed build (no /dev/kvm here, or the network not started) removes the
reservation with the domain. The reservation's DHCP answer itself is
tests/integration/host/test_host_dhcp_hosts.py's (real dnsmasq)."""
import pytest

from test_compute_servers import bootable_image, flavor, wait_gone, wait_server
from test_compute_servers_hosts import POOL, add_hosts, attempts, cloud, hosts  # noqa: F401  (fixtures)
from pglib import postgres  # noqa: F401  (fixture)


def audited(d, path_part):
    return [(a["method"], a["path"], a["status"]) for a in d.ok("GET", "/v1/audit?limit=500")
            if path_part in a["path"]]


@pytest.mark.parametrize("cloud", ["sqlite"], indirect=True)
def test_server_nic_is_a_reservation_and_a_domain_nic_on_the_host(cloud, hosts, tmp_path):
    for d, _ in hosts:  # each host's stratad network of the cloud network's name
        d.ok("POST", "/v1/networks", {"name": "prov", "mode": "isolated", "ip": "10.90.0.1/24"})
    add_hosts(cloud, hosts, tmp_path)
    token = cloud.admin_token()
    cloud.openstack("network", "create", "--share", "prov")
    cloud.openstack("subnet", "create", "--network", "prov", "--subnet-range", "10.90.0.0/24",
                    "--allocation-pool", "start=10.90.0.10,end=10.90.0.20", "prov-v4")
    image = bootable_image(cloud, token)
    fl = flavor(cloud, token)
    made = cloud.openstack("server", "create", "--flavor", fl, "--image", image, "--network", "prov", "s1")
    server = wait_server(cloud, token, made["id"], ("ERROR", "ACTIVE"), seconds=300)
    addr = server["addresses"]["prov"][0]
    mac = addr["OS-EXT-IPS-MAC:mac_addr"]
    assert addr["addr"] == "10.90.0.10"
    if server["status"] == "ACTIVE":
        host = [d for d, _ in hosts if d.ok("GET", "/v1/domains")][0]
        assert host.ok("GET", "/v1/networks/prov/hosts") == [{"mac": mac, "ip": "10.90.0.10"}]
        return
    tried = attempts(cloud, made["id"])
    assert tried, cloud.log.read_text()[-3000:]
    by_name = {f"h{i}": d for i, (d, _) in enumerate(hosts)}
    for name in tried:
        d = by_name[name]
        # the reservation went in before the domain was defined, and left with it
        rows = audited(d, "/v1/networks/prov/hosts")
        assert ("POST", "/v1/networks/prov/hosts", 201) in rows, rows
        assert ("DELETE", f"/v1/networks/prov/hosts/{mac}", 200) in rows, rows
        assert ("POST", "/v1/domains", 201) in audited(d, "/v1/domains")
        assert d.ok("GET", "/v1/networks/prov/hosts") == []
        assert d.ok("GET", "/v1/domains") == [] and d.ok("GET", f"/v1/pools/{POOL}/volumes") == []
    # the port stays with the ERROR server until it is deleted
    _, _, ports = cloud.api("GET", f"/networking/v2.0/ports?device_id={made['id']}", token)
    assert [p["mac_address"] for p in ports["ports"]] == [mac]
    cloud.openstack("server", "delete", made["id"], fmt_json=False)
    wait_gone(cloud, token, made["id"])
    _, _, ports = cloud.api("GET", f"/networking/v2.0/ports?device_id={made['id']}", token)
    assert ports["ports"] == []
