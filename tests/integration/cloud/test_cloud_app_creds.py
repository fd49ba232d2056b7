"""Application credentials through the real `openstack` CLI, on SQLite and
PostgreSQL: create (secret given or generated), list, show, delete, then
`--os-auth-type v3applicationcredential token issue` by id and by name; the
credential's token loses its access when the credential is deleted or its
user loses the role; bad requests are 4xx and change nothing."""
from test_cloud_cli import cloud  # noqa: F401  (fixture: SQLite and PostgreSQL)

ALICE = dict(user="alice", password="alice-pw", project="demo")


def setup_alice(cloud):
    project = cloud.openstack("project", "create", "demo")
    user = cloud.openstack("user", "create", "--password", "alice-pw", "alice")
    cloud.openstack("role", "add", "--user", "alice", "--project", "demo", "member",
                    fmt_json=False)
    return project["id"], user["id"]


def app_cred_token_issue(cloud, ac_id, secret, check=True):
    return cloud.openstack_env("token", "issue", check=check, env={
        "OS_AUTH_TYPE": "v3applicationcredential", "OS_APPLICATION_CREDENTIAL_ID": ac_id,
        "OS_APPLICATION_CREDENTIAL_SECRET": secret})


def app_cred_auth(ac_id, secret):
    return {"auth": {"identity": {"methods": ["application_credential"],
                                  "application_credential": {"id": ac_id, "secret": secret}}}}


def subject_status(cloud, admin, token):
    status, _, _ = cloud.request("GET", "/identity/v3/auth/tokens", headers={
        "X-Auth-Token": admin, "X-Subject-Token": token})
    return status


def test_app_cred_lifecycle(cloud):
    project_id, user_id = setup_alice(cloud)
    ac = cloud.openstack("application", "credential", "create", "--secret", "ac-secret",
                         "--description", "for CI", "ci", **ALICE)
    assert ac["name"] == "ci" and ac["secret"] == "ac-secret" and ac["project_id"] == project_id
    assert ac["description"] == "for CI" and ac["unrestricted"] is False
    # roles default to the token's: member and the reader it implies
    assert sorted(ac["roles"].split()) == ["member", "reader"]  # the CLI prints "member reader"
    gen = cloud.openstack("application", "credential", "create", "--role", "member",
                          "--expiration", "2099-01-01T00:00:00", "generated", **ALICE)
    assert len(gen["secret"]) == 86 and gen["expires_at"].startswith("2099-01-01T00:00:00")

    listed = cloud.openstack("application", "credential", "list", **ALICE)
    assert sorted(x["Name"] for x in listed) == ["ci", "generated"]
    assert {x["Project ID"] for x in listed} == {project_id}
    shown = cloud.openstack("application", "credential", "show", "ci", **ALICE)
    assert shown["id"] == ac["id"] and "secret" not in shown

    tok = app_cred_token_issue(cloud, ac["id"], "ac-secret")
    assert tok["project_id"] == project_id and tok["user_id"] == user_id
    # by name and user, as keystoneauth sends it
    by_name = cloud.openstack_env("token", "issue", env={
        "OS_AUTH_TYPE": "v3applicationcredential", "OS_APPLICATION_CREDENTIAL_NAME": "ci",
        "OS_APPLICATION_CREDENTIAL_SECRET": "ac-secret", "OS_USERNAME": "alice",
        "OS_USER_DOMAIN_NAME": "Default"})
    assert by_name["project_id"] == project_id
    wrong = app_cred_token_issue(cloud, ac["id"], "not-the-secret", check=False)
    assert wrong.returncode != 0 and "401" in wrong.stderr

    # Keystone's token body names the credential; its roles are the credential's
    admin = cloud.admin_token()
    status, headers, body = cloud.request("POST", "/identity/v3/auth/tokens",
                                          app_cred_auth(gen["id"], gen["secret"]))
    assert status == 201, body
    gen_token = headers["X-Subject-Token"]
    assert body["token"]["application_credential"] == {
        "id": gen["id"], "name": "generated", "restricted": True}
    assert body["token"]["methods"] == ["application_credential"]
    assert [r["name"] for r in body["token"]["roles"]] == ["member"]
    status, headers, _ = cloud.request("POST", "/identity/v3/auth/tokens",
                                       app_cred_auth(ac["id"], "ac-secret"))
    ac_token = headers["X-Subject-Token"]
    assert subject_status(cloud, admin, ac_token) == 200
    # a restricted credential's token may not make more credentials
    status, _, _ = cloud.request("POST", f"/identity/v3/users/{user_id}/application_credentials",
                                 {"application_credential": {"name": "more"}},
                                 headers={"X-Auth-Token": ac_token})
    assert status == 403

    # deleted: no new token, the old one is refused
    cloud.openstack("application", "credential", "delete", "ci", fmt_json=False, **ALICE)
    assert subject_status(cloud, admin, ac_token) == 404
    again = app_cred_token_issue(cloud, ac["id"], "ac-secret", check=False)
    assert again.returncode != 0 and "401" in again.stderr

    # alice loses the role: the credential and its token go with it
    assert subject_status(cloud, admin, gen_token) == 200
    cloud.openstack("role", "remove", "--user", "alice", "--project", "demo", "member",
                    fmt_json=False)
    assert subject_status(cloud, admin, gen_token) == 404
    status, _, _ = cloud.request("POST", "/identity/v3/auth/tokens",
                                 app_cred_auth(gen["id"], gen["secret"]))
    assert status == 401


def test_app_cred_bad_requests(cloud):
    project_id, user_id = setup_alice(cloud)
    alice = cloud.token("alice", "alice-pw", "demo")
    admin = cloud.admin_token()
    path = f"/identity/v3/users/{user_id}/application_credentials"

    def create(body, token=alice):
        return cloud.request("POST", path, body, headers={"X-Auth-Token": token})

    status, _, body = create({"application_credential": {"name": "a", "secret": "s"}})
    assert status == 201 and body["application_credential"]["secret"] == "s"
    for bad, code in [({"application_credential": {"name": "a"}}, 409),            # duplicate
                      ({"application_credential": {"name": "b", "roles": [{"name": "admin"}]}},
                       404),                                                        # not hers
                      ({"application_credential": {"name": "x" * 10000}}, 400),
                      ({"application_credential": {"name": "c", "expires_at": "2001-01-01T00:00:00"}},
                       400),
                      ({"application_credential": {"name": "d", "expires_at": "tomorrow"}}, 400),
                      ({"application_credential": {"name": "e", "unrestricted": "yes"}}, 400),
                      ({"application_credential": "f"}, 400)]:
        status, _, body = create(bad)
        assert status == code, (bad, body)
        assert body["error"]["code"] == code
    # someone else's credentials: neither made, listed nor read
    status, _, _ = create({"application_credential": {"name": "z"}}, token=admin)
    assert status == 403
    admin_id = cloud.openstack("user", "show", "admin")["id"]
    status, _, _ = cloud.request("GET", f"/identity/v3/users/{admin_id}/application_credentials",
                                 headers={"X-Auth-Token": alice})
    assert status == 403
    status, _, body = cloud.request("GET", path, headers={"X-Auth-Token": alice})
    assert status == 200 and [a["name"] for a in body["application_credentials"]] == ["a"]
    # an application credential's scope is its own
    a_id = body["application_credentials"][0]["id"]
    scoped = app_cred_auth(a_id, "s")
    scoped["auth"]["scope"] = {"project": {"id": project_id}}
    status, _, _ = cloud.request("POST", "/identity/v3/auth/tokens", scoped)
    assert status == 401
    status, _, _ = cloud.request("POST", "/identity/v3/auth/tokens", {"auth": {"identity": {
        "methods": ["application_credential"], "application_credential": {"id": a_id}}}})
    assert status == 400
