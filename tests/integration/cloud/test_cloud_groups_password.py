"""Group membership and effective role assignments (through groups and implied
roles), password change, direct grant lists and paging, through the real
`openstack` CLI on SQLite and PostgreSQL; and why `--os-username/--os-password/
--os-project-name` on top of OS_CLOUD gives a 401."""
from test_cloud_cli import cloud  # noqa: F401  (fixture: SQLite and PostgreSQL)


def auth_status(cloud, token):
    status, _, _ = cloud.request("GET", "/identity/v3/auth/projects", headers={"X-Auth-Token": token})
    return status


def test_groups_and_effective_assignments(cloud):
    demo = cloud.openstack("project", "create", "demo")["id"]
    alice = cloud.openstack("user", "create", "--password", "alice-pw", "alice")["id"]
    cloud.openstack("user", "create", "--password", "bob-pw", "bob")
    devs = cloud.openstack("group", "create", "devs")["id"]
    cloud.openstack("group", "add", "user", "devs", "alice", fmt_json=False)
    assert "alice in group devs" in cloud.openstack("group", "contains", "user", "devs", "alice",
                                                    fmt_json=False).stdout
    assert "bob not in group devs" in cloud.openstack("group", "contains", "user", "devs", "bob",
                                                      fmt_json=False).stderr  # the CLI's choice
    assert [u["Name"] for u in cloud.openstack("user", "list", "--group", "devs")] == ["alice"]
    assert [g["Name"] for g in cloud.openstack("group", "list", "--user", "alice")] == ["devs"]

    # a role through the group: alice may log in to demo; effective lists show
    # her (not the group) with member and the reader it implies
    cloud.openstack("role", "add", "--group", "devs", "--project", "demo", "member",
                    fmt_json=False)
    direct = cloud.openstack("role", "assignment", "list", "--names", "--project", "demo")
    assert [(a["Role"], a["User"], a["Group"]) for a in direct] == [("member", "", "devs@Default")]
    eff = cloud.openstack("role", "assignment", "list", "--effective", "--names", "--project", "demo")
    assert sorted((a["Role"], a["User"], a["Group"], a["Project"]) for a in eff) == [
        ("member", "alice@Default", "", "demo@Default"),
        ("reader", "alice@Default", "", "demo@Default")]
    token = cloud.token("alice", "alice-pw", "demo")
    assert auth_status(cloud, token) == 200
    mine = cloud.openstack("role", "assignment", "list", "--effective", "--user", "alice")
    assert {(a["Role"], a["Project"]) for a in mine} == {
        (r, demo) for r in cloud_role_ids(cloud, "member", "reader")}

    # a direct role too: the grant list of /v3/projects/{p}/users/{u}/roles
    cloud.openstack("role", "add", "--user", "alice", "--project", "demo", "reader",
                    fmt_json=False)
    admin = cloud.admin_token()
    status, _, body = cloud.request("GET", f"/identity/v3/projects/{demo}/users/{alice}/roles",
                                    headers={"X-Auth-Token": admin})
    assert status == 200 and [r["name"] for r in body["roles"]] == ["reader"]
    status, _, body = cloud.request("GET", f"/identity/v3/projects/{demo}/groups/{devs}/roles",
                                    headers={"X-Auth-Token": admin})
    assert status == 200 and [r["name"] for r in body["roles"]] == ["member"]
    listed = cloud.openstack("role", "assignment", "list", "--user", "alice", "--project", "demo",
                             "--names")
    assert [(a["Role"], a["User"]) for a in listed] == [("reader", "alice@Default")]

    # out of the group: the group's member role is gone from her token
    cloud.openstack("group", "remove", "user", "devs", "alice", fmt_json=False)
    status, _, body = cloud.request("GET", "/identity/v3/auth/tokens", headers={
        "X-Auth-Token": admin, "X-Subject-Token": token})
    assert status == 200 and [r["name"] for r in body["token"]["roles"]] == ["reader"]
    status, _, _ = cloud.request("HEAD", f"/identity/v3/groups/{devs}/users/{alice}",
                                 headers={"X-Auth-Token": admin})
    assert status == 404
    # a member of a project may not manage groups
    status, _, body = cloud.request("PUT", f"/identity/v3/groups/{devs}/users/{alice}",
                                    headers={"X-Auth-Token": token})
    assert status == 403 and body["error"]["code"] == 403


def cloud_role_ids(cloud, *names):
    roles = {r["Name"]: r["ID"] for r in cloud.openstack("role", "list")}
    return [roles[n] for n in names]


def test_password_change(cloud):
    cloud.openstack("project", "create", "demo")
    user = cloud.openstack("user", "create", "--password", "old-pw", "carol")["id"]
    cloud.openstack("role", "add", "--user", "carol", "--project", "demo", "member",
                    fmt_json=False)
    before = cloud.token("carol", "old-pw", "demo")
    assert auth_status(cloud, before) == 200
    path = f"/identity/v3/users/{user}/password"
    # a wrong original password changes nothing
    status, _, body = cloud.request("POST", path, {"user": {"original_password": "nope",
                                                            "password": "x"}})
    assert status == 401 and body["error"]["code"] == 401
    status, _, body = cloud.request("POST", path, {"user": {"password": "x"}})
    assert status == 400
    assert auth_status(cloud, before) == 200

    cloud.openstack("user", "password", "set", "--original-password", "old-pw", "--password",
                    "new-pw", fmt_json=False, user="carol", password="old-pw", project="demo")
    assert auth_status(cloud, before) == 401  # her tokens from before are revoked
    old = cloud.openstack("token", "issue", check=False, user="carol", password="old-pw",
                          project="demo")
    assert old.returncode != 0 and "401" in old.stderr
    tok = cloud.openstack("token", "issue", user="carol", password="new-pw", project="demo")
    assert tok["user_id"] == user
    assert auth_status(cloud, cloud.token("carol", "new-pw", "demo")) == 200


def test_paging(cloud):
    for i in range(5):
        cloud.openstack("project", "create", f"p{i}", fmt_json=False)
    admin = cloud.admin_token()
    status, _, body = cloud.request("GET", "/identity/v3/projects", headers={"X-Auth-Token": admin})
    everything = [p["id"] for p in body["projects"]]
    assert len(everything) == 6 and "truncated" not in body

    # the next links keep the filters (the database cuts each page)
    for first in ("/identity/v3/projects?limit=2", "/identity/v3/projects?limit=2&domain_id=default"):
        seen, path = [], first
        while path:
            status, _, body = cloud.request("GET", path, headers={"X-Auth-Token": admin})
            assert status == 200 and len(body["projects"]) <= 2
            seen += [p["id"] for p in body["projects"]]
            nxt = body["links"]["next"]
            assert bool(nxt) == bool(body.get("truncated"))
            assert not nxt or ("domain_id=default" in nxt) == ("domain_id" in first)
            path = nxt[len(cloud.url):] if nxt else None
        assert seen == everything
    status, _, body = cloud.request("GET", "/identity/v3/projects?limit=2&domain_id=nowhere",
                                    headers={"X-Auth-Token": admin})
    assert status == 200 and body["projects"] == [] and "truncated" not in body
    for bad in ("0", "-1", "two", ""):
        status, _, body = cloud.request("GET", f"/identity/v3/projects?limit={bad}",
                                        headers={"X-Auth-Token": admin})
        assert status == 400 and body["error"]["code"] == 400


def test_cli_user_options_on_top_of_os_cloud(cloud):
    """The 401: Debian's openstacksdk (0.101, config/loader.py
    _fix_backwards_project) lets the clouds.yaml's project_name win over
    --os-project-name while --os-username/--os-password do win, so the CLI
    asks for alice's token on the clouds.yaml's project (admin), where she
    has no role: 401 is the right answer (Keystone's too). Proof: with a
    role on admin the same command succeeds, scoped to admin, not demo."""
    demo = cloud.openstack("project", "create", "demo")["id"]
    cloud.openstack("user", "create", "--password", "alice-pw", "alice")
    cloud.openstack("role", "add", "--user", "alice", "--project", "demo", "member",
                    fmt_json=False)
    args = ("--os-username", "alice", "--os-password", "alice-pw", "--os-project-name", "demo",
            "token", "issue")
    r = cloud.openstack(*args, check=False)
    assert r.returncode != 0 and "401" in r.stderr
    cloud.openstack("role", "add", "--user", "alice", "--project", "admin", "reader",
                    fmt_json=False)
    admin_project = cloud.openstack("project", "show", "admin")["id"]
    tok = cloud.openstack(*args)
    assert tok["project_id"] == admin_project != demo
    # the way that works: a clouds.yaml entry for alice (or OS_* without OS_CLOUD)
    assert cloud.openstack("token", "issue", user="alice", password="alice-pw",
                           project="demo")["project_id"] == demo
    assert cloud.openstack_env("token", "issue", env={
        "OS_USERNAME": "alice", "OS_PASSWORD": "alice-pw", "OS_PROJECT_NAME": "demo",
        "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default"})["project_id"] == demo
