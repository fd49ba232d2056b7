"""Issue 13 item 13: the virsh verbs users reach for, with virsh's names and
columns, on defined domains, networks, pools and the host. Verbs that need a
running guest (setmem, dommemstat, live vcpuinfo, start --console) are
checked here only as far as a shut-off domain goes; their live halves
need /dev/kvm."""
import json
import os
import subprocess
import xml.etree.ElementTree as ET

import pytest

from hostlib import program, stratad  # noqa: F401  (fixture)


def define(d, name="web", **extra):
    body = {"name": name, "vcpus": 2, "memory_mib": 64, "os": {"kernel": "/bin/true"},
            "interfaces": [{"type": "bridge", "source": "br-none0"}]}
    body.update(extra)
    return d.ok("POST", "/v1/domains", body)


def editor(tmp_path, script):
    """An $EDITOR that applies a sed script to the file it is given."""
    p = tmp_path / "editor.sh"
    p.write_text(f'#!/bin/sh\nsed -i \'{script}\' "$1"\n')
    p.chmod(0o755)
    return str(p)


def cli_env(d, env, *args):
    return subprocess.run([str(program("src", "cli", "strata")), "--socket", d.sock] + list(args),
                          capture_output=True, text=True, env=dict(os.environ, **env), stdin=subprocess.DEVNULL,
                          timeout=60)


def test_domstate_domuuid_domiflist_vcpuinfo(stratad):
    d = stratad
    dom = define(d)
    assert d.cli("domstate", "web").stdout == "shut off\n\n"
    assert d.cli("domstate", "web", "--reason").stdout == "shut off (unknown)\n\n"
    assert d.cli("domuuid", "web").stdout == dom["uuid"] + "\n\n"
    mac = dom["definition"]["interfaces"][0]["mac"]
    lines = d.cli("domiflist", "web").stdout.splitlines()
    assert lines[0].split() == ["Interface", "Type", "Source", "Model", "MAC"]
    assert set(lines[1]) == {"-"}
    assert lines[2].split() == ["-", "bridge", "br-none0", "virtio", mac]
    blocks = d.cli("vcpuinfo", "web").stdout.strip().split("\n\n")
    assert len(blocks) == 2
    ncpu = os.cpu_count()
    assert blocks[1].splitlines() == ["VCPU:           1", "CPU:            N/A", "State:          N/A",
                                      "CPU time:       N/A", "CPU Affinity:   " + "y" * ncpu]
    # a domain that does not exist: one line, exit 1
    r = d.cli("domstate", "nope", check=False)
    assert r.returncode == 1 and r.stderr == "strata: error: no domain named 'nope'\n"


def test_setvcpus_changes_the_next_start(stratad):
    d = stratad
    define(d)
    d.cli("setvcpus", "web", "4")
    assert d.ok("GET", "/v1/domains/web")["definition"]["vcpus"] == 4
    d.cli("setvcpus", "web", "3", "--config")
    assert d.ok("GET", "/v1/domains/web")["vcpus"] == 3
    for bad, code, msg in [(["0"], 1, "vCPU count 0 is not 1..64"), (["65"], 1, "vCPU count 65 is not 1..64"),
                           (["x"], 2, "count"), (["2", "--live"], 2, "use --config")]:
        r = d.cli("setvcpus", "web", *bad, check=False)
        assert r.returncode == code and msg in r.stderr and r.stderr.count("\n") == 1, (bad, r.stderr)
    assert d.ok("GET", "/v1/domains/web")["vcpus"] == 3


def test_setmem_and_dommemstat_need_a_running_guest(stratad):
    d = stratad
    define(d)
    for args in (["setmem", "web", "32M"], ["dommemstat", "web"]):
        r = d.cli(*args, check=False)
        assert r.returncode == 1 and "is not running" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    r = d.cli("setmem", "web", "32M", "--config", check=False)
    assert r.returncode == 2 and "--config is not supported" in r.stderr


def test_edit(stratad, tmp_path):
    d = stratad
    define(d)
    before = d.ok("GET", "/v1/domains/web")["definition"]
    # unchanged: nothing sent, nothing changed
    r = cli_env(d, {"EDITOR": "true", "VISUAL": ""}, "edit", "web")
    assert r.returncode == 0 and r.stdout == "Domain 'web' XML configuration not changed.\n", r
    # a change is checked and kept
    r = cli_env(d, {"EDITOR": editor(tmp_path, "s|>2</vcpu>|>5</vcpu>|; s|>65536</memory>|>98304</memory>|; "
                                                 "s|>65536</currentMemory>|>98304</currentMemory>|"),
                    "VISUAL": ""}, "edit", "web")
    assert r.returncode == 0 and r.stdout == "Domain 'web' XML configuration edited.\n", r
    after = d.ok("GET", "/v1/domains/web")["definition"]
    assert (after["vcpus"], after["memory_mib"]) == (5, 96)
    assert {k: v for k, v in after.items() if k not in ("vcpus", "memory_mib")} == \
        {k: v for k, v in before.items() if k not in ("vcpus", "memory_mib")}
    # invalid XML, a refused value, a rename: one error line, nothing changed
    for script, msg in [("s|>5</vcpu>|>5</vcpu|", "invalid XML"), ("s|>5</vcpu>|>500</vcpu>|", "vcpus"),
                        ("s|<name>web<|<name>other<|", "cannot change its name")]:
        r = cli_env(d, {"EDITOR": editor(tmp_path, script), "VISUAL": ""}, "edit", "web")
        assert r.returncode == 1 and msg in r.stderr and r.stderr.count("\n") == 1, (script, r.stderr)
        assert d.ok("GET", "/v1/domains/web")["definition"] == after
    assert [x["name"] for x in d.ok("GET", "/v1/domains")] == ["web"]
    # an editor that fails changes nothing either
    r = cli_env(d, {"EDITOR": "false", "VISUAL": ""}, "edit", "web")
    assert r.returncode == 1 and "nothing changed" in r.stderr
    # no file left behind
    assert not list(tmp_path.glob("strata-edit-*"))


def test_redefine_api_refuses_what_edit_must_not_do(stratad):
    d = stratad
    dom = define(d)
    st, reply = d.call("PUT", "/v1/domains/web", dict(dom["definition"], uuid="00000000-0000-0000-0000-000000000001"))
    assert st == 400 and "cannot change its uuid" in reply["error"]["message"]
    st, reply = d.call("PUT", "/v1/domains/nope", dom["definition"])
    assert st == 404


def test_create_that_cannot_start_leaves_nothing(stratad, tmp_path):
    """create = define + start a transient domain; a start refused (a NIC on
    a bridge that does not exist) leaves no definition behind."""
    d = stratad
    body = {"name": "tr", "memory_mib": 16, "os": {"kernel": "/bin/true"},
            "interfaces": [{"type": "bridge", "source": "br-none0"}]}
    st, reply = d.call("POST", "/v1/domains?transient=1&start=1", body)
    assert st == 400 and "br-none0" in reply["error"]["message"], reply
    assert d.ok("GET", "/v1/domains") == []
    st, reply = d.call("POST", "/v1/domains?transient=1", body)
    assert st == 400 and "go together" in reply["error"]["message"]
    f = tmp_path / "tr.json"
    f.write_text(json.dumps(body))
    r = cli_env(d, {}, "create", str(f))
    assert r.returncode == 1 and "br-none0" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert d.ok("GET", "/v1/domains") == []


def test_shutdown_mode_and_start_console_options(stratad):
    d = stratad
    define(d)
    r = d.cli("shutdown", "web", "--mode", "agent", check=False)
    assert r.returncode == 2 and "shutdown mode 'agent' is not supported" in r.stderr
    # acpi is accepted: what refuses it is the domain's state
    r = d.cli("shutdown", "web", "--mode", "acpi", check=False)
    assert r.returncode == 1 and "is not running" in r.stderr


def test_nodeinfo_and_capabilities(stratad):
    d = stratad
    rows = dict(line.split(":", 1) for line in d.cli("nodeinfo").stdout.splitlines() if line)
    assert rows["CPU model"].strip() == os.uname().machine
    assert int(rows["CPU(s)"]) == os.cpu_count()
    mem = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal:"))
    assert rows["Memory size"].strip() == f"{mem} KiB"
    assert int(rows["CPU socket(s)"]) * int(rows["Core(s) per socket"]) * int(rows["Thread(s) per core"]) \
        == os.cpu_count()
    caps = ET.fromstring(d.cli("capabilities").stdout)
    assert caps.tag == "capabilities"
    assert caps.find("host/cpu/arch").text == os.uname().machine
    guest = caps.find("guest")
    assert guest.find("os_type").text == "hvm"
    assert guest.find("arch").get("name") == "x86_64"
    assert guest.find("arch/domain").get("type") == "kvm"
    assert guest.find("arch/emulator").text.endswith("strata-vm")


def test_net_list_all_and_vol_list_pool(stratad, tmp_path):
    d = stratad
    d.ok("POST", "/v1/networks", {"name": "idle", "ip": "10.93.0.1/24"})
    active = d.cli("net-list").stdout.splitlines()
    assert active[0].split() == ["Name", "State", "Autostart", "Persistent"] and len(active) == 2
    assert d.cli("net-list", "--all").stdout.splitlines()[2].split() == ["idle", "inactive", "no", "yes"]
    assert d.cli("net-list", "--inactive").stdout.splitlines()[2].split()[0] == "idle"
    assert d.cli("net-list", "--all", "--inactive", check=False).returncode == 2
    pool = tmp_path / "pool"
    pool.mkdir()
    d.ok("POST", "/v1/pools", {"name": "p", "type": "dir", "path": str(pool)})
    d.ok("POST", "/v1/pools/p/volumes", {"name": "v.raw", "capacity": "1M"})
    by_opt = d.cli("vol-list", "--pool", "p").stdout
    assert by_opt == d.cli("vol-list", "p").stdout and "v.raw" in by_opt
    r = d.cli("vol-list", "p", "--pool", "p", check=False)
    assert r.returncode == 2 and "usage: strata vol-list" in r.stderr
