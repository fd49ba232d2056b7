"""Compute's policy is the daemon's one policy engine: Nova's default rules
are added to it, and `serve --policy-file` overrides them as it does
identity's (before, compute kept its own rule table and ignored the file)."""
from cloudlib import Cloud, nova_error

FLAVOR = {"flavor": {"name": "by-member", "ram": 64, "vcpus": 1, "disk": 1}}


def serving(*extra):
    c = Cloud(extra_args=list(extra))
    c.bootstrap()
    c.start()
    return c


def test_policy_file_overrides_compute_rules():
    c = serving()
    try:
        member, _, _ = c.member_token("p1", "u1")
        # Nova's defaults: flavors are admin-only, limits are for everyone
        status, _, body = c.api("POST", "/compute/v2.1/flavors", member, FLAVOR)
        assert status == 403
        assert "os_compute_api:os-flavor-manage:create" in nova_error(body, "forbidden", 403)
        assert c.api("GET", "/compute/v2.1/limits", member)[0] == 200
    finally:
        assert c.stop() == 0

    policy = c.tmp / "policy.yaml"
    policy.write_text('"os_compute_api:os-flavor-manage:create": "role:member"\n'
                      '"os_compute_api:limits": "!"\n'
                      '"project_reader_api": "role:nobody"\n')
    c = serving("--policy-file", str(policy))
    try:
        member, _, _ = c.member_token("p1", "u1")
        status, _, body = c.api("POST", "/compute/v2.1/flavors", member, FLAVOR)
        assert status == 200, body
        status, _, body = c.api("GET", "/compute/v2.1/limits", c.admin_token())
        assert status == 403 and "os_compute_api:limits" in nova_error(body, "forbidden", 403)
        # a base rule the operator changed changes every rule built on it
        status, _, body = c.api("GET", "/compute/v2.1/flavors/" + body_id(c, member) +
                                "/os-extra_specs", member)
        assert status == 403
        # the rest keeps Nova's defaults: aggregates stay admin-only
        assert c.api("GET", "/compute/v2.1/os-aggregates", member)[0] == 403
        assert c.api("GET", "/compute/v2.1/os-aggregates", c.admin_token())[0] == 200
    finally:
        assert c.stop() == 0


def body_id(c, token):
    status, _, body = c.api("GET", "/compute/v2.1/flavors", token)
    assert status == 200
    return body["flavors"][0]["id"]
