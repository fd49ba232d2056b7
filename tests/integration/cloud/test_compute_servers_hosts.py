"""Servers built on real stratad hosts on loopback TCP (issue 17): the
scheduler's choice, the image fetched by each host from the cloud's signed
URL and checked by its SHA-512, the domain defined and started through
stratad's API, the reschedule to alternates when a host fails the build
(Nova's max_attempts), ERROR with the hosts' real errors as the fault, the
claims released, and every host left clean; the real `openstack` CLI.

This machine has no usable /dev/kvm: the guest's start fails on every host,
so no server reaches ACTIVE here (test_server_reaches_active skips loudly);
everything before the start, and the failure path, is asserted for real."""
import os
import re

import pytest

from cloudlib import nova_error, started
from conftest import kvm_missing_reason, skip_loudly, wait_for
from hostslib import stratad_hosts
from test_compute_servers import SERVERS, bootable_image, flavor, wait_gone, wait_server

POOL = "instances"


@pytest.fixture(params=["sqlite", "postgresql"])
def cloud(request):
    c = started(request, "--host-poll-interval", "1")
    try:
        yield c
    finally:
        assert c.stop() == 0, f"serve did not stop cleanly on SIGTERM:\n{c.log.read_text()}"


@pytest.fixture
def hosts(tmp_path):
    """Three stratad on loopback TCP, each with the instances pool."""
    with stratad_hosts(tmp_path, pool=POOL) as out:
        yield out


def add_hosts(cloud, hosts, tmp_path):
    tok = tmp_path / "token"
    for i, (_, url) in enumerate(hosts):
        cloud.cloud("host-add", "-d", str(cloud.state), *cloud.db_args(), "--name", f"h{i}",
                    "--url", url, "--token-file", str(tok))
    names = [f"h{i}" for i in range(len(hosts))]
    wait_for(f"hosts {names} up", lambda: sorted(
        s["Host"] for s in cloud.openstack("compute", "service", "list") if s["State"] == "up") == names)


def attempts(cloud, sid):
    """The hosts the cloud's log says a build of sid was tried on, in order."""
    return re.findall(rf"server {sid}: build on (\S+) failed", cloud.log.read_text())


def host_is_clean(d):
    return d.ok("GET", "/v1/domains") == [] and d.ok("GET", f"/v1/pools/{POOL}/volumes") == []


def claims_used(cloud, token):
    _, _, body = cloud.api("GET", "/compute/v2.1/os-hypervisors/detail", token)
    return {h["hypervisor_hostname"]: (h["vcpus_used"], h["memory_mb_used"])
            for h in body["hypervisors"]}


def test_build_reschedules_and_fails_with_the_hosts_error(cloud, hosts, tmp_path):
    add_hosts(cloud, hosts, tmp_path)
    token = cloud.admin_token()
    image = bootable_image(cloud, token, disk=os.urandom(1 << 20))
    fl = flavor(cloud, token, ram=96, vcpus=1)
    # h0 refuses the build at its first step: its pool is gone
    hosts[0][0].ok("DELETE", f"/v1/pools/{POOL}")

    made = cloud.openstack("server", "create", "--flavor", fl, "--image", image, "s1")
    sid = made["id"]
    server = wait_server(cloud, token, sid, ("ERROR", "ACTIVE"), seconds=300)
    reason = kvm_missing_reason()
    if not reason:
        skip_loudly("this test asserts the failure path; test_server_reaches_active covers KVM")
    # every host was tried once (max_attempts 3: the choice and two alternates)
    tried = attempts(cloud, sid)
    assert sorted(tried) == ["h0", "h1", "h2"], cloud.log.read_text()[-4000:]
    log = cloud.log.read_text()
    h0_line = re.search(rf"server {sid}: build on h0 failed.*", log).group(0)
    assert POOL in h0_line, h0_line  # h0's own error: no such pool
    # the others fetched the image by the signed URL (SHA-512 checked), defined
    # the domain, and failed only at its start: the fault is that real error
    fault = server["fault"]
    assert fault["code"] == 500
    assert fault["message"].startswith("Exceeded maximum number of retries. Exhausted all hosts "
                                       f"available for retrying build failures for instance {sid}.")
    last = tried[-1]
    assert f"host {last}: starting instance-" in fault["message"], fault
    assert fault["details"] and f"host {last}" in fault["details"]
    assert server["OS-EXT-STS:vm_state"] == "error" and server["OS-EXT-SRV-ATTR:host"] is None
    for name in ("h1", "h2"):
        line = re.search(rf"server {sid}: build on {name} failed.*", log).group(0)
        assert "starting instance-" in line, line
    # each host's stratad really fetched the image over HTTP from the cloud
    assert len(re.findall(r"GET /compute/strata/image-data/\S+ 200", log)) >= 4, log[-3000:]
    # nothing held, nothing left on any host
    assert claims_used(cloud, token) == {"h0": (0, 0), "h1": (0, 0), "h2": (0, 0)}
    for d, _ in hosts:
        assert host_is_clean(d) if d is not hosts[0][0] else d.ok("GET", "/v1/domains") == []
    cloud.openstack("server", "delete", sid, fmt_json=False)
    wait_gone(cloud, token, sid)


def test_zone_steers_to_one_host(cloud, hosts, tmp_path):
    add_hosts(cloud, hosts, tmp_path)
    token = cloud.admin_token()
    image = bootable_image(cloud, token)
    fl = flavor(cloud, token)
    agg = cloud.openstack("aggregate", "create", "--zone", "az-one", "agg1")
    cloud.openstack("aggregate", "add", "host", str(agg["id"]), "h1")
    made = cloud.openstack("server", "create", "--flavor", fl, "--image", image,
                           "--availability-zone", "az-one", "zoned")
    server = wait_server(cloud, token, made["id"], ("ERROR", "ACTIVE"), seconds=300)
    if server["status"] == "ACTIVE":
        assert server["OS-EXT-SRV-ATTR:host"] == "h1"
        return
    # only h1 is in the zone: no alternate, one attempt
    assert attempts(cloud, made["id"]) == ["h1"]
    assert "host h1:" in server["fault"]["message"]
    assert server["OS-EXT-AZ:availability_zone"] == "az-one"
    for d, _ in hosts:
        assert host_is_clean(d)


def test_server_reaches_active(cloud, hosts, tmp_path):
    reason = kvm_missing_reason()
    if reason:
        skip_loudly(f"a server reaching ACTIVE runs a guest: {reason}")
    add_hosts(cloud, hosts, tmp_path)
    token = cloud.admin_token()
    image = bootable_image(cloud, token)
    fl = flavor(cloud, token)
    made = cloud.openstack("server", "create", "--flavor", fl, "--image", image, "up")
    server = wait_server(cloud, token, made["id"], ("ACTIVE", "ERROR"), seconds=600)
    assert server["status"] == "ACTIVE", server.get("fault")
    host = server["OS-EXT-SRV-ATTR:host"]
    assert claims_used(cloud, token)[host] == (1, 64)
    cloud.openstack("server", "delete", made["id"], fmt_json=False)
    wait_gone(cloud, token, made["id"])
    assert claims_used(cloud, token)[host] == (0, 0)
    assert all(host_is_clean(d) for d, _ in hosts)


def test_delete_while_building_cleans_the_host(cloud, hosts, tmp_path):
    """A delete that arrives during the image fetch: the worker finishes the
    build step it is in, then removes what it made and releases the claim."""
    add_hosts(cloud, hosts, tmp_path)
    token = cloud.admin_token()
    image = bootable_image(cloud, token, disk=os.urandom(64 << 20))
    fl = flavor(cloud, token)
    status, _, made = cloud.api("POST", SERVERS, token, {"server": {
        "name": "short-lived", "imageRef": image, "flavorRef": fl}})
    assert status == 202, made
    sid = made["server"]["id"]
    status, _, body = cloud.api("DELETE", f"{SERVERS}/{sid}", token)
    assert status == 204, body
    wait_gone(cloud, token, sid, seconds=300)
    assert claims_used(cloud, token) == {"h0": (0, 0), "h1": (0, 0), "h2": (0, 0)}
    for d, _ in hosts:
        assert host_is_clean(d)
    assert nova_error(cloud.api("GET", f"{SERVERS}/{sid}", token)[2], "itemNotFound", 404)
