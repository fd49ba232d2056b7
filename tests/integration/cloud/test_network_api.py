"""The Networking API's updates, limits and listing (Neutron v2.0 at
/networking): ports updated through `openstack port set` (name,
description, admin state, fixed IPs re-chosen and the old ones freed; a
server's port keeps its addresses), a subnet overlapping another of its
network refused with Neutron's 400, per-project quotas for networks,
subnets and ports set by `openstack quota set` and enforced with Neutron's
OverQuota 409, and Neutron's paging (limit, marker, page_reverse and the
next/previous links). SQLite and PostgreSQL."""
import urllib.parse

from cloudlib import cloud  # noqa: F401  (fixture)
from pglib import postgres  # noqa: F401  (fixture)
from test_network import NET, provider


def project_id(cloud, token, name):
    _, _, body = cloud.api("GET", f"/identity/v3/projects?name={name}", token)
    return body["projects"][0]["id"]


def test_port_set_overlap_and_quotas(cloud):
    token = cloud.admin_token()
    net, sub = provider(cloud, pool=("10.90.0.10", "10.90.0.20"))
    port = cloud.openstack("port", "create", "--network", "prov", "p1")
    assert port["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.90.0.10"}]
    cloud.openstack("port", "set", "--name", "p1b", "--description", "the web NIC", "--disable", "p1",
                    fmt_json=False)
    shown = cloud.openstack("port", "show", "p1b")
    assert (shown["name"], shown["description"], shown["admin_state_up"]) == ("p1b", "the web NIC", False)
    assert shown["revision_number"] == port["revision_number"] + 1
    # fixed IPs: one more asked for (the CLI sends the whole list), then all replaced
    cloud.openstack("port", "set", "--fixed-ip", "subnet=prov-v4,ip-address=10.90.0.15", "p1b", fmt_json=False)
    ips = [f["ip_address"] for f in cloud.openstack("port", "show", "p1b")["fixed_ips"]]
    assert ips == ["10.90.0.10", "10.90.0.15"], ips
    cloud.openstack("port", "set", "--no-fixed-ip", "--fixed-ip", "ip-address=10.90.0.17", "p1b", fmt_json=False)
    assert [f["ip_address"] for f in cloud.openstack("port", "show", "p1b")["fixed_ips"]] == ["10.90.0.17"]
    # the freed addresses are given again; a held one is refused
    status, _, p2 = cloud.api("POST", f"{NET}/ports", token, {"port": {"network_id": net["id"]}})
    assert status == 201 and p2["port"]["fixed_ips"][0]["ip_address"] == "10.90.0.10", p2
    pid = shown["id"]
    bad = [
        ({"port": {"fixed_ips": [{"ip_address": "10.90.0.10"}]}}, 409, "already allocated"),
        ({"port": {"fixed_ips": [{"ip_address": "10.99.0.1"}]}}, 400, "no subnet"),
        ({"port": {"mac_address": "fa:16:3e:00:00:01"}}, 400, "read-only attribute mac_address"),
        ({"port": {"network_id": net["id"]}}, 400, "read-only"),
        ({"port": {"admin_state_up": "yes"}}, 400, "boolean"),
        ({"port": {"name": "x" * 256}}, 400, "name"),
        ({"port": {"colour": "red"}}, 400, "colour"),
        ({"ports": {"name": "x"}}, 400, "Resource body"),
    ]
    for body, want, words in bad:
        status, _, reply = cloud.api("PUT", f"{NET}/ports/{pid}", token, body)
        assert status == want and words in reply["NeutronError"]["message"], (body, status, reply)
    assert [f["ip_address"] for f in cloud.openstack("port", "show", "p1b")["fixed_ips"]] == ["10.90.0.17"]
    assert cloud.api("PUT", f"{NET}/ports/nope", token, {"port": {"name": "x"}})[0] == 404
    member, _, _ = cloud.member_token("demo", "alice")
    assert cloud.api("PUT", f"{NET}/ports/{pid}", member, {"port": {"name": "x"}})[0] == 404

    # a subnet overlapping another of its network: Neutron's 400
    status, _, body = cloud.api("POST", f"{NET}/subnets", token, {"subnet": {
        "network_id": net["id"], "cidr": "10.90.0.128/25", "ip_version": 4}})
    assert status == 400, body
    assert body["NeutronError"]["message"] == (
        f"Invalid input for operation: Requested subnet with cidr: 10.90.0.128/25 for network: {net['id']} "
        "overlaps with another subnet.")
    r = cloud.openstack("subnet", "create", "--network", "prov", "--subnet-range", "10.0.0.0/8", "wide",
                        check=False, fmt_json=False)
    assert r.returncode != 0 and "overlaps with another subnet" in r.stderr, r.stderr
    cloud.openstack("subnet", "create", "--network", "prov", "--subnet-range", "10.91.0.0/24", "second")
    other = cloud.openstack("network", "create", "other")
    cloud.openstack("subnet", "create", "--network", "other", "--subnet-range", "10.90.0.0/24", "o4")

    # quotas: shown with Neutron's defaults, set by the CLI, enforced
    admin = project_id(cloud, token, "admin")
    shown = cloud.openstack("quota", "show", admin)
    assert (shown["networks"], shown["subnets"], shown["ports"]) == (100, 100, 500), shown
    cloud.openstack("quota", "set", "--networks", "3", "--subnets", "3", "--ports", "3", admin, fmt_json=False)
    shown = cloud.openstack("quota", "show", admin)
    assert (shown["networks"], shown["subnets"], shown["ports"]) == (3, 3, 3), shown
    _, _, q = cloud.api("GET", f"{NET}/quotas/{admin}/details.json", token)
    assert q["quota"]["network"] == {"limit": 3, "used": 2, "reserved": 0}, q
    assert q["quota"]["port"]["used"] == 2 and q["quota"]["subnet"]["used"] == 3
    cloud.openstack("network", "create", "third")
    for coll, body, what in [
            ("networks", {"network": {"name": "fourth"}}, "network"),
            ("subnets", {"subnet": {"network_id": other["id"], "cidr": "10.95.0.0/24"}}, "subnet")]:
        status, _, reply = cloud.api("POST", f"{NET}/{coll}", token, body)
        assert status == 409 and reply == {"NeutronError": {
            "type": "OverQuota", "message": f"Quota exceeded for resources: ['{what}'].", "detail": ""}}, reply
    cloud.api("POST", f"{NET}/ports", token, {"port": {"network_id": net["id"]}})
    status, _, reply = cloud.api("POST", f"{NET}/ports", token, {"port": {"network_id": net["id"]}})
    assert status == 409 and reply["NeutronError"]["type"] == "OverQuota", reply
    r = cloud.openstack("network", "create", "fifth", check=False, fmt_json=False)
    assert r.returncode != 0 and "Quota exceeded" in r.stderr, r.stderr
    # a member reads its own quota, sets none; bad values are 400s
    demo = project_id(cloud, token, "demo")
    status, _, q = cloud.api("GET", f"{NET}/quotas/{demo}", member)
    assert status == 200 and q["quota"]["network"] == 100
    assert cloud.api("GET", f"{NET}/quotas/{admin}", member)[0] == 403
    assert cloud.api("PUT", f"{NET}/quotas/{demo}", member, {"quota": {"network": 500}})[0] == 403
    for body in ({"quota": {"network": -2}}, {"quota": {"network": "5"}}, {"quota": {"widgets": 5}}, {}):
        status, _, reply = cloud.api("PUT", f"{NET}/quotas/{admin}", token, body)
        assert status == 400 and reply["NeutronError"]["message"], (body, reply)
    # back to the defaults: the next network is made
    assert cloud.api("DELETE", f"{NET}/quotas/{admin}", token)[0] == 204
    cloud.openstack("network", "create", "fourth")
    assert cloud.api("GET", f"{NET}/quotas/{admin}/default", member)[2]["quota"]["network"] == 100


def test_paging_with_neutron_links(cloud):
    token = cloud.admin_token()
    for i in range(5):
        assert cloud.api("POST", f"{NET}/networks", token, {"network": {"name": f"n{i}"}})[0] == 201

    def order(coll):
        """The list's order (by creation time, then id) without paging."""
        return [x["id"] for x in cloud.api("GET", f"{NET}/{coll}", token)[2][coll]]

    ids = order("networks")
    names = [n["name"] for n in cloud.api("GET", f"{NET}/networks", token)[2]["networks"]]

    def page(query):
        status, _, body = cloud.api("GET", f"{NET}/networks?{query}", token)
        assert status == 200, body
        return [n["id"] for n in body["networks"]], {
            link["rel"]: dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(link["href"]).query))
            for link in body.get("networks_links", [])}, body

    got, links, body = page("limit=2")
    assert got == ids[:2]
    assert links["next"] == {"limit": "2", "marker": ids[1]}
    assert links["previous"] == {"limit": "2", "marker": ids[0], "page_reverse": "True"}
    assert urllib.parse.urlsplit(body["networks_links"][0]["href"]).path == "/networking/v2.0/networks"
    got, links, _ = page(f"limit=2&marker={ids[1]}")
    assert got == ids[2:4] and links["next"]["marker"] == ids[3]
    got, links, _ = page(f"limit=2&marker={ids[3]}")
    assert got == ids[4:] and "next" not in links and links["previous"]["marker"] == ids[4]
    got, links, _ = page(f"limit=2&marker={ids[4]}&page_reverse=True")
    assert got == ids[2:4] and links["previous"]["marker"] == ids[2] and links["next"]["marker"] == ids[3]
    got, links, _ = page(f"limit=2&marker={ids[1]}&page_reverse=True")
    assert got == ids[:1] and "previous" not in links
    # filters hold with paging; no limit, no links
    got, links, _ = page(f"limit=1&name={names[3]}")
    assert got == [ids[3]] and links["next"] == {"limit": "1", "name": names[3], "marker": ids[3]}
    got, links, body = page(f"marker={ids[2]}")
    assert got == ids[3:] and "networks_links" not in body
    for query, want in (("limit=-1", 400), ("limit=x", 400), ("marker=nope&limit=1", 404)):
        status, _, body = cloud.api("GET", f"{NET}/networks?{query}", token)
        assert status == want and body["NeutronError"]["message"], (query, body)
    # the CLI follows the links: all five in one list
    assert [n["ID"] for n in cloud.openstack("network", "list")] == ids
    # subnets and ports page alike
    for i in range(3):
        assert cloud.api("POST", f"{NET}/subnets", token, {"subnet": {
            "network_id": ids[0], "cidr": f"10.{60 + i}.0.0/24"}})[0] == 201
    sub_ids = order("subnets")
    _, _, body = cloud.api("GET", f"{NET}/subnets?limit=2&marker={sub_ids[0]}", token)
    assert [s["id"] for s in body["subnets"]] == sub_ids[1:] and "subnets_links" in body
    for _ in range(3):
        assert cloud.api("POST", f"{NET}/ports", token, {"port": {"network_id": ids[1]}})[0] == 201
    port_ids = order("ports")
    _, _, body = cloud.api("GET", f"{NET}/ports?limit=1&marker={port_ids[2]}&page_reverse=true", token)
    assert [p["id"] for p in body["ports"]] == port_ids[1:2] and "ports_links" in body


def test_ipv6_subnets(cloud):
    """IPv6 subnets through the CLI: a dhcpv6-stateful subnet's ports get an
    address from its pools (beside their IPv4 one), a SLAAC subnet's the
    EUI-64 address of their MAC; Neutron's refusals for wrong modes."""
    token = cloud.admin_token()
    net, v4 = provider(cloud)
    v6 = cloud.openstack("subnet", "create", "--network", "prov", "--ip-version", "6", "--subnet-range",
                         "fd00:90::/64", "--ipv6-address-mode", "dhcpv6-stateful", "--ipv6-ra-mode",
                         "dhcpv6-stateful", "prov-v6")
    assert (v6["ip_version"], v6["cidr"], v6["gateway_ip"]) == (6, "fd00:90::/64", "fd00:90::1"), v6
    assert (v6["ipv6_address_mode"], v6["ipv6_ra_mode"]) == ("dhcpv6-stateful", "dhcpv6-stateful")
    assert v6["allocation_pools"] == [{"start": "fd00:90::2", "end": "fd00:90::ffff:ffff:ffff:ffff"}]
    shown = cloud.openstack("subnet", "show", "prov-v6")
    assert shown["ipv6_address_mode"] == "dhcpv6-stateful" and shown["ip_version"] == 6
    port = cloud.openstack("port", "create", "--network", "prov", "p6")
    assert port["fixed_ips"] == [{"subnet_id": v4["id"], "ip_address": "10.90.0.10"},
                                 {"subnet_id": v6["id"], "ip_address": "fd00:90::2"}], port
    port2 = cloud.openstack("port", "create", "--network", "prov", "--fixed-ip",
                            "subnet=prov-v6,ip-address=fd00:90::beef", "p6b")
    assert port2["fixed_ips"] == [{"subnet_id": v6["id"], "ip_address": "fd00:90::beef"}]
    status, _, body = cloud.api("POST", f"{NET}/ports", token, {"port": {
        "network_id": net["id"], "fixed_ips": [{"ip_address": "fd00:90::beef"}]}})
    assert status == 409 and "already allocated" in body["NeutronError"]["message"], body
    # a SLAAC subnet: the EUI-64 of the port's MAC, not assignable by hand
    cloud.openstack("network", "create", "--share", "slaacnet")
    slaac = cloud.openstack("subnet", "create", "--network", "slaacnet", "--ip-version", "6", "--subnet-range",
                            "2001:db8:5::/64", "--ipv6-address-mode", "slaac", "--ipv6-ra-mode", "slaac", "s6")
    assert slaac["ipv6_address_mode"] == "slaac" and slaac["gateway_ip"] == "2001:db8:5::1"
    p = cloud.openstack("port", "create", "--network", "slaacnet", "--mac-address", "52:54:00:12:34:56", "ps")
    assert p["fixed_ips"] == [{"subnet_id": slaac["id"], "ip_address": "2001:db8:5:0:5054:ff:fe12:3456"}], p
    status, _, body = cloud.api("POST", f"{NET}/ports", token, {"port": {
        "network_id": slaac["network_id"], "fixed_ips": [{"ip_address": "2001:db8:5::7"}]}})
    assert status == 400 and "automatic addresses" in body["NeutronError"]["message"], body
    subnets = [s["ID"] for s in cloud.openstack("subnet", "list", "--ip-version", "6")]
    assert sorted(subnets) == sorted([v6["id"], slaac["id"]])
    bad = [
        ({"cidr": "fd00:91::/64", "ip_version": 4}, "IPv4 subnet"),
        ({"cidr": "10.93.0.0/24", "ip_version": 6}, "IPv6 subnet"),
        ({"cidr": "fd00:91::/80", "ip_version": 6, "ipv6_address_mode": "slaac"}, "/64"),
        ({"cidr": "fd00:91::/64", "ip_version": 6, "ipv6_address_mode": "slaac",
          "ipv6_ra_mode": "dhcpv6-stateful"}, "must be the same"),
        ({"cidr": "fd00:91::/64", "ip_version": 6, "ipv6_address_mode": "dhcpv7"}, "ipv6_address_mode"),
        ({"cidr": "10.93.0.0/24", "ip_version": 4, "ipv6_ra_mode": "slaac"}, "ip_version is 4"),
        ({"cidr": "fd00:90:0:0:8000::/65", "ip_version": 6}, "overlaps"),
        ({"cidr": "fd00:91::/64", "ip_version": 6, "gateway_ip": "10.0.0.1"}, "gateway_ip"),
        ({"cidr": "fd00:91::/64", "ip_version": 6,
          "allocation_pools": [{"start": "fd00:92::2", "end": "fd00:92::9"}]}, "spans beyond"),
        ({"cidr": "fd00:91::1/64", "ip_version": 6}, "host bits"),
    ]
    for extra, words in bad:
        status, _, body = cloud.api("POST", f"{NET}/subnets", token, {"subnet": dict(network_id=net["id"], **extra)})
        assert status == 400 and words in body["NeutronError"]["message"], (extra, body)
    assert len(cloud.api("GET", f"{NET}/subnets", token)[2]["subnets"]) == 3
