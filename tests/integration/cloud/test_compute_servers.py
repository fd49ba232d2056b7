"""strata-cloud's servers (Nova's POST/GET/DELETE /servers) without hosts:
Nova's 400s for each bad create parameter (nothing created), quotas
refusing at create, and a server that finds no host ending in ERROR with
Nova's "No valid host" fault, listed, filtered, paged and deleted, through
the real `openstack` CLI and raw HTTP, on SQLite and PostgreSQL. The build
on real stratad hosts is test_compute_servers_hosts.py's."""
import time

from cloudlib import cloud, nova_error  # noqa: F401  (cloud: a fixture)
import imagelib

SERVERS = "/compute/v2.1/servers"


def wait_server(cloud, token, sid, want, seconds=120, version=None):
    """Polls the server until its status is in want; returns its view."""
    deadline = time.monotonic() + seconds
    while True:
        status, _, body = cloud.api("GET", f"{SERVERS}/{sid}", token, version=version)
        assert status == 200, body
        if body["server"]["status"] in want:
            return body["server"]
        assert time.monotonic() < deadline, f"server {sid} stayed {body['server']['status']}"
        time.sleep(0.1)


def wait_gone(cloud, token, sid, seconds=120):
    deadline = time.monotonic() + seconds
    while True:
        status, _, body = cloud.api("GET", f"{SERVERS}/{sid}", token)
        if status == 404:
            return nova_error(body, "itemNotFound", 404)
        assert time.monotonic() < deadline, f"server {sid} was not deleted"
        time.sleep(0.1)


def bootable_image(cloud, token, name="img", disk=b"\0" * 4096):
    """A raw disk image whose kernel_id names a kernel image: what a strata
    host boots. Returns the disk image's id."""
    kernel = imagelib.create(cloud, token, name=name + "-kernel", disk_format="aki",
                             container_format="aki")
    assert imagelib.upload(cloud, token, kernel["id"], b"K" * 1024)[0] == 204
    img = imagelib.create(cloud, token, name=name, kernel_id=kernel["id"])
    assert imagelib.upload(cloud, token, img["id"], disk)[0] == 204
    return img["id"]


def flavor(cloud, token, name="m1.tiny", ram=64, vcpus=1, disk=1):
    status, _, body = cloud.api("POST", "/compute/v2.1/flavors", token, {"flavor": {
        "name": name, "ram": ram, "vcpus": vcpus, "disk": disk}})
    assert status == 200, body
    return body["flavor"]["id"]


def test_create_validation(cloud):
    token = cloud.admin_token()
    image = bootable_image(cloud, token)
    fl = flavor(cloud, token)
    queued = imagelib.create(cloud, token, name="queued")["id"]
    good = {"name": "s", "imageRef": image, "flavorRef": fl}
    bad = [
        ({}, "'server'"),
        ({"server": {**good, "bogus": 1}}, "Additional properties"),
        ({"server": {k: v for k, v in good.items() if k != "name"}}, "name"),
        ({"server": {**good, "name": ""}}, "name"),
        ({"server": {**good, "name": "x" * 300}}, "name"),
        ({"server": {**good, "name": " lead"}}, "whitespace"),
        ({"server": {**good, "name": 5}}, "name"),
        ({"server": {k: v for k, v in good.items() if k != "flavorRef"}}, "flavorRef"),
        ({"server": {**good, "flavorRef": "nope"}}, "Flavor nope could not be found."),
        ({"server": {**good, "imageRef": "3c8fdb0a-0000-4000-8000-000000000000"}},
         "Can not find requested image"),
        ({"server": {**good, "imageRef": queued}}, "is not active"),
        ({"server": {**good, "min_count": 0}}, "min_count"),
        ({"server": {**good, "min_count": -1}}, "min_count"),
        ({"server": {**good, "min_count": "x"}}, "min_count"),
        ({"server": {**good, "min_count": 3, "max_count": 2}}, "min_count must be <= max_count"),
        ({"server": {**good, "metadata": {"k": 5}}}, "metadata"),
        ({"server": {**good, "metadata": []}}, "metadata"),
        ({"server": {**good, "user_data": "not base64!"}}, "User data needs to be valid base 64."),
        ({"server": {**good, "key_name": "nokey"}}, "Invalid key_name provided."),
        ({"server": {**good, "availability_zone": "nowhere"}},
         "The requested availability zone is not available"),
        ({"server": {**good, "accessIPv4": "1.2.3"}}, "accessIPv4"),
        ({"server": {**good, "networks": [{"uuid": "3c8fdb0a-0000-4000-8000-000000000001"}]}},
         "Network 3c8fdb0a-0000-4000-8000-000000000001 could not be found."),
        ({"server": good, "os:scheduler_hints": {"group": "not-a-uuid"}}, "group"),
        ({"server": good, "os:scheduler_hints": {"group": "3c8fdb0a-0000-4000-8000-000000000002"}},
         "Instance group 3c8fdb0a-0000-4000-8000-000000000002 could not be found."),
        ({"server": good, "os:scheduler_hints": {"same_host": ["x"]}}, "same_host"),
        ({"server": {**good, "description": "d"}}, "description"),  # 2.19 and later only
    ]
    for body, words in bad:
        status, _, reply = cloud.api("POST", SERVERS, token, body)
        assert status == 400, (body, status, reply)
        assert words in nova_error(reply, "badRequest", 400), (body, reply)
    # from 2.37 networks is required; "auto" has nothing to allocate from
    status, _, reply = cloud.api("POST", SERVERS, token, {"server": good}, version="2.37")
    assert status == 400 and "networks" in nova_error(reply, "badRequest", 400)
    status, _, reply = cloud.api("POST", SERVERS, token, {"server": {**good, "networks": "auto"}},
                                 version="2.37")
    assert status == 400, reply
    # the flavor must hold the image: min_disk 5 GiB, the flavor's disk 1
    needy = imagelib.create(cloud, token, name="needy", min_disk=5)
    assert imagelib.upload(cloud, token, needy["id"], b"\0" * 512)[0] == 204
    status, _, reply = cloud.api("POST", SERVERS, token, {"server": {**good, "imageRef": needy["id"]}})
    assert status == 400
    assert nova_error(reply, "badRequest", 400) == "Flavor's disk is too small for requested image."
    # nothing was created by any of them
    status, _, listed = cloud.api("GET", SERVERS, token)
    assert status == 200 and listed["servers"] == []


def test_no_valid_host_error_and_delete(cloud):
    token = cloud.admin_token()
    image = bootable_image(cloud, token)
    fl = flavor(cloud, token, ram=128, vcpus=2)
    # the real CLI: accepted (202), then ERROR: no host is registered
    made = cloud.openstack("server", "create", "--flavor", fl, "--image", image, "lonely")
    sid = made["id"]
    assert made["adminPass"] and made["status"] in ("BUILD", "ERROR")
    server = wait_server(cloud, token, sid, ("ERROR",))
    assert server["fault"]["code"] == 500
    assert server["fault"]["message"].startswith("No valid host was found."), server["fault"]
    assert server["OS-EXT-STS:vm_state"] == "error" and server["OS-EXT-STS:task_state"] is None
    assert server["OS-EXT-SRV-ATTR:host"] is None and server["hostId"] == ""
    assert server["flavor"]["id"] == fl and server["image"]["id"] == image
    assert server["links"][0]["href"].endswith(f"/v2.1/servers/{sid}")
    shown = cloud.openstack("server", "show", sid)
    assert shown["status"] == "ERROR" and "No valid host" in str(shown["fault"])
    # usage counts it until it is deleted
    limits = cloud.api("GET", "/compute/v2.1/limits", token)[2]["limits"]["absolute"]
    assert (limits["totalInstancesUsed"], limits["totalCoresUsed"], limits["totalRAMUsed"]) == \
        (1, 2, 128)
    listed = cloud.openstack("server", "list")
    assert [(s["ID"], s["Name"], s["Status"]) for s in listed] == [(sid, "lonely", "ERROR")]
    cloud.openstack("server", "delete", sid, fmt_json=False)
    assert "could not be found" in wait_gone(cloud, token, sid)
    assert cloud.openstack("server", "list") == []
    limits = cloud.api("GET", "/compute/v2.1/limits", token)[2]["limits"]["absolute"]
    assert limits["totalInstancesUsed"] == 0 and limits["totalRAMUsed"] == 0


def test_image_without_kernel_is_error(cloud):
    token = cloud.admin_token()
    img = imagelib.create(cloud, token, name="nokernel")
    assert imagelib.upload(cloud, token, img["id"], b"\0" * 512)[0] == 204
    fl = flavor(cloud, token)
    status, _, made = cloud.api("POST", SERVERS, token, {"server": {
        "name": "nk", "imageRef": img["id"], "flavorRef": fl}})
    assert status == 202, made
    server = wait_server(cloud, token, made["server"]["id"], ("ERROR",))
    assert "has no kernel_id" in server["fault"]["message"]


def test_quota_count_list_filters_paging(cloud):
    token = cloud.admin_token()
    image = bootable_image(cloud, token)
    fl = flavor(cloud, token)
    admin_project = cloud.openstack("project", "show", "admin")["id"]
    status, _, _ = cloud.api("PUT", f"/compute/v2.1/os-quota-sets/{admin_project}", token,
                             {"quota_set": {"instances": 3}})
    assert status == 200
    # min 2, max 5 with room for 3: Nova makes 3, named NAME-1 .. NAME-3
    status, _, made = cloud.api("POST", SERVERS, token, {"server": {
        "name": "multi", "imageRef": image, "flavorRef": fl, "min_count": 2, "max_count": 5,
        "return_reservation_id": True}})
    assert status == 202 and made["reservation_id"].startswith("r-"), made
    status, _, listed = cloud.api("GET", f"{SERVERS}/detail?reservation_id={made['reservation_id']}",
                                  token, version="2.3")
    names = sorted(s["name"] for s in listed["servers"])
    assert names == ["multi-1", "multi-2", "multi-3"], names
    assert sorted(s["OS-EXT-SRV-ATTR:launch_index"] for s in listed["servers"]) == [0, 1, 2]
    # the 4th is refused with Nova's quota message and 403
    status, _, reply = cloud.api("POST", SERVERS, token, {"server": {
        "name": "one-more", "imageRef": image, "flavorRef": fl}})
    assert status == 403, reply
    assert nova_error(reply, "forbidden", 403) == \
        "Quota exceeded for instances: Requested 1, but already used 3 of 3 instances"
    for s in listed["servers"]:
        wait_server(cloud, token, s["id"], ("ERROR",))
    # filters: name is a regular expression, status, flavor; paging with a marker
    status, _, body = cloud.api("GET", f"{SERVERS}?name=^multi-[12]$", token)
    assert sorted(s["name"] for s in body["servers"]) == ["multi-1", "multi-2"]
    status, _, body = cloud.api("GET", f"{SERVERS}/detail?status=ACTIVE", token)
    assert body["servers"] == []
    status, _, body = cloud.api("GET", f"{SERVERS}/detail?flavor={fl}&status=error", token)
    assert len(body["servers"]) == 3
    status, _, page1 = cloud.api("GET", f"{SERVERS}?limit=2", token)
    assert len(page1["servers"]) == 2 and "marker=" in page1["servers_links"][0]["href"]
    marker = page1["servers"][-1]["id"]
    status, _, page2 = cloud.api("GET", f"{SERVERS}?limit=2&marker={marker}", token)
    assert len(page2["servers"]) == 1 and "servers_links" not in page2
    seen = {s["id"] for s in page1["servers"] + page2["servers"]}
    assert seen == {s["id"] for s in listed["servers"]}
    status, _, reply = cloud.api("GET", f"{SERVERS}?marker=3c8fdb0a-0000-4000-8000-000000000000", token)
    assert status == 400, reply
    # another project sees none of them, and cannot show or delete them
    other, _, _ = cloud.member_token("other", "bob")
    status, _, body = cloud.api("GET", SERVERS, other)
    assert status == 200 and body["servers"] == []
    status, _, body = cloud.api("GET", f"{SERVERS}/{marker}", other)
    assert status == 404
    status, _, body = cloud.api("DELETE", f"{SERVERS}/{marker}", other)
    assert status == 404
    # an admin lists all projects' servers with all_tenants
    status, _, body = cloud.api("GET", f"{SERVERS}?all_tenants=1", token)
    assert len(body["servers"]) == 3
