"""strata-cloud's compute API beside flavors: keypairs, host aggregates and
availability zones, server groups, limits and quota sets, through the real
`openstack` CLI and raw HTTP, on SQLite and PostgreSQL."""
import shutil
import subprocess

import pytest

from cloudlib import cloud, nova_error  # noqa: F401  (cloud: a fixture)


def ssh_keygen(*args):
    if not shutil.which("ssh-keygen"):
        pytest.skip("ssh-keygen (openssh-client) is not installed")
    return subprocess.run(["ssh-keygen", *args], capture_output=True, text=True, check=True,
                          timeout=120).stdout


def test_keypairs(cloud):
    # generated: the private key comes back once, and its public half is the stored one
    pem = cloud.tmp / "k1.pem"
    r = cloud.openstack("keypair", "create", "k1", fmt_json=False)
    pem.write_text(r.stdout)
    pem.chmod(0o600)
    assert r.stdout.startswith("-----BEGIN RSA PRIVATE KEY-----")
    derived = ssh_keygen("-y", "-f", str(pem)).split()[:2]
    shown = cloud.openstack("keypair", "show", "--public-key", "k1", fmt_json=False).stdout
    assert shown.split()[:2] == derived

    # imported: Nova's fingerprint is ssh-keygen's MD5 one
    key = cloud.tmp / "ed"
    ssh_keygen("-t", "ed25519", "-N", "", "-q", "-f", str(key))
    k2 = cloud.openstack("keypair", "create", "--public-key", str(key) + ".pub", "k2")
    md5 = ssh_keygen("-l", "-E", "md5", "-f", str(key) + ".pub").split()[1]
    assert "MD5:" + k2["fingerprint"] == md5
    assert k2["type"] == "ssh"
    listed = {k["Name"]: k for k in cloud.openstack("keypair", "list")}
    assert set(listed) == {"k1", "k2"} and listed["k2"]["Fingerprint"] == k2["fingerprint"]
    cloud.openstack("keypair", "delete", "k1", fmt_json=False)
    assert [k["Name"] for k in cloud.openstack("keypair", "list")] == ["k2"]

    # microversions: 200/202 at 2.1 without type, 201/204 from 2.2 with it
    token = cloud.admin_token()
    pub = (key.with_suffix(".pub")).read_text().strip()
    status, _, body = cloud.api("POST", "/compute/v2.1/os-keypairs", token,
                                {"keypair": {"name": "k3", "public_key": pub}})
    assert status == 200 and "type" not in body["keypair"] and "private_key" not in body["keypair"]
    status, _, _ = cloud.api("DELETE", "/compute/v2.1/os-keypairs/k3", token)
    assert status == 202
    status, _, body = cloud.api("POST", "/compute/v2.1/os-keypairs", token,
                                {"keypair": {"name": "k3", "public_key": pub}}, version="2.2")
    assert status == 201 and body["keypair"]["type"] == "ssh"
    status, _, body = cloud.api("GET", "/compute/v2.1/os-keypairs/k3", token, version="2.2")
    assert body["keypair"]["deleted"] is False and isinstance(body["keypair"]["id"], int)
    status, _, body = cloud.api("GET", "/compute/v2.1/os-keypairs?limit=1", token, version="2.35")
    assert [k["keypair"]["name"] for k in body["keypairs"]] == ["k2"]
    assert body["keypairs_links"][0]["href"].endswith("os-keypairs?limit=1&marker=k2")
    status, _, body = cloud.api("GET", "/compute/v2.1/os-keypairs?limit=1&marker=k2", token,
                                version="2.35")
    assert [k["keypair"]["name"] for k in body["keypairs"]] == ["k3"]
    status, _, _ = cloud.api("DELETE", "/compute/v2.1/os-keypairs/k3", token, version="2.2")
    assert status == 204

    # bad input: 400 and nothing stored; duplicates 409; unknown 404
    for kp in ({"name": "", "public_key": pub}, {"name": "bad/name", "public_key": pub},
               {"name": " lead", "public_key": pub}, {"name": "x" * 256, "public_key": pub},
               {"name": "k4", "public_key": "ssh-rsa AAAAnotbase64!"},
               {"name": "k4", "public_key": "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ=="},
               {"name": "k4", "public_key": "hello"}, {"name": "k4", "type": "ssh"},
               {"name": "k4", "colour": "red"}, {"public_key": pub}):
        status, _, body = cloud.api("POST", "/compute/v2.1/os-keypairs", token, {"keypair": kp})
        assert status == 400, kp
        nova_error(body, "badRequest", 400)
    status, _, body = cloud.api("POST", "/compute/v2.1/os-keypairs", token,
                                {"keypair": {"name": "k2", "public_key": pub}})
    assert status == 409
    assert nova_error(body, "conflictingRequest", 409) == "Key pair 'k2' already exists."
    status, _, body = cloud.api("GET", "/compute/v2.1/os-keypairs/nope", token)
    assert status == 404
    nova_error(body, "itemNotFound", 404)
    status, _, body = cloud.api("GET", "/compute/v2.1/os-keypairs", token)
    assert [k["keypair"]["name"] for k in body["keypairs"]] == ["k2"]

    # per user: another user sees none of them and cannot reach them by name
    alice, _, alice_id = cloud.member_token("p-alice", "alice")
    status, _, body = cloud.api("GET", "/compute/v2.1/os-keypairs", alice)
    assert status == 200 and body["keypairs"] == []
    status, _, _ = cloud.api("GET", "/compute/v2.1/os-keypairs/k2", alice)
    assert status == 404
    status, _, body = cloud.api("POST", "/compute/v2.1/os-keypairs", alice,
                                {"keypair": {"name": "k2", "public_key": pub}})
    assert status == 200 and body["keypair"]["user_id"] == alice_id
    # user_id (2.10) is an admin's
    status, _, body = cloud.api("GET", f"/compute/v2.1/os-keypairs?user_id={alice_id}", token,
                                version="2.10")
    assert [k["keypair"]["name"] for k in body["keypairs"]] == ["k2"]
    status, _, body = cloud.api("GET", "/compute/v2.1/os-keypairs?user_id=someone", alice,
                                version="2.10")
    assert status == 403
    nova_error(body, "forbidden", 403)


def test_aggregates_and_zones(cloud):
    agg = cloud.openstack("aggregate", "create", "--zone", "az1", "--property", "ssd=true",
                          "agg1")
    assert agg["availability_zone"] == "az1" and isinstance(agg["id"], int)
    cloud.openstack("aggregate", "add", "host", "agg1", "host1", fmt_json=False)
    cloud.openstack("aggregate", "set", "--property", "gpu=no", "agg1", fmt_json=False)
    shown = cloud.openstack("aggregate", "show", "agg1")
    assert shown["hosts"] == ["host1"]
    assert shown["properties"]["ssd"] == "true" and shown["properties"]["gpu"] == "no"
    zones = cloud.openstack("availability", "zone", "list", "--compute")
    assert [z["Zone Name"] for z in zones] == ["az1"]

    # a host is in one zone at most
    cloud.openstack("aggregate", "create", "--zone", "az2", "agg2", fmt_json=False)
    r = cloud.openstack("aggregate", "add", "host", "agg2", "host1", check=False, fmt_json=False)
    assert r.returncode != 0 and "az1" in r.stderr
    token = cloud.admin_token()
    status, _, body = cloud.api("GET", "/compute/v2.1/os-aggregates", token)
    aggs = {a["name"]: a for a in body["aggregates"]}
    assert aggs["agg2"]["hosts"] == [] and "uuid" not in aggs["agg2"]
    a1 = aggs["agg1"]["id"]
    status, _, body = cloud.api("GET", f"/compute/v2.1/os-aggregates/{a1}", token, version="2.41")
    assert len(body["aggregate"]["uuid"]) == 36
    assert body["aggregate"]["metadata"] == {"availability_zone": "az1", "ssd": "true",
                                             "gpu": "no"}
    # a null value removes a key
    status, _, body = cloud.api("POST", f"/compute/v2.1/os-aggregates/{a1}/action", token,
                                {"set_metadata": {"metadata": {"gpu": None}}})
    assert status == 200 and "gpu" not in body["aggregate"]["metadata"]

    for payload in ({"add_host": {}}, {"add_host": {"host": ""}}, {"frob": {}},
                    {"set_metadata": {"metadata": {"k": "v" * 256}}},
                    {"set_metadata": {"metadata": {"": "v"}}}, {"set_metadata": {}}):
        status, _, body = cloud.api("POST", f"/compute/v2.1/os-aggregates/{a1}/action", token,
                                    payload)
        assert status == 400, payload
        nova_error(body, "badRequest", 400)
    for agg_body in ({"name": ""}, {"name": "x" * 256}, {"availability_zone": "z"},
                     {"name": "n", "colour": 1}):
        status, _, body = cloud.api("POST", "/compute/v2.1/os-aggregates", token,
                                    {"aggregate": agg_body})
        assert status == 400, agg_body
        nova_error(body, "badRequest", 400)
    status, _, body = cloud.api("POST", "/compute/v2.1/os-aggregates", token,
                                {"aggregate": {"name": "agg1"}})
    assert status == 409
    nova_error(body, "conflictingRequest", 409)
    status, _, body = cloud.api("POST", f"/compute/v2.1/os-aggregates/{a1}/action", token,
                                {"add_host": {"host": "host1"}})
    assert status == 409
    status, _, body = cloud.api("POST", f"/compute/v2.1/os-aggregates/{a1}/action", token,
                                {"remove_host": {"host": "host9"}})
    assert status == 404
    # moving agg1's zone onto agg2's name is fine; an aggregate with hosts is not deleted
    status, _, body = cloud.api("PUT", f"/compute/v2.1/os-aggregates/{a1}", token,
                                {"aggregate": {"availability_zone": "az2"}})
    assert status == 200 and body["aggregate"]["availability_zone"] == "az2"
    status, _, body = cloud.api("DELETE", f"/compute/v2.1/os-aggregates/{a1}", token)
    assert status == 400
    status, _, body = cloud.api("GET", "/compute/v2.1/os-aggregates/999", token)
    assert status == 404
    nova_error(body, "itemNotFound", 404)

    # members may not touch aggregates; they may list zones
    alice, _, _ = cloud.member_token("p-alice", "alice")
    status, _, body = cloud.api("GET", "/compute/v2.1/os-aggregates", alice)
    assert status == 403
    assert nova_error(body, "forbidden", 403) == \
        "Policy doesn't allow os_compute_api:os-aggregates:index to be performed."
    status, _, body = cloud.api("GET", "/compute/v2.1/os-availability-zone", alice)
    assert status == 200 and [z["zoneName"] for z in body["availabilityZoneInfo"]] == ["az2"]
    status, _, body = cloud.api("GET", "/compute/v2.1/os-availability-zone/detail", alice)
    assert status == 403

    cloud.openstack("aggregate", "remove", "host", "agg1", "host1", fmt_json=False)
    cloud.openstack("aggregate", "delete", "agg1", "agg2", fmt_json=False)
    assert cloud.openstack("aggregate", "list") == []


def test_server_groups(cloud):
    g = cloud.openstack("server", "group", "create", "--policy", "anti-affinity", "g1")
    assert g["policies"] == ["anti-affinity"] and g["members"] == []
    token = cloud.admin_token()
    status, _, body = cloud.api("POST", "/compute/v2.1/os-server-groups", token,
                                {"server_group": {"name": "soft", "policies": ["soft-affinity"]}})
    assert status == 400  # soft policies from 2.15
    status, _, body = cloud.api("POST", "/compute/v2.1/os-server-groups", token,
                                {"server_group": {"name": "soft", "policies": ["soft-affinity"]}},
                                version="2.15")
    assert status == 200 and body["server_group"]["policies"] == ["soft-affinity"]
    assert body["server_group"]["project_id"]
    assert {x["Name"] for x in cloud.openstack("server", "group", "list")} == {"g1", "soft"}
    for sg in ({"name": "x", "policies": []}, {"name": "x", "policies": ["a", "b"]},
               {"name": "x", "policies": ["spread"]}, {"name": "", "policies": ["affinity"]},
               {"policies": ["affinity"]}, {"name": "x", "policies": "affinity"},
               {"name": "x", "policies": ["affinity"], "rules": {}}):
        status, _, body = cloud.api("POST", "/compute/v2.1/os-server-groups", token,
                                    {"server_group": sg})
        assert status == 400, sg
        nova_error(body, "badRequest", 400)

    # another project sees none of them, and cannot read or delete them by id
    alice, _, _ = cloud.member_token("p-alice", "alice")
    status, _, body = cloud.api("GET", "/compute/v2.1/os-server-groups", alice)
    assert body["server_groups"] == []
    status, _, body = cloud.api("GET", "/compute/v2.1/os-server-groups?all_projects=True", alice)
    assert body["server_groups"] == []
    status, _, body = cloud.api("GET", f"/compute/v2.1/os-server-groups/{g['id']}", alice)
    assert status == 403
    status, _, body = cloud.api("DELETE", f"/compute/v2.1/os-server-groups/{g['id']}", alice)
    assert status == 403
    status, _, body = cloud.api("POST", "/compute/v2.1/os-server-groups", alice,
                                {"server_group": {"name": "mine", "policies": ["affinity"]}})
    assert status == 200
    status, _, body = cloud.api("GET", "/compute/v2.1/os-server-groups?all_projects=True", token)
    assert {x["name"] for x in body["server_groups"]} == {"g1", "soft", "mine"}

    # the server_groups quota
    _, _, me = cloud.request("GET", "/identity/v3/auth/tokens",
                             headers={"X-Auth-Token": token, "X-Subject-Token": token})
    project = me["token"]["project"]["id"]
    status, _, body = cloud.api("PUT", f"/compute/v2.1/os-quota-sets/{project}", token,
                                {"quota_set": {"server_groups": 2}})
    assert status == 200 and body["quota_set"]["server_groups"] == 2
    status, _, body = cloud.api("POST", "/compute/v2.1/os-server-groups", token,
                                {"server_group": {"name": "third", "policies": ["affinity"]}})
    assert status == 403
    assert nova_error(body, "forbidden", 403) == "Quota exceeded, too many server groups."
    # a limit below what is used needs force
    status, _, body = cloud.api("PUT", f"/compute/v2.1/os-quota-sets/{project}", token,
                                {"quota_set": {"server_groups": 1}})
    assert status == 400
    status, _, body = cloud.api("PUT", f"/compute/v2.1/os-quota-sets/{project}", token,
                                {"quota_set": {"server_groups": 1, "force": True}})
    assert status == 200

    cloud.openstack("server", "group", "delete", "g1", fmt_json=False)
    status, _, body = cloud.api("GET", f"/compute/v2.1/os-server-groups/{g['id']}", token)
    assert status == 404
    nova_error(body, "itemNotFound", 404)


def test_limits_and_quotas(cloud):
    limits = {x["Name"]: x["Value"] for x in cloud.openstack("limits", "show", "--absolute")}
    assert limits["maxTotalInstances"] == 10 and limits["maxTotalCores"] == 20
    assert limits["totalInstancesUsed"] == 0
    projects = {p["Name"]: p["ID"] for p in cloud.openstack("project", "list")}
    cloud.openstack("quota", "set", "--instances", "20", "--cores", "40", "admin",
                    fmt_json=False)
    shown = cloud.openstack("quota", "show", "admin")
    assert shown["instances"] == 20 and shown["cores"] == 40 and shown["ram"] == 51200
    assert cloud.openstack("quota", "show", "--default", "admin")["instances"] == 10
    limits = {x["Name"]: x["Value"] for x in cloud.openstack("limits", "show", "--absolute")}
    assert limits["maxTotalInstances"] == 20

    token = cloud.admin_token()
    admin = projects["admin"]
    # microversion shapes: network quotas go at 2.36, injected files at 2.57
    status, _, body = cloud.api("GET", f"/compute/v2.1/os-quota-sets/{admin}", token)
    assert body["quota_set"]["id"] == admin and "floating_ips" in body["quota_set"]
    status, _, body = cloud.api("GET", f"/compute/v2.1/os-quota-sets/{admin}", token,
                                version="2.57")
    assert "floating_ips" not in body["quota_set"] and "injected_files" not in body["quota_set"]
    status, _, body = cloud.api("GET", "/compute/v2.1/limits", token, version="2.57")
    assert "maxPersonality" not in body["limits"]["absolute"]
    assert "maxImageMeta" not in body["limits"]["absolute"] and body["limits"]["rate"] == []
    status, _, body = cloud.api("GET", f"/compute/v2.1/os-quota-sets/{admin}/detail", token)
    assert body["quota_set"]["instances"] == {"in_use": 0, "limit": 20, "reserved": 0}

    # the default class feeds every project without its own limits
    status, _, body = cloud.api("PUT", "/compute/v2.1/os-quota-class-sets/default", token,
                                {"quota_class_set": {"instances": 15}})
    assert status == 200 and body["quota_class_set"]["instances"] == 15
    alice, alice_project, _ = cloud.member_token("p-alice", "alice")
    status, _, body = cloud.api("GET", f"/compute/v2.1/os-quota-sets/{alice_project}", alice)
    assert status == 200 and body["quota_set"]["instances"] == 15
    status, _, body = cloud.api("GET", "/compute/v2.1/limits", alice)
    assert body["limits"]["absolute"]["maxTotalInstances"] == 15

    # bad input changes nothing; members may not write quotas or read others'
    for qs in ({"instances": -2}, {"instances": "many"}, {"instances": 2 ** 31},
               {"colour": 1}, {"floating_ips": 1, "instances": 30}):
        status, _, body = cloud.api("PUT", f"/compute/v2.1/os-quota-sets/{admin}", token,
                                    {"quota_set": qs}, version="2.36")
        assert status == 400, qs
        nova_error(body, "badRequest", 400)
    status, _, body = cloud.api("GET", f"/compute/v2.1/os-quota-sets/{admin}", token)
    assert body["quota_set"]["instances"] == 20
    status, _, body = cloud.api("PUT", f"/compute/v2.1/os-quota-sets/{alice_project}", alice,
                                {"quota_set": {"instances": 99}})
    assert status == 403
    nova_error(body, "forbidden", 403)
    status, _, body = cloud.api("GET", f"/compute/v2.1/os-quota-sets/{admin}", alice)
    assert status == 403
    status, _, body = cloud.api("GET", f"/compute/v2.1/limits?tenant_id={admin}", alice)
    assert status == 403
    status, _, _ = cloud.api("DELETE", f"/compute/v2.1/os-quota-sets/{admin}", token)
    assert status == 202
    status, _, body = cloud.api("GET", f"/compute/v2.1/os-quota-sets/{admin}", token)
    assert body["quota_set"]["instances"] == 15
