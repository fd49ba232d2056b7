"""Nova's server API beyond create/list/show/delete, without hosts (issue
17): the actions' state machine (every refusal is Nova's 409 and changes
nothing), lock/unlock with Nova's locked_by rules, rename, metadata and
tags (2.26) with Nova's 400s, instance actions and their events, and
os-simple-tenant-usage, through the real `openstack` CLI and raw HTTP, on
SQLite and PostgreSQL; another project's token gets 404.

No server reaches ACTIVE on this machine (no /dev/kvm, and no host here):
they end ERROR. States a running cloud reaches only with a working host
(stopped, active with a launch time) are written into the server's row
directly (put_state) and say so; what a real host does with the actions is
test_compute_server_actions_hosts.py's."""
import time

from cloudlib import cloud, nova_error  # noqa: F401  (cloud: a fixture)
from pglib import postgres  # noqa: F401  (fixture)
from test_compute_servers import SERVERS, bootable_image, flavor, wait_server

TAGS = ["--os-compute-api-version", "2.26"]


def put_state(request, cloud, sid, **cols):
    """Sets columns of the server's row in the cloud's database: the state a
    working host would have brought it to (this machine has none)."""
    sets = ", ".join(f"{k} = {'NULL' if v is None else repr(v)}" for k, v in cols.items())
    sql = f"UPDATE compute_server SET {sets} WHERE uuid = '{sid}'"
    if cloud.db_url is None:
        import sqlite3
        with sqlite3.connect(cloud.state / "cloud.db", timeout=60) as db:
            assert db.execute(sql).rowcount == 1
    else:
        pg = request.getfixturevalue("postgres")
        pg.psql(cloud.db_url.split("dbname=")[1], sql)


def error_server(cloud, token, name="s1"):
    """A server of token's project that found no host: ERROR. The flavor is
    an admin's (members make none), the image the project's."""
    image = bootable_image(cloud, token, name=name + "-img")
    fl = flavor(cloud, cloud.admin_token(), name=name + "-fl")
    status, _, made = cloud.api("POST", SERVERS, token, {"server": {
        "name": name, "imageRef": image, "flavorRef": fl}})
    assert status == 202, made
    wait_server(cloud, token, made["server"]["id"], ("ERROR",))
    return made["server"]["id"], image


def refused(cloud, *args, **auth):
    """The CLI's failure: its stderr (one line with Nova's message)."""
    r = cloud.openstack(*args, check=False, fmt_json=False, **auth)
    assert r.returncode != 0, f"openstack {args} passed: {r.stdout}"
    return r.stderr


def state(cloud, token, sid):
    s = cloud.api("GET", f"{SERVERS}/{sid}", token, version="2.26")[2]["server"]
    return s["OS-EXT-STS:vm_state"], s["OS-EXT-STS:task_state"], s["locked"], s["metadata"], s["tags"]


def actions(cloud, token, sid):
    _, _, body = cloud.api("GET", f"{SERVERS}/{sid}/os-instance-actions", token)
    return [a["action"] for a in body["instanceActions"]]


def test_error_server_refuses_actions_as_nova(cloud):
    token = cloud.admin_token()
    sid, image = error_server(cloud, token)
    before = state(cloud, token, sid)
    # the CLI's verbs: each a 409 with Nova's words, nothing changed
    want = {
        ("server", "start"): f"Cannot 'start' instance {sid} while it is in vm_state error",
        ("server", "pause"): f"Cannot 'pause' instance {sid} while it is in vm_state error",
        ("server", "unpause"): f"Cannot 'unpause' instance {sid} while it is in vm_state error",
        ("server", "suspend"): f"Cannot 'suspend' instance {sid} while it is in vm_state error",
        ("server", "resume"): f"Cannot 'resume' instance {sid} while it is in vm_state error",
        ("server", "reboot"): f"Cannot 'reboot' instance {sid} while it is in vm_state error",
        # stop and a hard reboot take an ERROR server, but one on a host
        ("server", "stop"): f"Instance {sid} is not ready",
        ("server", "reboot", "--hard"): f"Instance {sid} is not ready",
    }
    for verb, message in want.items():
        err = refused(cloud, *verb, sid)
        assert message in err and "409" in err, (verb, err)
    err = refused(cloud, "server", "image", "create", "--name", "snap", sid)
    assert f"Cannot 'createImage' instance {sid} while it is in vm_state error" in err
    err = refused(cloud, "server", "rebuild", "--image", image, sid)
    assert f"Instance {sid} is not ready" in err
    assert state(cloud, token, sid) == before
    assert cloud.openstack("image", "list", "--name", "snap") == []
    # refused actions are not recorded: only the create is
    assert actions(cloud, token, sid) == ["create"]
    # bad bodies: 400 with Nova's body
    for body, message in [({"bogus": None}, "There is no such action: bogus"),
                          ({"reboot": {"type": "MEDIUM"}}, "Value is not one of the enums"),
                          ({"reboot": {}}, "'type' is a required property"),
                          ({"reboot": {"type": 3}}, "type"),
                          ({"os-stop": None, "os-start": None}, "Malformed request body"),
                          ({"createImage": {"name": ""}}, "name"),
                          ({"createImage": {"name": "x", "bogus": 1}}, "Additional properties")]:
        status, _, reply = cloud.api("POST", f"{SERVERS}/{sid}/action", token, body)
        assert status == 400, (body, reply)
        assert message in nova_error(reply, "badRequest", 400), (body, reply)
    assert state(cloud, token, sid) == before


def test_rename_lock_events_and_other_projects(cloud):
    admin = cloud.admin_token()
    member, project, _ = cloud.member_token("p1", "alice")
    sid, _ = error_server(cloud, member, "own")
    auth = {"user": "alice", "password": "pw-member", "project": "p1"}
    cloud.openstack("server", "set", "--name", "renamed", sid, fmt_json=False, **auth)
    assert cloud.openstack("server", "show", sid, **auth)["name"] == "renamed"
    status, _, reply = cloud.api("PUT", f"{SERVERS}/{sid}", member, {"server": {"name": "x" * 256}})
    assert status == 400 and "name" in nova_error(reply, "badRequest", 400)
    status, _, reply = cloud.api("PUT", f"{SERVERS}/{sid}", member, {"server": {"name": 5}})
    assert status == 400, reply
    # the owner's lock: the owner unlocks it
    cloud.openstack("server", "lock", sid, fmt_json=False, **auth)
    s = cloud.api("GET", f"{SERVERS}/{sid}", member, version="2.9")[2]["server"]
    assert s["locked"] is True
    # locked: the owner's delete and actions are refused, an admin's pass the lock
    assert f"Instance {sid} is locked" in refused(cloud, "server", "delete", sid, **auth)
    assert f"Instance {sid} is locked" in refused(cloud, "server", "stop", sid, **auth)
    status, _, reply = cloud.api("POST", f"{SERVERS}/{sid}/action", admin, {"os-stop": None})
    assert status == 409 and "is not ready" in nova_error(reply, "conflictingRequest", 409)
    cloud.openstack("server", "unlock", sid, fmt_json=False, **auth)
    assert cloud.api("GET", f"{SERVERS}/{sid}", member, version="2.9")[2]["server"]["locked"] is False
    # an admin's lock: the owner may not undo it (unlock_override is an admin's)
    cloud.openstack("server", "lock", sid, fmt_json=False)
    err = refused(cloud, "server", "unlock", sid, **auth)
    assert "os_compute_api:os-lock-server:unlock:unlock_override" in err and "403" in err
    assert cloud.api("GET", f"{SERVERS}/{sid}", member, version="2.9")[2]["server"]["locked"] is True
    cloud.openstack("server", "unlock", sid, fmt_json=False)
    # instance actions, newest first, with the build's event (its error) for admins
    assert actions(cloud, member, sid) == ["unlock", "lock", "unlock", "lock", "create"]
    events = cloud.openstack("server", "event", "list", sid, **auth)
    assert [e["Action"] for e in events] == ["unlock", "lock", "unlock", "lock", "create"]
    create = [e for e in events if e["Action"] == "create"][0]
    assert create["Request ID"].startswith("req-") and create["Server ID"] == sid
    shown = cloud.openstack("server", "event", "show", sid, create["Request ID"])
    assert shown["action"] == "create" and shown["project_id"] == project
    [ev] = shown["events"]
    assert ev["event"] == "compute__do_build_and_run_instance" and ev["result"] == "Error"
    assert "No valid host" in ev["traceback"] and ev["finish_time"]
    # a member sees no events before 2.51, and never the traceback
    _, _, body = cloud.api("GET", f"{SERVERS}/{sid}/os-instance-actions/{create['Request ID']}", member)
    assert "events" not in body["instanceAction"]
    _, _, body = cloud.api("GET", f"{SERVERS}/{sid}/os-instance-actions/{create['Request ID']}", member,
                           version="2.51")
    assert [e["result"] for e in body["instanceAction"]["events"]] == ["Error"]
    assert "traceback" not in body["instanceAction"]["events"][0]
    status, _, reply = cloud.api("GET", f"{SERVERS}/{sid}/os-instance-actions/req-nope", member)
    assert status == 404, reply
    # another project: every one of these is a 404, and nothing changed
    other, _, _ = cloud.member_token("p2", "bob")
    for method, path, body in [("PUT", "", {"server": {"name": "stolen"}}),
                               ("POST", "/action", {"lock": None}),
                               ("POST", "/action", {"os-stop": None}),
                               ("GET", "/metadata", None),
                               ("POST", "/metadata", {"metadata": {"a": "b"}}),
                               ("GET", "/os-instance-actions", None),
                               ("DELETE", "/tags", None)]:
        status, _, reply = cloud.api(method, f"{SERVERS}/{sid}{path}", other, body, version="2.26")
        assert status == 404, (method, path, reply)
        assert "could not be found" in nova_error(reply, "itemNotFound", 404)
    err = refused(cloud, "server", "lock", sid, user="bob", password="pw-member", project="p2")
    assert "No server with a name or ID" in err or "could not be found" in err, err
    s = cloud.api("GET", f"{SERVERS}/{sid}", member, version="2.9")[2]["server"]
    assert s["name"] == "renamed" and s["locked"] is False


def test_metadata_and_tags(cloud, request):
    token = cloud.admin_token()
    sid, _ = error_server(cloud, token)
    # ERROR: Nova refuses metadata and tag changes (409), reads pass
    err = refused(cloud, "server", "set", "--property", "a=1", sid)
    assert f"Cannot 'update metadata' instance {sid} while it is in vm_state error" in err
    err = refused(cloud, *TAGS, "server", "set", "--tag", "t1", sid)
    assert f"Cannot 'update tag' instance {sid} while it is in vm_state error" in err
    assert cloud.api("GET", f"{SERVERS}/{sid}/metadata", token)[2] == {"metadata": {}}
    # stopped (written: no host here can stop one)
    put_state(request, cloud, sid, vm_state="stopped", power_state=4)
    cloud.openstack("server", "set", "--property", "a=1", "--property", "b=2", sid, fmt_json=False)
    assert cloud.openstack("server", "show", sid)["properties"] in ({"a": "1", "b": "2"}, "a='1', b='2'")
    cloud.openstack("server", "unset", "--property", "a", sid, fmt_json=False)
    assert cloud.api("GET", f"{SERVERS}/{sid}/metadata", token)[2] == {"metadata": {"b": "2"}}
    meta = f"{SERVERS}/{sid}/metadata"
    status, _, body = cloud.api("PUT", f"{meta}/c", token, {"meta": {"c": "3"}})
    assert status == 200 and body == {"meta": {"c": "3"}}
    assert cloud.api("GET", f"{meta}/c", token)[2] == {"meta": {"c": "3"}}
    status, _, body = cloud.api("GET", f"{meta}/zz", token)
    assert status == 404 and nova_error(body, "itemNotFound", 404) == "Metadata item was not found"
    # bad input: 400 (or Nova's 403 for the quota), nothing changed
    for method, path, body, code, message in [
            ("PUT", "/c", {"meta": {"d": "4"}}, 400, "Request body and URI mismatch"),
            ("PUT", "/c", {"meta": {"c": "3", "d": "4"}}, 400, "Request body contains too many items"),
            ("POST", "", {"metadata": {"k": 5}}, 400, "metadata"),
            ("POST", "", {"metadata": {"k": "v" * 256}}, 400, "metadata"),
            ("POST", "", {"metadata": {"k/x": "v"}}, 400, "metadata"),
            ("POST", "", {"metadata": ["k"]}, 400, "metadata"),
            ("POST", "", {"bogus": {}}, 400, "metadata"),
            ("PUT", "", {"metadata": {f"k{i}": "v" for i in range(129)}}, 403,
             "Maximum number of metadata items exceeds 128"),
            ("POST", "", {"metadata": {f"k{i}": "v" for i in range(127)}}, 403,
             "Maximum number of metadata items exceeds 128")]:
        status, _, reply = cloud.api(method, meta + path, token, body)
        assert status == code, (path, body, reply)
        assert message in nova_error(reply, "badRequest" if code == 400 else "forbidden", code)
    assert cloud.api("GET", meta, token)[2] == {"metadata": {"b": "2", "c": "3"}}
    status, _, body = cloud.api("PUT", meta, token, {"metadata": {"only": "one"}})
    assert status == 200 and body == {"metadata": {"only": "one"}}
    assert cloud.api("DELETE", f"{meta}/only", token)[0] == 204
    assert cloud.api("DELETE", f"{meta}/only", token)[0] == 404
    # tags (2.26): the CLI's set/unset, the list filters, Nova's limits
    cloud.openstack(*TAGS, "server", "set", "--tag", "web", "--tag", "prod", sid, fmt_json=False)
    tags = f"{SERVERS}/{sid}/tags"
    assert cloud.api("GET", tags, token, version="2.26")[2] == {"tags": ["prod", "web"]}
    assert cloud.api("GET", tags, token, version="2.25")[0] == 404
    assert cloud.api("GET", f"{tags}/web", token, version="2.26")[0] == 204
    assert cloud.api("GET", f"{tags}/nope", token, version="2.26")[0] == 404
    status, headers, _ = cloud.api("PUT", f"{tags}/db", token, version="2.26")
    assert status == 201 and headers["Location"].endswith(f"/servers/{sid}/tags/db")
    assert cloud.api("PUT", f"{tags}/db", token, version="2.26")[0] == 204
    other, _ = error_server(cloud, token, "s2")
    put_state(request, cloud, other, vm_state="active", power_state=1, host=None)
    assert cloud.api("PUT", f"{SERVERS}/{other}/tags/web", token, version="2.26")[0] == 201

    def listed(query):
        _, _, body = cloud.api("GET", f"{SERVERS}?{query}", token, version="2.26")
        return sorted(s["name"] for s in body["servers"])
    assert listed("tags=web") == ["s1", "s2"]
    assert listed("tags=web,db") == ["s1"]
    assert listed("tags-any=db,nothing") == ["s1"]
    assert listed("not-tags=web,db") == ["s2"]
    assert listed("not-tags-any=db") == ["s2"]
    assert [s["Name"] for s in cloud.openstack(*TAGS, "server", "list", "--tags", "db")] == ["s1"]
    cloud.openstack(*TAGS, "server", "unset", "--tag", "web", sid, fmt_json=False)
    shown = cloud.api("GET", f"{SERVERS}/{sid}", token, version="2.26")[2]["server"]
    assert shown["tags"] == ["db", "prod"]
    assert "tags" not in cloud.api("GET", f"{SERVERS}/{sid}", token, version="2.25")[2]["server"]
    for method, path, body, message in [
            ("PUT", "/" + "t" * 300, None, "is too long"),
            ("PUT", "/a,b", None, "without characters '/' and ','"),
            ("PUT", "", {"tags": ["ok", "x" * 61]}, "tags[1]"),
            ("PUT", "", {"tags": [5]}, "tags[0]"),
            ("PUT", "", {"tags": "web"}, "tags"),
            ("PUT", "", {"tags": [f"t{i}" for i in range(51)]}, "per-server limit 50")]:
        status, _, reply = cloud.api(method, tags + path, token, body, version="2.26")
        assert status == 400, (path, body, reply)
        assert message in nova_error(reply, "badRequest", 400), reply
    assert cloud.api("GET", tags, token, version="2.26")[2] == {"tags": ["db", "prod"]}
    for i in range(48):
        assert cloud.api("PUT", f"{tags}/n{i}", token, version="2.26")[0] == 201
    status, _, reply = cloud.api("PUT", f"{tags}/one-too-many", token, version="2.26")
    assert status == 400 and "per-server limit 50" in nova_error(reply, "badRequest", 400)
    status, _, body = cloud.api("PUT", tags, token, {"tags": ["a", "b"]}, version="2.26")
    assert status == 200 and body == {"tags": ["a", "b"]}
    assert cloud.api("DELETE", tags, token, version="2.26")[0] == 204
    assert cloud.api("GET", tags, token, version="2.26")[2] == {"tags": []}


def test_stopped_server_state_machine(cloud, request):
    """A stopped server (written: no host here can stop one) on a host that
    is not registered: the refusals Nova makes in vm_state stopped, and a
    start that passes them, is answered 202, and fails on the host (the
    event says why), leaving the server stopped with no task."""
    token = cloud.admin_token()
    sid, _ = error_server(cloud, token)
    put_state(request, cloud, sid, vm_state="stopped", power_state=4, host="ghost", node="ghost")
    for verb in ("stop", "pause", "suspend", "resume", "unpause"):
        err = refused(cloud, "server", verb, sid)
        assert f"Cannot '{verb}' instance {sid} while it is in vm_state stopped" in err, err
    assert f"Cannot 'reboot' instance {sid} while it is in vm_state stopped" in \
        refused(cloud, "server", "reboot", sid)
    # a task in progress refuses everything that needs none
    put_state(request, cloud, sid, task_state="powering-on")
    assert f"while it is in task_state powering-on" in refused(cloud, "server", "start", sid)
    put_state(request, cloud, sid, task_state=None)
    cloud.openstack("server", "start", sid, fmt_json=False)
    deadline = time.monotonic() + 60
    while True:
        events = cloud.openstack("server", "event", "list", sid)
        if events[0]["Action"] == "start":
            shown = cloud.openstack("server", "event", "show", sid, events[0]["Request ID"])
            if shown["events"] and shown["events"][0]["finish_time"]:
                break
        assert time.monotonic() < deadline, events
        time.sleep(0.2)
    [ev] = shown["events"]
    assert ev["event"] == "compute_start_instance" and ev["result"] == "Error"
    assert "host ghost is not known" in ev["traceback"]
    vm, task, _, _, _ = state(cloud, token, sid)
    assert (vm, task) == ("stopped", None)
    assert cloud.openstack("server", "show", sid)["status"] == "SHUTOFF"


def test_usage(cloud, request):
    admin = cloud.admin_token()
    member, project, _ = cloud.member_token("p1", "alice")
    sid, _ = error_server(cloud, member, "ran")
    never, _ = error_server(cloud, member, "never")
    now = int(time.time())
    # "ran": launched two hours ago (written: no host here launches one); "never" never launched
    put_state(request, cloud, sid, vm_state="active", power_state=1, launched_at=now - 7200)
    start = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - 3600))
    end = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
    status, _, body = cloud.api("GET", f"/compute/v2.1/os-simple-tenant-usage?start={start}&end={end}"
                                "&detailed=1", admin)
    assert status == 200, body
    [u] = body["tenant_usages"]
    assert u["tenant_id"] == project and abs(u["total_hours"] - 1.0) < 0.01, u
    fl = u["server_usages"][0]
    assert [s["instance_id"] for s in u["server_usages"]] == [sid]
    assert abs(u["total_memory_mb_usage"] - fl["memory_mb"]) < 1 and fl["state"] == "active"
    assert abs(u["total_vcpus_usage"] - fl["vcpus"]) < 0.01 and fl["uptime"] >= 7200
    # the CLI: admins list every project; a member shows its own
    rows = cloud.openstack("usage", "list", "--start", start[:10], "--end",
                           time.strftime("%Y-%m-%d", time.gmtime(now + 86400)))
    assert [r["Project"] for r in rows] in (["p1"], [project]), rows
    shown = cloud.openstack("usage", "show", "--start", start[:10],
                            user="alice", password="pw-member", project="p1")
    servers = shown["Servers"]
    assert [s["instance_id"] for s in servers] == [sid], shown
    # a member may not list every project's, nor show another's
    status, _, reply = cloud.api("GET", "/compute/v2.1/os-simple-tenant-usage", member)
    assert status == 403 and "os-simple-tenant-usage:list" in nova_error(reply, "forbidden", 403)
    other, other_project, _ = cloud.member_token("p2", "bob")
    status, _, reply = cloud.api("GET", f"/compute/v2.1/os-simple-tenant-usage/{project}", other)
    assert status == 403, reply
    assert cloud.api("GET", f"/compute/v2.1/os-simple-tenant-usage/{other_project}", other)[2] == \
        {"tenant_usage": {}}
    for query, message in [("start=yesterday", "Datetime is in invalid format"),
                           (f"start={end}&end={start}", "Invalid start time")]:
        status, _, reply = cloud.api("GET", f"/compute/v2.1/os-simple-tenant-usage?{query}", admin)
        assert status == 400 and message in nova_error(reply, "badRequest", 400), reply
    # a deleted server counts until its deletion
    cloud.api("DELETE", f"{SERVERS}/{never}", member)
    assert cloud.api("GET", "/compute/v2.1/limits", member)[0] == 200
