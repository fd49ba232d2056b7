"""strata-cloud's compute API (Nova v2.1): the version documents and
microversion negotiation, and flavors with extra specs and access lists,
through the real `openstack` CLI and raw HTTP, on SQLite and PostgreSQL."""
from cloudlib import cloud, nova_error  # noqa: F401  (cloud: a fixture)

VARY = "OpenStack-API-Version, X-OpenStack-Nova-API-Version"


def test_versions_and_microversions(cloud):
    for path in ("/compute", "/compute/"):
        status, _, body = cloud.request("GET", path)
        assert status == 200
        (v,) = body["versions"]
        assert (v["id"], v["status"], v["min_version"], v["version"]) == \
            ("v2.1", "CURRENT", "2.1", "2.60")
    status, _, body = cloud.request("GET", "/compute/v2.1")
    assert status == 200 and body["version"]["version"] == "2.60"
    assert body["version"]["links"][0]["href"] == f"{cloud.url}/compute/v2.1/"

    token = cloud.admin_token()
    cases = [({}, "2.1"),
             ({"X-OpenStack-Nova-API-Version": "2.37"}, "2.37"),
             ({"OpenStack-API-Version": "compute 2.55"}, "2.55"),
             ({"OpenStack-API-Version": "image 2.9, compute latest"}, "2.60"),
             # the new header wins over the legacy one
             ({"OpenStack-API-Version": "compute 2.10",
               "X-OpenStack-Nova-API-Version": "2.20"}, "2.10")]
    for headers, want in cases:
        status, h, _ = cloud.request("GET", "/compute/v2.1/flavors",
                                     headers={"X-Auth-Token": token, **headers})
        assert status == 200, headers
        assert h["OpenStack-API-Version"] == f"compute {want}"
        assert h["X-OpenStack-Nova-API-Version"] == want
        assert h["Vary"] == VARY

    for bad, status_want, fault in (("2.61", 406, "computeFault"), ("3.0", 406, "computeFault"),
                                    ("2.0", 406, "computeFault"), ("2.x", 400, "badRequest"),
                                    ("2.01", 400, "badRequest"), ("", 200, None)):
        status, h, body = cloud.request("GET", "/compute/v2.1/flavors", headers={
            "X-Auth-Token": token, "X-OpenStack-Nova-API-Version": bad})
        assert status == status_want, (bad, body)
        assert h["Vary"] == VARY
        if fault:
            msg = nova_error(body, fault, status_want)
            if status_want == 406:
                assert msg == (f"Version {bad} is not supported by the API. "
                               "Minimum is 2.1 and maximum is 2.60.")

    # no token: keystonemiddleware's 401; an unknown path under /compute: Nova's 404
    status, _, body = cloud.request("GET", "/compute/v2.1/flavors")
    assert status == 401 and body["error"]["code"] == 401
    status, _, body = cloud.api("GET", "/compute/v2.1/no-such-thing", token)
    assert status == 404
    nova_error(body, "itemNotFound", 404)
    # PUT /flavors/{id} exists from 2.55 on only
    status, _, body = cloud.api("PUT", "/compute/v2.1/flavors/x", token,
                                {"flavor": {"description": "d"}}, version="2.54")
    assert status == 404
    nova_error(body, "itemNotFound", 404)


def test_flavors_with_the_cli(cloud):
    tiny = cloud.openstack("flavor", "create", "--ram", "512", "--vcpus", "1", "--disk", "1",
                           "m1.tiny")
    # "id": null -> a generated UUID
    assert len(tiny["id"]) == 36 and tiny["id"].count("-") == 4
    assert (tiny["ram"], tiny["vcpus"], tiny["disk"], tiny["os-flavor-access:is_public"]) == \
        (512, 1, 1, True)
    big = cloud.openstack("flavor", "create", "--id", "42", "--ram", "4096", "--vcpus", "4",
                          "--disk", "40", "--swap", "1024", "--ephemeral", "5",
                          "--description", "a big one", "m1.big")
    assert big["id"] == "42" and big["swap"] == 1024 and big["description"] == "a big one"
    assert big["OS-FLV-EXT-DATA:ephemeral"] == 5

    cloud.openstack("flavor", "set", "--property", "hw:cpu_policy=dedicated", "--property",
                    "capabilities:cpu_info:features=<in> avx", "m1.tiny", fmt_json=False)
    shown = cloud.openstack("flavor", "show", "m1.tiny")
    assert shown["properties"] == {"hw:cpu_policy": "dedicated",
                                   "capabilities:cpu_info:features": "<in> avx"}
    cloud.openstack("flavor", "unset", "--property", "hw:cpu_policy", "m1.tiny", fmt_json=False)
    assert cloud.openstack("flavor", "show", tiny["id"])["properties"] == {
        "capabilities:cpu_info:features": "<in> avx"}

    projects = {p["Name"]: p["ID"] for p in cloud.openstack("project", "list")}
    priv = cloud.openstack("flavor", "create", "--ram", "256", "--vcpus", "1", "--disk", "0",
                           "--private", "--project", "admin", "m1.priv")
    assert priv["os-flavor-access:is_public"] is False
    assert cloud.openstack("flavor", "show", "m1.priv")["access_project_ids"] == \
        [projects["admin"]]

    names = {f["Name"]: f for f in cloud.openstack("flavor", "list", "--all", "--long")}
    assert set(names) == {"m1.tiny", "m1.big", "m1.priv"}
    assert names["m1.priv"]["Is Public"] is False
    # is_public=true also lists the private flavors the caller's project may use (Nova's)
    assert {f["Name"] for f in cloud.openstack("flavor", "list", "--public")} == \
        {"m1.tiny", "m1.big", "m1.priv"}
    assert {f["Name"] for f in cloud.openstack("flavor", "list", "--private")} == {"m1.priv"}

    cloud.openstack("flavor", "delete", "m1.big", fmt_json=False)
    r = cloud.openstack("flavor", "show", "m1.big", check=False, fmt_json=False)
    assert r.returncode != 0 and "m1.big" in r.stderr
    assert {f["Name"] for f in cloud.openstack("flavor", "list", "--all")} == \
        {"m1.tiny", "m1.priv"}


def create(cloud, token, **fields):
    flavor = {"name": "f", "ram": 512, "vcpus": 1, "disk": 1, "id": None, **fields}
    return cloud.api("POST", "/compute/v2.1/flavors", token, {"flavor": flavor})


def test_flavor_listing_filters_paging(cloud):
    token = cloud.admin_token()
    for i, (ram, disk) in enumerate(((512, 1), (2048, 20), (1024, 10), (8192, 80))):
        status, _, body = create(cloud, token, name=f"f{i}", id=f"id{i}", ram=ram, disk=disk)
        assert status == 200, body
    status, _, body = create(cloud, token, name="hidden", id="idp", ram=4096,
                             **{"os-flavor-access:is_public": False})
    assert status == 200

    def ids(query, tok=token, version=None):
        status, _, body = cloud.api("GET", "/compute/v2.1/flavors/detail" + query, tok,
                                    version=version)
        assert status == 200, body
        return [f["id"] for f in body["flavors"]]

    # admins: public by default (with what their project may use), all with the literal None
    assert ids("") == ["id0", "id1", "id2", "id3"]
    assert ids("?is_public=None") == ["id0", "id1", "id2", "id3", "idp"]
    assert ids("?is_public=false") == ["idp"]
    assert ids("?minRam=1024&minDisk=15") == ["id1", "id3"]
    assert ids("?sort_key=memory_mb&sort_dir=desc") == ["id3", "id1", "id2", "id0"]
    assert ids("?sort_key=name&limit=2") == ["id0", "id1"]
    assert ids("?sort_key=name&limit=2&marker=id1") == ["id2", "id3"]
    status, _, body = cloud.api("GET", "/compute/v2.1/flavors?limit=2", token)
    assert [f["id"] for f in body["flavors"]] == ["id0", "id1"]
    assert set(body["flavors"][0]) == {"id", "name", "links"}
    assert body["flavors_links"][0]["rel"] == "next"
    assert body["flavors_links"][0]["href"].endswith("/compute/v2.1/flavors?limit=2&marker=id1")

    # microversion shapes: swap "" for 0 and no description at 2.1, description at 2.55
    status, _, body = cloud.api("GET", "/compute/v2.1/flavors/id0", token)
    assert body["flavor"]["swap"] == "" and "description" not in body["flavor"]
    assert body["flavor"]["links"][0] == {
        "rel": "self", "href": f"{cloud.url}/compute/v2.1/flavors/id0"}
    status, _, body = cloud.api("GET", "/compute/v2.1/flavors/id0", token, version="2.55")
    assert body["flavor"]["description"] is None
    status, _, body = cloud.api("PUT", "/compute/v2.1/flavors/id0", token,
                                {"flavor": {"description": "small"}}, version="2.55")
    assert status == 200 and body["flavor"]["description"] == "small"

    for query, why in (("?is_public=maybe", "Invalid is_public filter"),
                       ("?minRam=lots", "Invalid minRam filter"),
                       ("?minDisk=-1", "Invalid minDisk filter"),
                       ("?sort_key=colour", "sort_key"), ("?sort_dir=up", "sort direction"),
                       ("?limit=x", "limit"), ("?limit=-1", "limit"),
                       ("?marker=nope", "marker [nope] not found")):
        status, _, body = cloud.api("GET", "/compute/v2.1/flavors" + query, token)
        assert status == 400, query
        assert why in nova_error(body, "badRequest", 400)


def test_flavor_bad_input_changes_nothing(cloud):
    token = cloud.admin_token()
    status, _, body = create(cloud, token, name="keep", id="keep")
    assert status == 200
    bad = [{"name": ""}, {"name": " lead"}, {"name": "x" * 256}, {"name": 7}, {"ram": 0},
           {"ram": "lots"}, {"ram": -5}, {"vcpus": 0}, {"disk": -1}, {"vcpus": 1.5},
           {"swap": -1}, {"OS-FLV-EXT-DATA:ephemeral": "x"}, {"rxtx_factor": 0},
           {"rxtx_factor": "fast"}, {"os-flavor-access:is_public": "perhaps"},
           {"id": "bad/id"}, {"id": ""}, {"colour": "red"}, {"description": "at 2.1"}]
    for fields in bad:
        status, _, body = create(cloud, token, **{"name": "new", **fields})
        assert status == 400, (fields, body)
        nova_error(body, "badRequest", 400)
    for missing in ("name", "ram", "vcpus", "disk"):
        flavor = {"name": "new", "ram": 1, "vcpus": 1, "disk": 1}
        del flavor[missing]
        status, _, body = cloud.api("POST", "/compute/v2.1/flavors", token, {"flavor": flavor})
        assert status == 400 and missing in nova_error(body, "badRequest", 400)
    status, _, body = cloud.api("POST", "/compute/v2.1/flavors", token, raw=b'{"flavor": ')
    assert status == 400
    nova_error(body, "badRequest", 400)

    status, _, body = create(cloud, token, name="keep")
    assert status == 409
    assert nova_error(body, "conflictingRequest", 409) == "Flavor with name keep already exists."
    status, _, body = create(cloud, token, name="other", id="keep")
    assert status == 409
    assert nova_error(body, "conflictingRequest", 409) == "Flavor with ID keep already exists."
    status, _, body = cloud.api("GET", "/compute/v2.1/flavors?is_public=None", token)
    assert [f["id"] for f in body["flavors"]] == ["keep"]

    # extra specs: key syntax, value types, URI/body agreement, unknown keys and flavors
    url = "/compute/v2.1/flavors/keep/os-extra_specs"
    for specs in ({"bad/key": "v"}, {"": "v"}, {"k" * 256: "v"}, {"k": "v" * 256}, {"k": None},
                  {"k": ["list"]}):
        status, _, body = cloud.api("POST", url, token, {"extra_specs": specs})
        assert status == 400, specs
        nova_error(body, "badRequest", 400)
    status, _, body = cloud.api("POST", url, token, {"extra_specs": {"a": 1, "b": True, "c": "x"}})
    assert status == 200 and body == {"extra_specs": {"a": "1", "b": "True", "c": "x"}}
    status, _, body = cloud.api("PUT", url + "/a", token, {"b": "2"})
    assert status == 400 and "mismatch" in nova_error(body, "badRequest", 400)
    status, _, body = cloud.api("PUT", url + "/a", token, {"a": "2"})
    assert status == 200 and body == {"a": "2"}
    status, _, body = cloud.api("GET", url + "/a", token)
    assert body == {"a": "2"}
    status, _, body = cloud.api("DELETE", url + "/zzz", token)
    assert status == 404
    assert nova_error(body, "itemNotFound", 404) == \
        "Flavor keep has no extra specs with key zzz."
    status, _, body = cloud.api("DELETE", url + "/a", token)
    assert status == 200
    status, _, body = cloud.api("GET", url, token)
    assert body == {"extra_specs": {"b": "True", "c": "x"}}
    status, _, body = cloud.api("GET", "/compute/v2.1/flavors/nope/os-extra_specs", token)
    assert status == 404
    assert nova_error(body, "itemNotFound", 404) == "Flavor nope could not be found."
    status, _, body = cloud.api("DELETE", "/compute/v2.1/flavors/nope", token)
    assert status == 404


def test_private_flavors_across_projects(cloud):
    admin = cloud.admin_token()
    alice, alice_project, _ = cloud.member_token("p-alice", "alice")
    bob, bob_project, _ = cloud.member_token("p-bob", "bob")
    status, _, _ = create(cloud, admin, name="public", id="pub")
    assert status == 200
    status, _, _ = create(cloud, admin, name="secret", id="sec",
                          **{"os-flavor-access:is_public": False})
    assert status == 200

    def visible(token, query=""):
        status, _, body = cloud.api("GET", "/compute/v2.1/flavors/detail" + query, token)
        assert status == 200
        return {f["id"] for f in body["flavors"]}

    assert visible(alice) == {"pub"} and visible(bob) == {"pub"}
    # is_public=None is an admin's filter: a member still sees only what it may use
    assert visible(alice, "?is_public=None") == {"pub"}
    action = "/compute/v2.1/flavors/sec/action"
    status, _, body = cloud.api("POST", action, admin,
                                {"addTenantAccess": {"tenant": alice_project}})
    assert status == 200
    assert body["flavor_access"] == [{"flavor_id": "sec", "tenant_id": alice_project}]
    status, _, body = cloud.api("POST", action, admin,
                                {"addTenantAccess": {"tenant": alice_project}})
    assert status == 409
    nova_error(body, "conflictingRequest", 409)
    assert visible(alice) == {"pub", "sec"} and visible(bob) == {"pub"}
    status, _, body = cloud.api("GET", "/compute/v2.1/flavors/sec", bob)
    assert status == 404
    assert nova_error(body, "itemNotFound", 404) == "Flavor sec could not be found."
    status, _, body = cloud.api("GET", "/compute/v2.1/flavors/sec/os-extra_specs", alice)
    assert status == 200

    # members may not write flavors, specs or access lists (Nova's policy names)
    status, _, body = create(cloud, alice, name="mine")
    assert status == 403
    assert nova_error(body, "forbidden", 403) == \
        "Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed."
    for method, path, payload in (
            ("DELETE", "/compute/v2.1/flavors/pub", None),
            ("POST", "/compute/v2.1/flavors/pub/os-extra_specs", {"extra_specs": {"a": "b"}}),
            ("POST", action, {"addTenantAccess": {"tenant": bob_project}}),
            ("GET", "/compute/v2.1/flavors/sec/os-flavor-access", None)):
        status, _, body = cloud.api(method, path, alice, payload)
        assert status == 403, (method, path)
        nova_error(body, "forbidden", 403)

    # access on a public flavor: 409 from 2.7, and no access list to show
    status, _, body = cloud.api("POST", "/compute/v2.1/flavors/pub/action", admin,
                                {"addTenantAccess": {"tenant": bob_project}}, version="2.7")
    assert status == 409
    status, _, body = cloud.api("GET", "/compute/v2.1/flavors/pub/os-flavor-access", admin)
    assert status == 404
    for payload in ({"addTenantAccess": {}}, {"addTenantAccess": {"tenant": ""}},
                    {"frobnicate": {}}, {"addTenantAccess": {"tenant": "x", "more": 1}}):
        status, _, body = cloud.api("POST", action, admin, payload)
        assert status == 400, payload
        nova_error(body, "badRequest", 400)
    status, _, body = cloud.api("POST", action, admin,
                                {"removeTenantAccess": {"tenant": bob_project}})
    assert status == 404
    status, _, body = cloud.api("POST", action, admin,
                                {"removeTenantAccess": {"tenant": alice_project}})
    assert status == 200 and body["flavor_access"] == []
    assert visible(alice) == {"pub"}
