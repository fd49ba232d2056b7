"""The Image service's collection and sharing (Glance v2): list filters,
sorting and paging; PATCH (JSON Patch); tags; deactivate/reactivate;
visibility rules and members across projects; the schemas. Through the
`openstack image` CLI where it has a command, raw HTTP for the rest, on
SQLite and on a throwaway PostgreSQL."""
import subprocess

import pytest

from cloudlib import cloud  # noqa: F401  (fixture)
from imagelib import add_user, api, create, token, upload

PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}


def names(cloud, tok, query=""):
    status, _, body = api(cloud, tok, "GET", "/images" + query)
    assert status == 200, body
    return [i["name"] for i in body["images"]]


def test_list_filters_sort_and_paging(cloud, tmp_path):
    tok = token(cloud)
    # uploads are format-inspected: beta's data must be the qcow2 it declares
    qcow2 = tmp_path / "beta.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(qcow2), "1M"], check=True)
    a = create(cloud, tok, name="alpha", tags=["x"], min_ram=64)
    b = create(cloud, tok, name="beta", disk_format="qcow2", tags=["x", "y"])
    create(cloud, tok, name="gamma", visibility="private")
    assert upload(cloud, tok, a["id"], b"1234")[0] == 204
    assert upload(cloud, tok, b["id"], qcow2.read_bytes())[0] == 204
    assert sorted(names(cloud, tok)) == ["alpha", "beta", "gamma"]
    assert names(cloud, tok, "?name=beta") == ["beta"]
    assert names(cloud, tok, "?name=in:alpha,gamma&sort=name:asc") == ["alpha", "gamma"]
    assert names(cloud, tok, "?status=queued") == ["gamma"]
    assert names(cloud, tok, "?disk_format=qcow2") == ["beta"]
    assert sorted(names(cloud, tok, "?tag=x")) == ["alpha", "beta"]
    assert names(cloud, tok, "?tag=y") == ["beta"]
    assert names(cloud, tok, "?visibility=private") == ["gamma"]
    assert names(cloud, tok, "?size_min=100") == ["beta"]
    assert names(cloud, tok, "?size_max=100") == ["alpha"]
    owner = a["owner"]
    assert len(names(cloud, tok, f"?owner={owner}")) == 3
    assert names(cloud, tok, "?owner=someone-else") == []
    assert names(cloud, tok, "?sort_key=name&sort_dir=asc") == ["alpha", "beta", "gamma"]
    assert names(cloud, tok, "?sort_key=name&sort_dir=desc") == ["gamma", "beta", "alpha"]
    assert names(cloud, tok, "?sort=size:desc,name:asc") == ["beta", "alpha", "gamma"]
    past, future = "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"
    assert len(names(cloud, tok, f"?created_at=gte:{past}")) == 3
    assert names(cloud, tok, f"?created_at=gt:{future}") == []
    assert len(names(cloud, tok, f"?updated_at=lt:{future}")) == 3
    for bad in ("?limit=-1", "?limit=x", "?sort_key=nonsense", "?sort_dir=up",
                "?created_at=gte:yesterday", "?marker=00000000-0000-4000-8000-000000000000",
                "?visibility=everyone", "?size_min=big"):
        status, _, body = api(cloud, tok, "GET", "/images" + bad)
        assert status == 400 and set(body) == {"message", "code", "title"}, (bad, body)
    # paging: limit and marker, with a next link that carries the filters
    status, _, page = api(cloud, tok, "GET", "/images?limit=2&sort_key=name&sort_dir=asc")
    assert [i["name"] for i in page["images"]] == ["alpha", "beta"]
    assert page["next"].startswith("/v2/images?") and f"marker={b['id']}" in page["next"]
    status, _, page2 = api(cloud, tok, "GET", page["next"][len("/v2"):])
    assert [i["name"] for i in page2["images"]] == ["gamma"] and "next" not in page2
    assert page["first"] == "/v2/images" and page["schema"] == "/v2/schemas/images"
    # paging after a marker by its sort values (created_at, id: images made
    # in the same second tie on created_at) gives the one-page order
    for order in ("", "&sort_key=created_at&sort_dir=asc", "&sort=status:asc,visibility:desc"):
        _, _, whole = api(cloud, tok, "GET", "/images?limit=100" + order)
        seen, path = [], "/images?limit=1" + order
        while path:
            status, _, page = api(cloud, tok, "GET", path)
            assert status == 200, (path, page)
            seen += [i["id"] for i in page["images"]]
            path = page.get("next", "/v2")[len("/v2"):]
        assert seen == [i["id"] for i in whole["images"]] and len(seen) == 3, order
    status, _, body = api(cloud, tok, "GET", f"/images?marker={a['id']}&name=beta")
    assert status == 400 and "Invalid marker" in body["message"]  # filtered out
    # the CLI's list and its filters
    listed = cloud.openstack("image", "list", "--sort", "name:asc")
    assert [i["Name"] for i in listed] == ["alpha", "beta", "gamma"]
    assert [i["Name"] for i in cloud.openstack("image", "list", "--private")] == ["gamma"]
    assert [i["Name"] for i in cloud.openstack("image", "list", "--tag", "y")] == ["beta"]
    # the CLI's --limit is one page in the server's order (newest first)
    newest = names(cloud, tok, "?limit=1")
    assert [i["Name"] for i in cloud.openstack("image", "list", "--limit", "1")] == newest


def test_patch_tags_and_activation(cloud):
    tok = token(cloud)
    img = create(cloud, tok, name="p", distro="debian")
    iid = img["id"]
    status, _, body = api(cloud, tok, "PATCH", f"/images/{iid}", [
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "add", "path": "/arch", "value": "x86_64"},
        {"op": "replace", "path": "/distro", "value": "strata"},
        {"op": "add", "path": "/tags", "value": ["a", "b"]},
        {"op": "replace", "path": "/min_disk", "value": 2},
        {"op": "replace", "path": "/protected", "value": True}], headers=PATCH)
    assert status == 200, body
    assert body["name"] == "renamed" and body["arch"] == "x86_64" and body["distro"] == "strata"
    assert body["tags"] == ["a", "b"] and body["min_disk"] == 2 and body["protected"] is True
    status, _, body = api(cloud, tok, "PATCH", f"/images/{iid}", [
        {"op": "remove", "path": "/arch"}, {"op": "add", "path": "/tags/-", "value": "c"},
        {"op": "replace", "path": "/protected", "value": False}], headers=PATCH)
    assert status == 200 and "arch" not in body and body["tags"] == ["a", "b", "c"]
    # bad patches: nothing changes
    for bad, code in [([{"op": "replace", "path": "/status", "value": "active"}], 403),
                      ([{"op": "remove", "path": "/nonexistent"}], 409),
                      ([{"op": "replace", "path": "/nonexistent", "value": "x"}], 409),
                      ([{"op": "move", "path": "/name"}], 400),
                      ([{"op": "replace", "path": "/disk_format", "value": "floppy"}], 400),
                      ([{"op": "replace", "path": "/visibility", "value": "public"}], 200),
                      ({"name": "not a patch"}, 400)]:
        status, _, body = api(cloud, tok, "PATCH", f"/images/{iid}", bad, headers=PATCH)
        assert status == code, (bad, body)
    status, _, body = api(cloud, tok, "PATCH", f"/images/{iid}",
                          [{"op": "replace", "path": "/name", "value": "x"}])
    assert status == 415  # application/json is not a patch
    status, _, body = api(cloud, tok, "PATCH", f"/images/{iid}", raw=b"[{", headers=PATCH)
    assert status == 400
    assert api(cloud, tok, "GET", f"/images/{iid}")[2]["name"] == "renamed"
    # tags one at a time
    assert api(cloud, tok, "PUT", f"/images/{iid}/tags/d")[0] == 204
    assert api(cloud, tok, "DELETE", f"/images/{iid}/tags/a")[0] == 204
    assert api(cloud, tok, "DELETE", f"/images/{iid}/tags/zz")[0] == 404
    assert api(cloud, tok, "GET", f"/images/{iid}")[2]["tags"] == ["b", "c", "d"]
    # the CLI's set and unset
    cloud.openstack("image", "set", "--name", "cli-name", "--property", "k=v", "--tag", "e",
                    "--min-ram", "128", iid, fmt_json=False)
    shown = cloud.openstack("image", "show", iid)
    assert shown["name"] == "cli-name" and shown["properties"]["k"] == "v"
    assert "e" in shown["tags"] and shown["min_ram"] == 128
    cloud.openstack("image", "unset", "--property", "k", "--tag", "e", iid, fmt_json=False)
    shown = cloud.openstack("image", "show", iid)
    assert "k" not in shown["properties"] and "e" not in shown["tags"]
    # deactivate / reactivate
    assert api(cloud, tok, "POST", f"/images/{iid}/actions/deactivate")[0] == 403  # queued
    assert upload(cloud, tok, iid, b"data")[0] == 204
    cloud.openstack("image", "set", "--deactivate", iid, fmt_json=False)
    assert api(cloud, tok, "GET", f"/images/{iid}")[2]["status"] == "deactivated"
    cloud.openstack("image", "set", "--activate", iid, fmt_json=False)
    assert api(cloud, tok, "GET", f"/images/{iid}")[2]["status"] == "active"


def test_visibility_and_members(cloud):
    admin = token(cloud)
    alice = add_user(cloud, "alice", "demo")
    bob = add_user(cloud, "bob", "other")
    alice_project = cloud.openstack("project", "show", "demo")["id"]
    shared = create(cloud, bob, name="bob-shared")
    private = create(cloud, bob, name="bob-private", visibility="private")
    community = create(cloud, bob, name="bob-community", visibility="community")
    public = create(cloud, admin, name="admin-public", visibility="public")
    sid = shared["id"]
    assert names(cloud, alice) == ["admin-public"]
    assert names(cloud, alice, "?visibility=community") == ["bob-community"]
    assert api(cloud, alice, "GET", f"/images/{private['id']}")[0] == 404
    assert api(cloud, alice, "GET", f"/images/{community['id']}")[0] == 200
    # members only on shared images, added by the owner
    status, _, body = api(cloud, bob, "POST", f"/images/{private['id']}/members",
                          {"member": alice_project})
    assert status == 403
    assert api(cloud, alice, "POST", f"/images/{sid}/members", {"member": alice_project})[0] == 404
    status, _, m = api(cloud, bob, "POST", f"/images/{sid}/members", {"member": alice_project})
    assert status == 200 and m["status"] == "pending" and m["member_id"] == alice_project
    assert m["image_id"] == sid and m["schema"] == "/v2/schemas/member"
    assert api(cloud, bob, "POST", f"/images/{sid}/members", {"member": alice_project})[0] == 409
    # pending: seen by id, not listed; the owner cannot accept for the member
    assert api(cloud, alice, "GET", f"/images/{sid}")[0] == 200
    assert "bob-shared" not in names(cloud, alice)
    assert "bob-shared" in names(cloud, alice, "?member_status=pending")
    assert api(cloud, bob, "PUT", f"/images/{sid}/members/{alice_project}",
               {"status": "accepted"})[0] == 403
    assert api(cloud, alice, "PUT", f"/images/{sid}/members/{alice_project}",
               {"status": "maybe"})[0] == 400
    status, _, m = api(cloud, alice, "PUT", f"/images/{sid}/members/{alice_project}",
                       {"status": "accepted"})
    assert status == 200 and m["status"] == "accepted"
    assert sorted(names(cloud, alice)) == ["admin-public", "bob-shared"]
    # members see their own membership; they cannot delete or change the image
    status, _, ms = api(cloud, alice, "GET", f"/images/{sid}/members")
    assert [x["member_id"] for x in ms["members"]] == [alice_project]
    assert api(cloud, alice, "DELETE", f"/images/{sid}")[0] == 403
    assert api(cloud, alice, "PATCH", f"/images/{sid}",
               [{"op": "replace", "path": "/name", "value": "x"}], headers=PATCH)[0] == 403
    assert api(cloud, alice, "DELETE", f"/images/{sid}/members/{alice_project}")[0] == 403
    # rejected: no longer listed
    api(cloud, alice, "PUT", f"/images/{sid}/members/{alice_project}", {"status": "rejected"})
    assert "bob-shared" not in names(cloud, alice)
    assert api(cloud, bob, "GET", f"/images/{sid}/members/{alice_project}")[0] == 200
    assert api(cloud, bob, "DELETE", f"/images/{sid}/members/{alice_project}")[0] == 204
    assert api(cloud, alice, "GET", f"/images/{sid}")[0] == 404
    # only an admin makes an image public, and sees every project's images
    assert api(cloud, bob, "PATCH", f"/images/{sid}",
               [{"op": "replace", "path": "/visibility", "value": "public"}],
               headers=PATCH)[0] == 403
    assert {"bob-private", "bob-shared", "bob-community", "admin-public"} <= set(names(cloud, admin))
    assert public["visibility"] == "public"


def test_cli_members(cloud):
    """`openstack image add project` / `image member list` / `image set
    --accept` / `image remove project` as the two projects."""
    admin_project = cloud.openstack("project", "show", "admin")["id"]
    cloud.openstack("project", "create", "demo", fmt_json=False)
    cloud.openstack("user", "create", "--password", "alice-pw", "alice", fmt_json=False)
    cloud.openstack("role", "add", "--user", "alice", "--project", "demo", "member",
                    fmt_json=False)
    demo = cloud.openstack("project", "show", "demo")["id"]
    img = cloud.openstack("image", "create", "--shared", "to-share")
    cloud.openstack("image", "add", "project", img["id"], demo)
    members = cloud.openstack("image", "member", "list", img["id"])
    assert [(m["Member ID"], m["Status"]) for m in members] == [(demo, "pending")]
    alice = dict(user="alice", password="alice-pw", project="demo")
    assert "to-share" not in [i["Name"] for i in cloud.openstack("image", "list", **alice)]
    cloud.openstack("image", "set", "--accept", img["id"], fmt_json=False, **alice)
    assert "to-share" in [i["Name"] for i in cloud.openstack("image", "list", **alice)]
    cloud.openstack("image", "remove", "project", img["id"], demo, fmt_json=False)
    assert "to-share" not in [i["Name"] for i in cloud.openstack("image", "list", **alice)]
    assert admin_project == img["owner"]


def test_schemas(cloud):
    for name in ("image", "images", "member", "members"):
        status, _, body = cloud.request("GET", f"/image/v2/schemas/{name}")
        assert status == 200 and body["name"] == name
    status, _, image = cloud.request("GET", "/image/v2/schemas/image")
    props = image["properties"]
    assert "qcow2" in props["disk_format"]["enum"] and props["status"]["readOnly"] is True
    assert image["additionalProperties"] == {"type": "string"}
