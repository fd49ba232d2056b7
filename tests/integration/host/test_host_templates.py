"""Guest templates: /v1/templates (define, list, show, replace, delete, from a
guest) and the `strata template-*` commands, with bad input refused with a
400 naming the field. No guest runs."""
import json

from hostlib import stratad  # noqa: F401  (fixture)


def setup_pool(d, tmp_path):
    pool = tmp_path / "pool"
    pool.mkdir()
    d.ok("POST", "/v1/pools", {"name": "p", "type": "dir", "path": str(pool)})
    d.ok("POST", "/v1/pools/p/volumes", {"name": "base.qcow2", "capacity": "16M", "format": "qcow2"})
    kernel = tmp_path / "vmlinux"
    kernel.write_bytes(b"\0" * 4096)
    return str(kernel)


def recipe(kernel, **over):
    t = {"name": "small", "description": "a small guest", "memory_mib": 96, "vcpus": 2,
         "os": {"kernel": kernel, "cmdline": "console=ttyS0"},
         "disks": [{"pool": "p", "capacity": "64M", "format": "qcow2"},
                   {"pool": "p", "base": "base.qcow2", "mode": "overlay"}],
         "interfaces": [{"type": "network", "source": "default"}]}
    t.update(over)
    return t


def test_template_api_round_trip(stratad, tmp_path):
    d = stratad
    kernel = setup_pool(d, tmp_path)
    assert d.ok("GET", "/v1/templates") == []
    t = d.ok("POST", "/v1/templates", recipe(kernel))
    assert t["name"] == "small" and t["memory_mib"] == 96 and t["vcpus"] == 2
    assert t["disks"] == [{"pool": "p", "capacity": "64M", "format": "qcow2"},
                          {"pool": "p", "base": "base.qcow2", "mode": "overlay"}]
    assert t["interfaces"] == [{"type": "network", "source": "default", "model": "virtio"}]  # no MAC
    assert t["os"]["cmdline"] == "console=ttyS0" and t["created"] > 0
    assert [x["name"] for x in d.ok("GET", "/v1/templates")] == ["small"]
    assert d.ok("GET", "/v1/templates/small")["description"] == "a small guest"
    assert d.call("POST", "/v1/templates", recipe(kernel))[0] == 409

    changed = d.ok("PUT", "/v1/templates/small", recipe(kernel, memory_mib=128, disks=[]))
    assert changed["memory_mib"] == 128 and changed["disks"] == []
    assert d.ok("GET", "/v1/templates/small")["memory_mib"] == 128
    status, body = d.call("PUT", "/v1/templates/small", recipe(kernel, name="other"))
    assert status == 400 and "not renamed" in body["error"]["message"]
    assert d.call("PUT", "/v1/templates/nosuch", recipe(kernel, name="nosuch"))[0] == 404

    # kept across a restart (SQLite)
    d.stop()
    d.start()
    assert d.ok("GET", "/v1/templates/small")["memory_mib"] == 128
    assert d.ok("DELETE", "/v1/templates/small") == {"deleted": "small"}
    assert d.call("GET", "/v1/templates/small")[0] == 404
    assert d.call("DELETE", "/v1/templates/small")[0] == 404


def test_template_bad_input(stratad, tmp_path):
    d = stratad
    kernel = setup_pool(d, tmp_path)
    bad = [
        (recipe(kernel, name="../x"), "template name"),
        (recipe(kernel, memory_mib=1), "memory_mib"),
        (recipe(kernel, vcpus=0), "vcpus"),
        (recipe(kernel, os={"kernel": "/nonexistent/vmlinux"}), "os.kernel"),
        (recipe(kernel, colour="red"), "colour"),
        (recipe(kernel, disks=[{"pool": "nosuch", "capacity": "1G"}]), "disks[0]"),
        (recipe(kernel, disks=[{"pool": "p", "base": "missing.qcow2"}]), "disks[0]: base"),
        (recipe(kernel, disks=[{"pool": "p", "base": "base.qcow2", "mode": "move"}]), "disks[0]: mode"),
        (recipe(kernel, disks=[{"pool": "p", "format": "vmdk", "capacity": "1G"}]), "disks[0]: format"),
        (recipe(kernel, disks=[{"pool": "p"}]), "capacity"),
        (recipe(kernel, interfaces=[{"type": "network", "source": "default", "mac": "52:54:00:00:00:01"}]),
         "interfaces[0]"),
        (recipe(kernel, interfaces=[{"type": "wifi", "source": "default"}]), "interfaces[0]"),
        (recipe(kernel, description="x" * 2000), "description"),
    ]
    for body, field in bad:
        status, reply = d.call("POST", "/v1/templates", body)
        assert status == 400, (body, status, reply)
        assert field in reply["error"]["message"], (field, reply)
    status, reply = d.call("POST", "/v1/templates", raw=b"[1]", headers={"Content-Type": "application/json"})
    assert status == 400
    assert d.ok("GET", "/v1/templates") == []


def test_template_from_guest(stratad, tmp_path):
    d = stratad
    kernel = setup_pool(d, tmp_path)
    d.ok("POST", "/v1/pools/p/volumes", {"name": "g1-root.qcow2", "capacity": "32M", "format": "qcow2"})
    d.ok("POST", "/v1/domains", {"name": "g1", "memory_mib": 80, "vcpus": 1,
                                  "os": {"kernel": kernel, "cmdline": "console=ttyS0 quiet"},
                                  "disks": [{"pool": "p", "volume": "g1-root.qcow2"},
                                            {"path": kernel, "readonly": True}],
                                  "interfaces": [{"type": "network", "source": "default"}]})
    t = d.ok("POST", "/v1/templates", {"name": "from-g1", "guest": "g1", "description": "made from g1"})
    assert t["memory_mib"] == 80 and t["os"]["cmdline"] == "console=ttyS0 quiet"
    assert t["disks"] == [{"pool": "p", "base": "g1-root.qcow2", "mode": "copy"},
                          {"path": kernel, "readonly": True}]
    assert t["interfaces"] == [{"type": "network", "source": "default", "model": "virtio"}]
    assert t["description"] == "made from g1"
    status, reply = d.call("POST", "/v1/templates", {"name": "x", "guest": "nosuch"})
    assert status == 404
    status, reply = d.call("POST", "/v1/templates", {"name": "from-g1", "guest": "g1"})
    assert status == 409


def test_template_cli(stratad, tmp_path):
    d = stratad
    kernel = setup_pool(d, tmp_path)
    f = tmp_path / "t.json"
    f.write_text(json.dumps(recipe(kernel)))
    d.cli("template-define", f)
    listing = d.cli("template-list").stdout
    assert "small" in listing and "96 MiB" in listing and "new qcow2" in listing and "overlay of base.qcow2" in listing
    shown = json.loads(d.cli("template-show", "small").stdout)
    assert shown["vcpus"] == 2 and shown["disks"][1]["base"] == "base.qcow2"
    f.write_text(json.dumps(recipe(kernel, vcpus=4)))
    d.cli("template-define", f, "--update")
    assert json.loads(d.cli("--json", "template-show", "small").stdout)["vcpus"] == 4
    r = d.cli("template-define", f, check=False)
    assert r.returncode == 1 and "already exists" in r.stderr and r.stderr.count("\n") == 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(recipe(kernel, name="bad", vcpus=1000)))
    r = d.cli("template-define", bad, check=False)
    assert r.returncode == 1 and "vcpus" in r.stderr
    d.ok("POST", "/v1/domains", {"name": "g2", "memory_mib": 64, "os": {"kernel": kernel}})
    d.cli("template-from-guest", "g2", "from-g2", "--description", "second")
    assert json.loads(d.cli("template-show", "from-g2").stdout)["description"] == "second"
    r = d.cli("template-from-guest", "g2", check=False)
    assert r.returncode == 2  # usage
    d.cli("template-delete", "small")
    r = d.cli("template-show", "small", check=False)
    assert r.returncode == 1 and "not found" in r.stderr
    assert [t["name"] for t in json.loads(d.cli("--json", "template-list").stdout)] == ["from-g2"]
