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


def same(both, norms, *args, **kw):
    ours, theirs = run_both(both, norms, *args, **kw)
    assert ours == theirs, f"openstack {' '.join(args)}:\n strata:   {ours}\n keystone: {theirs}"
    return ours


def test_same_cli_flows_print_the_same(both):
    norms = [Normal(both[0]), Normal(both[1])]
    tok = same(both, norms, "token", "issue")
    assert set(tok) == {"expires", "id", "project_id", "user_id"}

    same(both, norms, "project", "list")
    same(both, norms, "domain", "list")
    same(both, norms, "role", "list")
    same(both, norms, "catalog", "list")
    same(both, norms, "endpoint", "list")

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
