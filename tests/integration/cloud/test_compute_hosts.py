"""Compute hosts (issue 17): real stratad instances on loopback TCP join the
cloud (`strata-cloud host-add`), the cloud's heartbeat reads what each
reports, and the real `openstack` CLI shows them as compute services and
hypervisors; a stopped stratad goes down, a disabled one says why. On
SQLite and PostgreSQL."""
import os
from pathlib import Path

import pytest

from cloudlib import free_port, nova_error, started
from conftest import wait_for
from hostslib import stratad_hosts, token_file

# --service-down-time: a host not heard from for this long is down. "Up" is a
# heartbeat within that window, so a short one is a timing assumption: only
# the test that watches a stopped stratad go down asks for one (marker
# down_time), and it waits for every state it checks; the others get an hour,
# so host-add's own heartbeat keeps a host up for the whole test.
LONG_DOWN_TIME = 3600


@pytest.fixture(params=["sqlite", "postgresql"])
def cloud(request):
    down = request.node.get_closest_marker("down_time")
    poll = request.node.get_closest_marker("poll_interval")
    c = started(request, "--host-poll-interval", str(poll.args[0] if poll else 1),
                "--service-down-time", str(down.args[0] if down else LONG_DOWN_TIME))
    try:
        yield c
    finally:
        assert c.stop() == 0, f"serve did not stop cleanly on SIGTERM:\n{c.log.read_text()}"


@pytest.fixture
def hosts(tmp_path):
    """Three stratad on loopback TCP with one token: (daemon, url) each."""
    with stratad_hosts(tmp_path) as out:
        yield out


def host_add(cloud, name, url, token_file, check=True):
    return cloud.cloud("host-add", "-d", str(cloud.state), *cloud.db_args(), "--name", name,
                       "--url", url, "--token-file", str(token_file), check=check)


def services(cloud):
    return {s["Host"]: s for s in cloud.openstack("compute", "service", "list", "--long")}


def meminfo_mb(key):
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) // 1024
    raise KeyError(key)


@pytest.mark.down_time(8)
def test_hosts_join_report_and_go_down(cloud, hosts, tmp_path):
    tok = tmp_path / "token"
    for i, (_, url) in enumerate(hosts):
        r = host_add(cloud, f"h{i}", url, tok)
        assert f"host h{i} added" in r.stdout

    # bad registrations: one clear line and a nonzero exit, nothing added
    bad = tmp_path / "bad-token"
    bad.write_text("not-the-token-at-all\n")
    r = host_add(cloud, "hx", hosts[0][1], bad, check=False)
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1 and "hx" in r.stderr
    r = host_add(cloud, "hy", f"http://127.0.0.1:{free_port()}", tok, check=False)
    assert r.returncode != 0 and "cannot connect" in r.stderr
    r = host_add(cloud, "h0", hosts[1][1], tok, check=False)
    assert r.returncode != 0 and "registered already" in r.stderr
    for url, why in [("https://127.0.0.1:1", "plain HTTP"), ("ftp://x:1", "http://HOST:PORT"),
                     ("http://127.0.0.1", "HOST:PORT"), ("http://127.0.0.1:1/v1", "no path")]:
        r = host_add(cloud, "hz", url, tok, check=False)
        assert r.returncode != 0 and why in r.stderr, (url, r.stderr)
    r = host_add(cloud, "bad name", hosts[1][1], tok, check=False)
    assert r.returncode != 0 and "host name" in r.stderr

    listed = wait_for("three compute services up", lambda: (
        lambda s: s if sorted(s) == ["h0", "h1", "h2"] and
        all(v["State"] == "up" for v in s.values()) else None)(services(cloud)))
    for s in listed.values():
        assert s["Binary"] == "nova-compute" and s["Status"] == "enabled"
        assert s["Zone"] == "nova" and s["Disabled Reason"] is None

    # hypervisors: what each stratad reports of this machine
    def hypervisors_up():
        hv = {h["Hypervisor Hostname"]: h for h in cloud.openstack("hypervisor", "list", "--long")}
        return hv if all(h["State"] == "up" for h in hv.values()) else None
    hv = wait_for("three hypervisors up", hypervisors_up)
    assert sorted(hv) == ["h0", "h1", "h2"]
    assert all(h["Host IP"] == "127.0.0.1" for h in hv.values())
    assert all(h["vCPUs"] == os.cpu_count() and h["vCPUs Used"] == 0 for h in hv.values())
    total = meminfo_mb("MemTotal")
    assert all(h["Memory MB"] == total for h in hv.values())
    shown = cloud.openstack("hypervisor", "show", "h1")
    assert shown["hypervisor_hostname"] == "h1" and shown["service_host"] == "h1"
    assert shown["hypervisor_type"] == "strata-vm" and shown["local_gb"] > 0
    features = Path("/proc/cpuinfo").read_text().split("flags")[1].split(":")[1].split("\n")[0].split()
    assert sorted(shown["cpu_info"]["features"]) == sorted(features)
    stats = cloud.openstack("hypervisor", "stats", "show")
    assert stats["count"] == 3 and stats["vcpus"] == 3 * os.cpu_count()
    assert stats["memory_mb"] == 3 * total and stats["running_vms"] == 0

    # disable with a reason, enable again
    cloud.openstack("compute", "service", "set", "--disable", "--disable-reason", "maintenance",
                    "h1", "nova-compute", fmt_json=False)
    s = services(cloud)
    assert s["h1"]["Status"] == "disabled" and s["h1"]["Disabled Reason"] == "maintenance"
    assert s["h0"]["Status"] == "enabled"
    cloud.openstack("compute", "service", "set", "--enable", "h1", "nova-compute", fmt_json=False)
    assert services(cloud)["h1"]["Status"] == "enabled"

    # a stopped stratad misses its heartbeats: down after the down time
    hosts[2][0].stop()
    wait_for("h2 down", lambda: services(cloud)["h2"]["State"] == "down")
    # h2 stays down while stopped; h0 answers, so it is up whenever its
    # heartbeat kept pace (a loaded machine may need a few polls)
    wait_for("hypervisor h2 down beside h0 up", lambda: (
        lambda hv: hv["h2"]["State"] == "down" and hv["h0"]["State"] == "up")(
        {h["Hypervisor Hostname"]: h for h in cloud.openstack("hypervisor", "list")}))
    # and it comes back up when it answers again
    hosts[2][0].start()
    wait_for("h2 up again", lambda: services(cloud)["h2"]["State"] == "up")


# no poll during the test: what it shows up, host-add's own heartbeat put there
@pytest.mark.poll_interval(3600)
def test_services_api_microversions(cloud, hosts, tmp_path):
    tok = token_file(tmp_path)
    host_add(cloud, "a1", hosts[0][1], tok)
    host_add(cloud, "a2", hosts[1][1], tok)
    token = cloud.admin_token()
    base = "/compute/v2.1"

    # 2.1: integer ids, no forced_down; 2.53: UUIDs
    _, _, body = cloud.api("GET", base + "/os-services", token)
    old = {s["host"]: s for s in body["services"]}
    assert isinstance(old["a1"]["id"], int) and "forced_down" not in old["a1"]
    _, _, body = cloud.api("GET", base + "/os-services?host=a2", token, version="2.53")
    (a2,) = body["services"]
    assert len(a2["id"]) == 36 and a2["forced_down"] is False and a2["binary"] == "nova-compute"
    _, _, body = cloud.api("GET", base + "/os-services?binary=nova-scheduler", token)
    assert body["services"] == []

    # the actions before 2.53
    status, _, body = cloud.api("PUT", base + "/os-services/disable-log-reason", token,
                                {"host": "a1", "binary": "nova-compute", "disabled_reason": "disk"})
    assert status == 200 and body["service"] == {"host": "a1", "binary": "nova-compute",
                                                 "status": "disabled", "disabled_reason": "disk"}
    status, _, body = cloud.api("PUT", base + "/os-services/enable", token,
                                {"host": "nope", "binary": "nova-compute"})
    assert status == 404
    status, _, body = cloud.api("PUT", base + "/os-services/force-down", token,
                                {"host": "a1", "binary": "nova-compute", "forced_down": True})
    assert status == 404  # force-down exists from 2.11
    status, _, body = cloud.api("PUT", base + "/os-services/force-down", token,
                                {"host": "a1", "binary": "nova-compute", "forced_down": True},
                                version="2.11")
    assert status == 200 and body["service"]["forced_down"] is True

    # 2.53: PUT by UUID; forced down means down at once
    _, _, body = cloud.api("GET", base + "/os-services?host=a1", token, version="2.53")
    a1 = body["services"][0]
    assert a1["state"] == "down" and a1["status"] == "disabled"
    # the hosts' zone (no aggregate: the default one) says what their services do
    _, _, body = cloud.api("GET", base + "/os-availability-zone/detail", token)
    assert "availabilityZoneInfo" in body, body
    (nova,) = body["availabilityZoneInfo"]
    assert nova["zoneName"] == "nova" and nova["zoneState"]["available"] is True
    assert nova["hosts"]["a1"]["nova-compute"]["available"] is False
    assert nova["hosts"]["a1"]["nova-compute"]["active"] is False
    assert nova["hosts"]["a2"]["nova-compute"]["available"] is True, body
    assert nova["hosts"]["a2"]["nova-compute"]["active"] is True
    status, _, body = cloud.api("PUT", base + f"/os-services/{a1['id']}", token,
                                {"status": "enabled", "forced_down": False}, version="2.53")
    assert status == 200 and body["service"]["status"] == "enabled"
    assert body["service"]["disabled_reason"] is None and body["service"]["forced_down"] is False
    for bad, why in [({}, "At least one of"), ({"status": "on"}, "is not one of"),
                     ({"status": "enabled", "disabled_reason": "x"}, "disabled_reason"),
                     ({"status": "disabled", "extra": 1}, "extra")]:
        status, _, body = cloud.api("PUT", base + f"/os-services/{a1['id']}", token, bad,
                                    version="2.53")
        assert status == 400 and why in nova_error(body, "badRequest", 400), (bad, body)
    status, _, body = cloud.api("PUT", base + "/os-services/1", token, {"status": "enabled"},
                                version="2.53")
    assert status == 400

    # hypervisors: list, paging from 2.33, search before 2.53, show, uptime
    _, _, body = cloud.api("GET", base + "/os-hypervisors", token)
    assert [h["hypervisor_hostname"] for h in body["hypervisors"]] == ["a1", "a2"]
    first = body["hypervisors"][0]["id"]
    _, _, body = cloud.api("GET", base + "/os-hypervisors/detail?limit=1", token, version="2.33")
    assert [h["hypervisor_hostname"] for h in body["hypervisors"]] == ["a1"]
    assert body["hypervisors_links"][0]["href"].endswith(f"limit=1&marker={first}")
    _, _, body = cloud.api("GET", base + f"/os-hypervisors/detail?limit=1&marker={first}", token,
                           version="2.33")
    assert [h["hypervisor_hostname"] for h in body["hypervisors"]] == ["a2"]
    assert isinstance(body["hypervisors"][0]["cpu_info"], dict)
    _, _, body = cloud.api("GET", base + f"/os-hypervisors/{first}", token)
    assert isinstance(body["hypervisor"]["cpu_info"], str)  # a JSON text before 2.28
    _, _, body = cloud.api("GET", base + "/os-hypervisors/a2/search", token)
    assert [h["hypervisor_hostname"] for h in body["hypervisors"]] == ["a2"]
    status, _, body = cloud.api("GET", base + "/os-hypervisors/zz/search", token)
    assert status == 404
    _, _, body = cloud.api("GET", base + "/os-hypervisors?hypervisor_hostname_pattern=2", token,
                           version="2.53")
    (h2,) = body["hypervisors"]
    assert len(h2["id"]) == 36
    status, _, body = cloud.api("GET", base + f"/os-hypervisors/{h2['id']}/uptime", token,
                                version="2.53")
    assert status == 501
    status, _, body = cloud.api("GET", base + "/os-hypervisors/12345", token)
    assert status == 404

    # admins only
    member, _, _ = cloud.member_token("p1", "u1")
    for path in ["/os-services", "/os-hypervisors", "/os-hypervisors/statistics"]:
        status, _, body = cloud.api("GET", base + path, member)
        assert status == 403, path

    # delete: the host leaves the cloud
    status, _, _ = cloud.api("DELETE", base + f"/os-services/{a1['id']}", token, version="2.53")
    assert status == 204
    _, _, body = cloud.api("GET", base + "/os-services", token)
    assert [s["host"] for s in body["services"]] == ["a2"]
