"""The minimal Networking API (Neutron v2.0 at /networking) and servers'
NICs, without hosts: provider networks and subnets made by an admin and
read through the real `openstack` CLI, ports, each server NIC a port whose
MAC and fixed IP the cloud chose (shown in the server's addresses), IPs
never given twice even when many servers build at once (SQLite and
PostgreSQL), the port freed with the server. The NIC on a real stratad
host (its DHCP reservation) is test_network_hosts.py's."""
import threading

from cloudlib import cloud, nova_error  # noqa: F401  (cloud: a fixture)
from pglib import postgres  # noqa: F401  (fixture)
from test_cloud_two_nodes import two_nodes  # noqa: F401  (fixture)
from test_compute_servers import SERVERS, bootable_image, flavor, wait_gone, wait_server

NET = "/networking/v2.0"


def provider(cloud, name="prov", cidr="10.90.0.0/24", pool=("10.90.0.10", "10.90.0.12")):
    """An admin's shared provider network with one subnet, by the CLI."""
    net = cloud.openstack("network", "create", "--share", "--provider-network-type", "flat", name)
    sub = cloud.openstack("subnet", "create", "--network", name, "--subnet-range", cidr,
                          "--allocation-pool", f"start={pool[0]},end={pool[1]}", "--dhcp", name + "-v4")
    return net, sub


def addresses(cloud, token, sid):
    _, _, body = cloud.api("GET", f"{SERVERS}/{sid}", token)
    return body["server"]["addresses"]


def test_networks_and_subnets_through_the_cli(cloud):
    net, sub = provider(cloud)
    assert net["name"] == "prov" and net["provider:network_type"] == "flat"
    assert net["provider:physical_network"] == "prov" and net["shared"] is True
    assert net["status"] == "ACTIVE"
    assert sub["cidr"] == "10.90.0.0/24" and sub["gateway_ip"] == "10.90.0.1"
    assert sub["allocation_pools"] == [{"start": "10.90.0.10", "end": "10.90.0.12"}]
    assert sub["enable_dhcp"] is True and sub["network_id"] == net["id"]
    listed = cloud.openstack("network", "list")
    assert [(n["Name"], n["Subnets"]) for n in listed] == [("prov", [sub["id"]])]
    shown = cloud.openstack("network", "show", "prov")
    assert shown["id"] == net["id"] and shown["subnets"] == [sub["id"]]
    assert cloud.openstack("subnet", "show", "prov-v4")["id"] == sub["id"]
    assert [s["ID"] for s in cloud.openstack("subnet", "list", "--network", "prov")] == [sub["id"]]
    assert cloud.openstack("network", "list", "--name", "nope") == []
    # the gateway default and the whole cidr as the pool
    other = cloud.openstack("network", "create", "other")
    s2 = cloud.openstack("subnet", "create", "--network", "other", "--subnet-range", "10.91.0.0/29", "o4")
    assert s2["gateway_ip"] == "10.91.0.1" and s2["allocation_pools"] == [{"start": "10.91.0.2",
                                                                            "end": "10.91.0.6"}]
    token = cloud.admin_token()
    status, _, body = cloud.api("GET", f"{NET}/networks?name=other&shared=false", token)
    assert status == 200 and [n["id"] for n in body["networks"]] == [other["id"]]
    status, _, body = cloud.api("GET", f"{NET}/networks?bogus=1", token)
    assert status == 400 and "bogus" in body["NeutronError"]["message"]
    # another project's member sees the shared network only, and makes none
    member, _, _ = cloud.member_token("demo", "alice")
    _, _, body = cloud.api("GET", f"{NET}/networks", member)
    assert [n["name"] for n in body["networks"]] == ["prov"]
    _, _, body = cloud.api("GET", f"{NET}/subnets", member)
    assert [s["name"] for s in body["subnets"]] == ["prov-v4"]
    status, _, body = cloud.api("POST", f"{NET}/networks", member, {"network": {"name": "mine"}})
    assert status == 403 and body["NeutronError"]["type"] == "HTTPForbidden"
    assert cloud.api("GET", f"{NET}/networks/{other['id']}", member)[0] == 404
    cloud.openstack("subnet", "delete", "o4", fmt_json=False)
    cloud.openstack("network", "delete", "other", fmt_json=False)
    assert cloud.api("GET", f"{NET}/networks/{other['id']}", token)[0] == 404


def test_network_bad_input(cloud):
    token = cloud.admin_token()
    net, sub = provider(cloud)
    bad = [
        ("networks", {"network": {"name": "x", "provider:network_type": "vxlan"}}, 400),
        ("networks", {"network": {"name": "x", "colour": "red"}}, 400),
        ("networks", {"network": {"name": 7}}, 400),
        ("networks", {"networks": [{"name": "x"}]}, 400),
        ("subnets", {"subnet": {"network_id": net["id"], "cidr": "10.92.0.0/33"}}, 400),
        ("subnets", {"subnet": {"network_id": net["id"], "cidr": "10.92.0.1/24"}}, 400),
        ("subnets", {"subnet": {"network_id": net["id"], "cidr": "fd00::/64", "ip_version": 4}}, 400),
        ("subnets", {"subnet": {"network_id": net["id"], "cidr": "10.92.0.0/24",
                                "allocation_pools": [{"start": "10.92.1.1", "end": "10.92.1.5"}]}}, 400),
        ("subnets", {"subnet": {"network_id": net["id"], "cidr": "10.92.0.0/24", "gateway_ip": "10.92.0.5",
                                "allocation_pools": [{"start": "10.92.0.2", "end": "10.92.0.9"}]}}, 409),
        ("subnets", {"subnet": {"network_id": "no-such-net", "cidr": "10.92.0.0/24"}}, 404),
        ("ports", {"port": {"network_id": net["id"], "mac_address": "01:00:5e:00:00:01"}}, 400),
        ("ports", {"port": {"network_id": net["id"], "fixed_ips": [{"ip_address": "10.99.0.5"}]}}, 400),
        ("ports", {"port": {"network_id": net["id"], "fixed_ips": [{"ip_address": "10.90.0.1"}]}}, 409),
    ]
    for coll, body, want in bad:
        status, _, reply = cloud.api("POST", f"{NET}/{coll}", token, body)
        assert status == want and reply["NeutronError"]["message"], (body, status, reply)
    _, _, body = cloud.api("GET", f"{NET}/networks", token)
    assert [n["name"] for n in body["networks"]] == ["prov"]
    _, _, body = cloud.api("GET", f"{NET}/subnets", token)
    assert len(body["subnets"]) == 1
    _, _, body = cloud.api("GET", f"{NET}/ports", token)
    assert body["ports"] == []
    # a port with a chosen address holds it; the network with a port cannot go
    status, _, port = cloud.api("POST", f"{NET}/ports", token, {"port": {
        "network_id": net["id"], "fixed_ips": [{"ip_address": "10.90.0.11"}]}})
    assert status == 201, port
    assert port["port"]["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.90.0.11"}]
    assert port["port"]["mac_address"].startswith("fa:16:3e:")
    status, _, body = cloud.api("POST", f"{NET}/ports", token, {"port": {
        "network_id": net["id"], "fixed_ips": [{"ip_address": "10.90.0.11"}]}})
    assert status == 409 and "already allocated" in body["NeutronError"]["message"]
    status, _, body = cloud.api("DELETE", f"{NET}/networks/{net['id']}", token)
    assert status == 409 and "ports" in body["NeutronError"]["message"]
    assert cloud.api("DELETE", f"{NET}/ports/{port['port']['id']}", token)[0] == 204


def test_server_nics_get_ports_and_fixed_ips(cloud):
    token = cloud.admin_token()
    net, sub = provider(cloud)  # three addresses: .10 .11 .12
    image = bootable_image(cloud, token)
    fl = flavor(cloud, token)
    made = cloud.openstack("server", "create", "--flavor", fl, "--image", image, "--network", "prov", "a")
    server = wait_server(cloud, token, made["id"], ("ERROR", "ACTIVE"))  # no hosts: ERROR
    addrs = server["addresses"]
    assert list(addrs) == ["prov"] and len(addrs["prov"]) == 1, addrs
    a = addrs["prov"][0]
    assert a["addr"] == "10.90.0.10" and a["version"] == 4 and a["OS-EXT-IPS:type"] == "fixed"
    mac = a["OS-EXT-IPS-MAC:mac_addr"]
    ports = cloud.openstack("port", "list", "--server", made["id"])
    assert len(ports) == 1 and ports[0]["MAC Address"] == mac
    port = cloud.openstack("port", "show", ports[0]["ID"])
    assert port["device_id"] == made["id"] and port["device_owner"] == "compute:nova"
    assert port["network_id"] == net["id"]
    assert cloud.openstack("server", "show", made["id"])["addresses"] == {"prov": ["10.90.0.10"]}

    # --nic net-id= and a fixed address; then 2.37's "auto" (the one network)
    status, _, b = cloud.api("POST", SERVERS, token, {"server": {
        "name": "b", "imageRef": image, "flavorRef": fl,
        "networks": [{"uuid": net["id"], "fixed_ip": "10.90.0.12"}]}})
    assert status == 202, b
    wait_server(cloud, token, b["server"]["id"], ("ERROR",))
    assert addresses(cloud, token, b["server"]["id"])["prov"][0]["addr"] == "10.90.0.12"
    status, _, c = cloud.api("POST", SERVERS, token, {"server": {
        "name": "c", "imageRef": image, "flavorRef": fl, "networks": "auto"}}, version="2.37")
    assert status == 202, c
    wait_server(cloud, token, c["server"]["id"], ("ERROR",))
    assert addresses(cloud, token, c["server"]["id"])["prov"][0]["addr"] == "10.90.0.11"
    # the pool is used up: the next server's build fails with Neutron's reason
    status, _, d = cloud.api("POST", SERVERS, token, {"server": {
        "name": "d", "imageRef": image, "flavorRef": fl, "networks": [{"uuid": net["id"]}]}})
    assert status == 202, d
    failed = wait_server(cloud, token, d["server"]["id"], ("ERROR",))
    assert "No more IP addresses available on network" in failed["fault"]["message"], failed["fault"]
    assert addresses(cloud, token, d["server"]["id"]) == {}
    # "none" has no NIC; an unknown network is a 400 and nothing is made
    status, _, e = cloud.api("POST", SERVERS, token, {"server": {
        "name": "e", "imageRef": image, "flavorRef": fl, "networks": "none"}}, version="2.37")
    assert status == 202
    wait_server(cloud, token, e["server"]["id"], ("ERROR",))
    assert addresses(cloud, token, e["server"]["id"]) == {}
    status, _, body = cloud.api("POST", SERVERS, token, {"server": {
        "name": "f", "imageRef": image, "flavorRef": fl,
        "networks": [{"uuid": "4c6fb2b8-4a2f-4e9e-8f4c-000000000000"}]}})
    assert status == 400 and "could not be found" in nova_error(body, "badRequest", 400)

    # deleting a server frees its port and address; an existing port is kept, unbound
    cloud.openstack("server", "delete", made["id"], fmt_json=False)
    wait_gone(cloud, token, made["id"])
    _, _, body = cloud.api("GET", f"{NET}/ports?device_id={made['id']}", token)
    assert body["ports"] == []
    status, _, p = cloud.api("POST", f"{NET}/ports", token, {"port": {"network_id": net["id"], "name": "mine"}})
    assert status == 201 and p["port"]["fixed_ips"][0]["ip_address"] == "10.90.0.10"
    status, _, g = cloud.api("POST", SERVERS, token, {"server": {
        "name": "g", "imageRef": image, "flavorRef": fl, "networks": [{"port": p["port"]["id"]}]}})
    assert status == 202, g
    wait_server(cloud, token, g["server"]["id"], ("ERROR",))
    assert addresses(cloud, token, g["server"]["id"])["prov"][0]["addr"] == "10.90.0.10"
    status, _, body = cloud.api("POST", SERVERS, token, {"server": {
        "name": "h", "imageRef": image, "flavorRef": fl, "networks": [{"port": p["port"]["id"]}]}})
    assert status == 409, body
    cloud.openstack("server", "delete", g["server"]["id"], fmt_json=False)
    wait_gone(cloud, token, g["server"]["id"])
    _, _, kept = cloud.api("GET", f"{NET}/ports/{p['port']['id']}", token)
    assert kept["port"]["device_id"] == "" and kept["port"]["fixed_ips"][0]["ip_address"] == "10.90.0.10"


def test_concurrent_builds_never_share_an_address(cloud):
    """20 servers asked for at once (20 requests, 20 build workers choosing
    addresses at the same time) on a pool of exactly 20: each gets its own."""
    token = cloud.admin_token()
    net, _ = provider(cloud, pool=("10.90.0.100", "10.90.0.119"))
    image = bootable_image(cloud, token)
    fl = flavor(cloud, token)
    _, _, projects = cloud.api("GET", "/identity/v3/projects?name=admin", token)
    status, _, body = cloud.api("PUT", f"/compute/v2.1/os-quota-sets/{projects['projects'][0]['id']}", token,
                                {"quota_set": {"instances": 40, "cores": 40, "ram": 40 * 1024}})
    assert status == 200, body
    ids, errors = [], []
    gate = threading.Barrier(20)

    def one(i):
        gate.wait()
        status, _, body = cloud.api("POST", SERVERS, token, {"server": {
            "name": f"s{i}", "imageRef": image, "flavorRef": fl, "networks": [{"uuid": net["id"]}]}})
        (ids if status == 202 else errors).append(body["server"]["id"] if status == 202 else body)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(ids) == 20, errors
    got = []
    for sid in ids:
        server = wait_server(cloud, token, sid, ("ERROR",), seconds=300)
        assert "No more IP" not in server.get("fault", {}).get("message", ""), server["fault"]
        got += [a["addr"] for a in server["addresses"]["prov"]]
    assert sorted(got) == sorted(f"10.90.0.{i}" for i in range(100, 120)), got
    _, _, body = cloud.api("GET", f"{NET}/ports?network_id={net['id']}", token)
    assert len({p["mac_address"] for p in body["ports"]}) == 20


def test_two_nodes_never_give_one_address_twice(two_nodes):
    """Two cloud processes on one PostgreSQL, 24 port creates at once on a
    pool of 24 addresses: each gets a port and no address is given twice
    (failed with the subnet rows read without FOR UPDATE: 409s for
    addresses another node had chosen at the same time)."""
    a, b = two_nodes
    token = a.admin_token()
    status, _, net = a.api("POST", f"{NET}/networks", token, {"network": {"name": "prov", "shared": True}})
    assert status == 201, net
    nid = net["network"]["id"]
    status, _, sub = a.api("POST", f"{NET}/subnets", token, {"subnet": {
        "network_id": nid, "cidr": "10.90.0.0/24", "ip_version": 4,
        "allocation_pools": [{"start": "10.90.0.100", "end": "10.90.0.123"}]}})
    assert status == 201, sub
    gate = threading.Barrier(24)
    results = []

    def one(i):
        node = (a, b)[i % 2]
        gate.wait(timeout=300)
        for _ in range(1):
            results.append(node.api("POST", f"{NET}/ports", token, {"port": {"network_id": nid}})[::2])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s for s, _ in results] == [201] * 24, [r for s, r in results if s != 201]
    got = [r["port"]["fixed_ips"][0]["ip_address"] for _, r in results]
    assert sorted(got) == sorted(f"10.90.0.{i}" for i in range(100, 124)), got
    status, _, body = b.api("POST", f"{NET}/ports", token, {"port": {"network_id": nid}})
    assert status == 409 and "No more IP addresses" in body["NeutronError"]["message"]
