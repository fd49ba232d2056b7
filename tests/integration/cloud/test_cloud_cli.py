"""strata-cloud serve driven by the real `openstack` CLI (Debian's
python3-openstackclient) through a clouds.yaml, on SQLite and on a throwaway
PostgreSQL, and bad input through raw HTTP."""
from cloudlib import ADMIN_PASSWORD, Cloud, cloud  # noqa: F401  (cloud: a fixture)


def test_token_catalog_and_endpoints(cloud):
    tok = cloud.openstack("token", "issue")
    assert tok["id"] and tok["expires"]
    projects = cloud.openstack("project", "list")
    admin = next(p for p in projects if p["Name"] == "admin")
    assert tok["project_id"] == admin["ID"]
    catalog = cloud.openstack("catalog", "list")
    identity = next(e for e in catalog if e["Type"] == "identity")
    assert identity["Name"] == "keystone"
    assert sorted((e["interface"], e["url"], e["region"]) for e in identity["Endpoints"]) == [
        (i, f"{cloud.url}/identity", "RegionOne") for i in ("admin", "internal", "public")]
    compute = next(e for e in catalog if e["Type"] == "compute")
    assert compute["Name"] == "nova"
    assert {e["url"] for e in compute["Endpoints"]} == {f"{cloud.url}/compute/v2.1"}
    endpoints = cloud.openstack("endpoint", "list")
    for kind, url in (("identity", "/identity"), ("compute", "/compute/v2.1")):
        mine = [e for e in endpoints if e["Service Type"] == kind]
        assert sorted(e["Interface"] for e in mine) == ["admin", "internal", "public"]
        assert {e["URL"] for e in mine} == {cloud.url + url}
    assert {e["Region"] for e in endpoints} == {"RegionOne"}


def test_projects_users_roles(cloud):
    p = cloud.openstack("project", "create", "--description", "the demo project", "demo")
    assert p["name"] == "demo" and p["domain_id"] == "default" and p["enabled"] is True
    assert cloud.openstack("project", "show", "demo")["id"] == p["id"]
    assert "demo" in {x["Name"] for x in cloud.openstack("project", "list")}

    u = cloud.openstack("user", "create", "--password", "alice-pw", "--email", "a@example.org",
                        "alice")
    assert u["name"] == "alice" and u["domain_id"] == "default"
    assert "password" not in u
    assert cloud.openstack("user", "show", "alice")["id"] == u["id"]
    assert {"admin", "alice"} <= {x["Name"] for x in cloud.openstack("user", "list")}

    r = cloud.openstack("role", "create", "observer")
    assert r["name"] == "observer"
    assert {"admin", "member", "reader", "observer"} <= {
        x["Name"] for x in cloud.openstack("role", "list")}

    cloud.openstack("role", "add", "--user", "alice", "--project", "demo", "member",
                    fmt_json=False)
    assigned = cloud.openstack("role", "assignment", "list", "--names", "--project", "demo")
    assert [(a["Role"], a["User"], a["Project"]) for a in assigned] == [
        ("member", "alice@Default", "demo@Default")]

    # alice can now log in to demo and see only herself there
    tok = cloud.openstack("token", "issue", user="alice", password="alice-pw", project="demo")
    assert tok["project_id"] == p["id"] and tok["user_id"] == u["id"]
    bad = cloud.openstack("user", "list", check=False, user="alice", password="alice-pw",
                          project="demo")
    assert bad.returncode != 0 and "403" in bad.stderr
    # a non-admin's project list is GET /v3/users/{self}/projects: only demo
    mine = cloud.openstack("project", "list", user="alice", password="alice-pw", project="demo")
    assert [x["Name"] for x in mine] == ["demo"]

    cloud.openstack("user", "delete", "alice", fmt_json=False)
    cloud.openstack("project", "delete", "demo", fmt_json=False)
    assert "demo" not in {x["Name"] for x in cloud.openstack("project", "list")}
    gone = cloud.openstack("project", "show", "demo", check=False)
    assert gone.returncode != 0 and "No project with a name or ID of 'demo'" in gone.stderr


def keystone_error(body, code):
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code and body["error"]["title"] and body["error"]["message"]
    return body["error"]["message"]


def password_auth(password):
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}


def test_bad_input_over_http(cloud):
    status, _, body = cloud.request("POST", "/identity/v3/auth/tokens", raw=b'{"auth": ')
    assert status == 400
    keystone_error(body, 400)

    status, _, body = cloud.request("POST", "/identity/v3/auth/tokens", password_auth("wrong"))
    assert status == 401
    assert keystone_error(body, 401) == "The request you have made requires authentication."

    status, headers, body = cloud.request("POST", "/identity/v3/auth/tokens",
                                          password_auth(ADMIN_PASSWORD))
    assert status == 201 and body["token"]["catalog"]
    token = headers["X-Subject-Token"]
    assert headers["x-openstack-request-id"].startswith("req-")

    # a tampered token: as the caller 401, as the subject 404 (Keystone's answers)
    i = len(token) // 2
    tampered = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
    status, _, body = cloud.request("GET", "/identity/v3/projects",
                                    headers={"X-Auth-Token": tampered})
    assert status == 401
    keystone_error(body, 401)
    status, _, body = cloud.request("GET", "/identity/v3/auth/tokens", headers={
        "X-Auth-Token": token, "X-Subject-Token": tampered})
    assert status == 404
    keystone_error(body, 404)

    # validate, revoke, and the revoked token is refused
    status, h, body = cloud.request("GET", "/identity/v3/auth/tokens", headers={
        "X-Auth-Token": token, "X-Subject-Token": token})
    assert status == 200 and h["X-Subject-Token"] == token
    assert body["token"]["project"]["name"] == "admin"
    status, _, _ = cloud.request("HEAD", "/identity/v3/auth/tokens", headers={
        "X-Auth-Token": token, "X-Subject-Token": token})
    assert status == 200
    second = cloud.admin_token()
    status, _, _ = cloud.request("DELETE", "/identity/v3/auth/tokens", headers={
        "X-Auth-Token": second, "X-Subject-Token": token})
    assert status == 204
    status, _, body = cloud.request("GET", "/identity/v3/projects",
                                    headers={"X-Auth-Token": token})
    assert status == 401

    status, _, body = cloud.request("GET", "/identity/v3/no-such-thing",
                                    headers={"X-Auth-Token": second})
    assert status == 404
    keystone_error(body, 404)
    status, _, body = cloud.request("GET", "/identity")
    assert status == 300 and body["versions"]["values"][0]["id"].startswith("v3")


def test_two_servers_one_postgresql(postgres):  # noqa: F811
    url = postgres.new_database()
    a, b = Cloud(db_url=url), Cloud(db_url=url)
    a.bootstrap()
    # the same key repository: Fernet tokens are validated without the database
    b.state = a.state
    a.start()
    b.start()
    try:
        token = a.admin_token()
        status, _, body = b.request("GET", "/identity/v3/auth/tokens", headers={
            "X-Auth-Token": token, "X-Subject-Token": token})
        assert status == 200 and body["token"]["user"]["name"] == "admin"
        # what one writes the other reads
        status, _, body = a.request("POST", "/identity/v3/projects",
                                    {"project": {"name": "shared"}},
                                    headers={"X-Auth-Token": token})
        assert status == 201
        status, _, body = b.request("GET", "/identity/v3/projects?name=shared",
                                    headers={"X-Auth-Token": token})
        assert status == 200 and [p["name"] for p in body["projects"]] == ["shared"]
        # a revocation through one is seen by the other
        status, _, _ = b.request("DELETE", "/identity/v3/auth/tokens", headers={
            "X-Auth-Token": token, "X-Subject-Token": token})
        assert status == 204
        status, _, _ = a.request("GET", "/identity/v3/projects", headers={"X-Auth-Token": token})
        assert status == 401
    finally:
        assert a.stop() == 0 and b.stop() == 0
