"""strata-cloud beside the real Keystone (Debian's keystone 22 on SQLite under
uwsgi, keystonelib.py): the same `openstack` CLI flows against both, and what
the CLI prints compared field by field. Ids, URLs and times differ by nature:
they are replaced by what they stand for before comparing. SKIPs loudly when
Keystone is not installed or cannot run here (scripts/deps/compare/)."""
import json
import re

import pytest

from cloudlib import Cloud
from conftest import skip_loudly
from keystonelib import Keystone


class Side(Cloud):
    """Keystone driven through cloudlib's CLI plumbing (same clouds.yaml)."""
    def __init__(self, ks):
        super().__init__()
        self.url = ks.url
        self.log = ks.tmp / "keystone.log"


@pytest.fixture(scope="module")
def both():
    why = Keystone.missing()
    if why:
        skip_loudly(f"no Keystone to compare with: {why}")
    ks = Keystone(processes=1, threads=1)  # Keystone on SQLite with threads: "database is locked"
    try:
        ks.setup()
        ks.start()
    except (AssertionError, RuntimeError) as e:
        ks.stop()
        skip_loudly(f"Keystone does not run here: {e}")
    ours = Cloud()
    ours.bootstrap()
    ours.start()
    try:
        yield ours, Side(ks)
    finally:
        ks.stop()
        assert ours.stop() == 0, ours.log.read_text()[-3000:]


class Normal:
    """Replaces a side's ids, base URL and timestamps by what they stand for
    (which id is which is checked apart, where it matters)."""
    HEX_ID = re.compile(r"^[0-9a-f]{32}$")
    TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")

    def __init__(self, side):
        self.url = side.url

    def __call__(self, v):
        if isinstance(v, dict):
            return {k: self(x) for k, x in v.items()}
        if isinstance(v, list):  # neither side promises an order
            return sorted((self(x) for x in v), key=lambda x: json.dumps(x, sort_keys=True))
        if not isinstance(v, str):
            return v
        if self.HEX_ID.match(v):
            return "<id>"
        if v.startswith("gAAAAA"):
            return "<fernet token>"
        if self.TIME.match(v):
            return "<time>"
        return v.replace(self.url, "<url>")


def run_both(both, norms, *args, **kw):
    out = []
    for side, norm in zip(both, norms):
        out.append(norm(side.openstack(*args, **kw)))
    return out


def same(both, norms, *args, only=None, **kw):
    """only: keeps the rows it is true of (our catalog also has compute and
    image, which this Keystone alone has not)."""
    ours, theirs = run_both(both, norms, *args, **kw)
    if only:
        ours, theirs = [r for r in ours if only(r)], [r for r in theirs if only(r)]
    assert ours == theirs, f"openstack {' '.join(args)}:\n strata:   {ours}\n keystone: {theirs}"
    return ours


def test_same_cli_flows_print_the_same(both):
    norms = [Normal(both[0]), Normal(both[1])]
    tok = same(both, norms, "token", "issue")
    assert set(tok) == {"expires", "id", "project_id", "user_id"}

    same(both, norms, "project", "list")
    same(both, norms, "domain", "list")
    same(both, norms, "role", "list")
    assert same(both, norms, "catalog", "list", only=lambda r: r["Type"] == "identity")
    assert same(both, norms, "endpoint", "list", only=lambda r: r["Service Type"] == "identity")

    same(both, norms, "project", "create", "--description", "the demo project", "demo")
    same(both, norms, "project", "show", "demo")
    same(both, norms, "user", "create", "--password", "alice-pw", "--email", "a@example.org",
         "alice")
    same(both, norms, "user", "show", "alice")
    same(both, norms, "role", "create", "observer")
    for side in both:
        side.openstack("role", "add", "--user", "alice", "--project", "demo", "member",
                       fmt_json=False)
    same(both, norms, "role", "assignment", "list", "--names", "--project", "demo")
    same(both, norms, "role", "assignment", "list", "--user", "alice", "--project", "demo")

    alice = {"user": "alice", "password": "alice-pw", "project": "demo"}
    same(both, norms, "token", "issue", **alice)
    same(both, norms, "project", "list", **alice)
    refused = [side.openstack("user", "list", check=False, **alice) for side in both]
    assert [r.returncode != 0 and "(HTTP 403)" in r.stderr for r in refused] == [True, True], \
        [r.stderr for r in refused]

    for side in both:
        side.openstack("user", "delete", "alice", fmt_json=False)
        side.openstack("project", "delete", "demo", fmt_json=False)
    gone = [side.openstack("project", "show", "demo", check=False) for side in both]
    assert [r.returncode for r in gone][0] != 0 and gone[0].returncode == gone[1].returncode
    assert gone[0].stderr.splitlines()[-1] == gone[1].stderr.splitlines()[-1]


# --- the RBAC matrix: each persona x each identity call, on both sides ---

PERSONAS = {  # name: (role, where) granted to a user of domain rbac-a
    "system-admin": ("admin", "system"), "system-reader": ("reader", "system"),
    "domain-admin": ("admin", "domain"), "domain-reader": ("reader", "domain"),
    "project-admin": ("admin", "project"), "project-member": ("member", "project"),
    "project-reader": ("reader", "project"), "no-role": (None, None),
}

# (label, method, path, body); {X} are the world's ids, {me} the persona's
# user id, {p} the persona's name (for names a create makes)
CALLS = [
    ("list users", "GET", "/v3/users", None),
    ("list users of domain a", "GET", "/v3/users?domain_id={da}", None),
    ("get own user", "GET", "/v3/users/{me}", None),
    ("get user in domain a", "GET", "/v3/users/{plain}", None),
    ("get user in domain b", "GET", "/v3/users/{other}", None),
    ("create user in domain a", "POST", "/v3/users",
     {"user": {"name": "new-{p}", "domain_id": "{da}"}}),
    ("update user in domain b", "PATCH", "/v3/users/{other}", {"user": {"email": "{p}@b"}}),
    ("list own projects", "GET", "/v3/users/{me}/projects", None),
    ("list groups of user", "GET", "/v3/users/{plain}/groups", None),
    ("list projects", "GET", "/v3/projects", None),
    ("get project a", "GET", "/v3/projects/{pa}", None),
    ("get project b", "GET", "/v3/projects/{pb}", None),
    ("create project in domain a", "POST", "/v3/projects",
     {"project": {"name": "newp-{p}", "domain_id": "{da}"}}),
    ("update project b", "PATCH", "/v3/projects/{pb}", {"project": {"description": "{p}"}}),
    ("list domains", "GET", "/v3/domains", None),
    ("get domain a", "GET", "/v3/domains/{da}", None),
    ("get domain b", "GET", "/v3/domains/{db}", None),
    ("create domain", "POST", "/v3/domains", {"domain": {"name": "newd-{p}"}}),
    ("list groups", "GET", "/v3/groups", None),
    ("get group a", "GET", "/v3/groups/{ga}", None),
    ("list users of group a", "GET", "/v3/groups/{ga}/users", None),
    ("add user to group a", "PUT", "/v3/groups/{ga}/users/{plain}", None),
    ("list roles", "GET", "/v3/roles", None),
    ("get role member", "GET", "/v3/roles/{member}", None),
    ("create role", "POST", "/v3/roles", {"role": {"name": "newr-{p}"}}),
    ("list role assignments", "GET", "/v3/role_assignments", None),
    ("list assignments on project a", "GET", "/v3/role_assignments?scope.project.id={pa}", None),
    ("grant reader on project a", "PUT", "/v3/projects/{pa}/users/{plain}/roles/{reader}", None),
    ("grant reader on project b", "PUT", "/v3/projects/{pb}/users/{other}/roles/{reader}", None),
    ("list grants on project a", "GET", "/v3/projects/{pa}/users/{plain}/roles", None),
    ("list services", "GET", "/v3/services", None),
    ("list endpoints", "GET", "/v3/endpoints", None),
    ("list regions", "GET", "/v3/regions", None),
    ("create region", "POST", "/v3/regions", {"region": {"id": "region-{p}"}}),
    ("auth projects", "GET", "/v3/auth/projects", None),
]


def fill(value, ids):
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value.format(**ids) if isinstance(value, str) else value


class World:
    """The same objects made on one side through its API as its admin:
    domains rbac-a and rbac-b, a project and a plain user in each, a group in
    rbac-a, and one user per persona (in rbac-a) with its role."""
    def __init__(self, side):
        self.side, self.admin = side, side.admin_token()
        self.names = {}  # id -> name, to compare what lists show
        ids = {}
        ids["da"] = self.make("domains", {"name": "rbac-a"})
        ids["db"] = self.make("domains", {"name": "rbac-b"})
        ids["pa"] = self.make("projects", {"name": "rbac-pa", "domain_id": ids["da"]})
        ids["pb"] = self.make("projects", {"name": "rbac-pb", "domain_id": ids["db"]})
        ids["ga"] = self.make("groups", {"name": "rbac-ga", "domain_id": ids["da"]})
        ids["plain"] = self.make("users", {"name": "rbac-plain", "domain_id": ids["da"]})
        ids["other"] = self.make("users", {"name": "rbac-other", "domain_id": ids["db"]})
        for kind in ("users", "projects", "domains", "roles", "services", "endpoints", "groups"):
            for obj in self.call("GET", f"/v3/{kind}")[1][kind]:
                self.names[obj["id"]] = obj.get("name") or obj.get("interface") or obj["id"]
        roles = {r["name"]: r["id"] for r in self.call("GET", "/v3/roles")[1]["roles"]}
        ids.update(member=roles["member"], reader=roles["reader"])
        self.ids, self.users = ids, {}
        for persona, (role, where) in PERSONAS.items():
            uid = self.make("users", {"name": persona, "domain_id": ids["da"],
                                      "password": "pw-" + persona})
            self.users[persona] = uid
            target = {"system": "system", "domain": f"domains/{ids['da']}",
                      "project": f"projects/{ids['pa']}"}.get(where)
            if role:
                status, body = self.call("PUT", f"/v3/{target}/users/{uid}/roles/{roles[role]}")
                assert status == 204, (persona, status, body)

    def call(self, method, path, body=None, token=None):
        status, _, out = self.side.api(method, "/identity" + path, token or self.admin, body)
        return status, out

    def make(self, kind, fields):
        status, out = self.call("POST", f"/v3/{kind}", {kind[:-1]: fields})
        assert status == 201, (kind, fields, status, out)
        self.names[out[kind[:-1]]["id"]] = fields["name"]
        return out[kind[:-1]]["id"]

    def token(self, persona):
        where = PERSONAS[persona][1]
        scope = {"system": {"system": {"all": True}}, "domain": {"domain": {"id": self.ids["da"]}},
                 "project": {"project": {"id": self.ids["pa"]}}}.get(where)
        auth = {"identity": {"methods": ["password"], "password": {"user": {
            "name": persona, "domain": {"id": self.ids["da"]}, "password": "pw-" + persona}}}}
        if scope:
            auth["scope"] = scope
        status, headers, body = self.side.request("POST", "/identity/v3/auth/tokens", {"auth": auth})
        assert status == 201, (persona, status, body)
        return headers["X-Subject-Token"]

    def seen(self, body):
        """Which objects a list showed (by the names they were made with;
        role assignments whole, their ids as names): what a persona may see,
        not how each object is shaped (test_same_cli_flows_print_the_same
        compares shapes)."""
        if not isinstance(body, dict):
            return None
        lists = [v for k, v in body.items() if isinstance(v, list)]
        if not lists:
            return None
        def name(v):
            if isinstance(v, dict):
                return {k: name(x) for k, x in v.items() if k != "links"}
            if isinstance(v, str):
                return self.names.get(v, "<id>" if Normal.HEX_ID.match(v) else v)
            return v
        return sorted(self.names.get(x["id"], "<id>") if "id" in x else
                      json.dumps(name(x), sort_keys=True) for x in lists[0])

    def verdict(self, persona, token, label, method, path, body):
        ids = dict(self.ids, me=self.users[persona], p=persona)
        status, out = self.call(method, fill(path, ids), fill(body, ids), token)
        if status in (200, 201, 204):
            if method == "POST":  # names the later lists show
                obj = next(iter(out.values()))
                self.names[obj["id"]] = obj.get("name", obj["id"])
            return "allowed", self.seen(out) if method == "GET" else None
        return ("denied" if status == 403 else status), None


def test_rbac_matrix_same_as_keystone(both):
    """Each persona x each identity call through HTTP on both sides: the same
    allowed/denied verdict, and a list shows the same objects (by name) —
    so nobody sees another project's or domain's objects that Keystone
    would not show them."""
    ours = both[0]
    admin = ours.admin_token()
    for svc in ours.api("GET", "/identity/v3/services", admin)[2]["services"]:
        if svc["type"] != "identity":  # this Keystone's catalog has identity alone
            assert ours.api("DELETE", f"/identity/v3/services/{svc['id']}", admin)[0] == 204
    worlds = [World(side) for side in both]
    differ = []
    for persona in PERSONAS:
        tokens = [w.token(persona) for w in worlds]
        for label, method, path, body in CALLS:
            ours, theirs = [w.verdict(persona, t, label, method, path, body)
                            for w, t in zip(worlds, tokens)]
            if ours[0] != theirs[0]:
                differ.append(f"{persona:15} {label:30} strata {ours[0]}, keystone {theirs[0]}")
            elif ours[1] != theirs[1]:
                missing = sorted(set(theirs[1]) - set(ours[1]))
                extra = sorted(set(ours[1]) - set(theirs[1]))
                differ.append(f"{persona:15} {label:30} lists differ: strata lacks {missing},"
                              f" has more {extra}")
    assert not differ, "RBAC verdicts that differ from Keystone's:\n" + "\n".join(differ)
