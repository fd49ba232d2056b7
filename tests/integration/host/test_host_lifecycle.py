"""Domain lifecycle of test guests through the API and through the CLI, with
the event stream observed for every transition."""
import json
import time

import pytest

from hostlib import Events, guest, stratad, wait_console  # noqa: F401  (fixture)

PWRBTN_READY = "pwrbtn: waiting for the power button"


def define(d, name, kernel="pwrbtn", **extra):
    body = {"name": name, "memory_mib": 16, "os": {"kernel": guest(kernel)}}
    body.update(extra)
    return d.ok("POST", "/v1/domains", body)


def state(d, name):
    return d.ok("GET", f"/v1/domains/{name}")["state"]


def test_lifecycle_api(stratad):
    d = stratad
    ev = Events(d)
    dom = define(d, "life")
    assert dom["state"] == "shutoff" and len(dom["uuid"]) == 36
    ev.expect("life", "defined")

    r = d.ok("POST", "/v1/domains/life/start")
    assert r["state"] == "running" and r["pid"] > 0
    ev.expect("life", "started")
    assert d.vmm_pids() == [r["pid"]]
    info = d.ok("GET", "/v1/domains/life")
    assert info["vmm"]["status"] == "running" and info["vmm"]["memory_mib"] == 16

    d.ok("POST", "/v1/domains/life/suspend")
    ev.expect("life", "paused")
    assert d.ok("GET", "/v1/domains/life")["vmm"]["status"] == "paused"
    d.ok("POST", "/v1/domains/life/resume")
    ev.expect("life", "resumed")

    # ACPI power button: pwrbtn.elf powers off when it sees it
    wait_console(d, "life", PWRBTN_READY)
    r = d.ok("POST", "/v1/domains/life/shutdown")
    assert r["shutting_down"] is True
    e = ev.expect("life", "stopped")[0]
    assert e["reason"] == "shutdown"
    assert state(d, "life") == "shutoff" and d.vmm_pids() == []

    first = d.ok("POST", "/v1/domains/life/start")["pid"]
    ev.expect("life", "started")
    d.ok("POST", "/v1/domains/life/reboot")
    got = ev.expect("life", "stopped", "started")
    assert [g["reason"] for g in got] == ["reboot", "reboot"]
    pids = d.vmm_pids()
    assert len(pids) == 1 and pids[0] != first

    d.ok("POST", "/v1/domains/life/destroy")
    assert ev.expect("life", "stopped")[0]["reason"] == "destroyed"
    assert d.vmm_pids() == []

    d.ok("DELETE", "/v1/domains/life")
    ev.expect("life", "undefined")
    assert d.call("GET", "/v1/domains/life")[0] == 404


def test_shutdown_timeout_destroys(stratad):
    """serial-echo.elf never looks at the power button: after the timeout
    stratad destroys it, and says so."""
    d = stratad
    ev = Events(d)
    define(d, "stubborn", kernel="serial-echo")
    d.ok("POST", "/v1/domains/stubborn/start")
    ev.expect("stubborn", "defined", "started")
    assert d.ok("POST", "/v1/domains/stubborn/shutdown?timeout=1")["shutting_down"] is True
    e = ev.expect("stubborn", "stopped")[0]
    assert e["reason"] == "shutdown timeout, destroyed"
    assert d.vmm_pids() == []


def test_guest_ends_by_itself(stratad):
    """hello.elf prints and exits through the debug port (exit 0): a stop
    with the reason the VMM's exit status gives; triple-fault.elf crashes."""
    d = stratad
    ev = Events(d)
    define(d, "hello", kernel="hello")
    define(d, "boom", kernel="triple-fault")
    d.ok("POST", "/v1/domains/hello/start")
    got = ev.expect("hello", "defined", "started", "stopped")
    assert got[2]["reason"] == "poweroff"
    d.ok("POST", "/v1/domains/boom/start")
    got = ev.expect("boom", "defined", "started", "crashed")
    assert got[2]["reason"] == "crashed"
    assert d.ok("GET", "/v1/domains/boom")["last_stop_reason"] == "crashed"


def test_console_attach_detach(stratad):
    """Attach and detach (stdin ends) leave the guest running; a later
    attach replays the output history and types into the guest."""
    d = stratad
    ev = Events(d)
    define(d, "con", kernel="serial-echo")
    d.ok("POST", "/v1/domains/con/start")
    ev.expect("con", "defined", "started")
    wait_console(d, "con", "serial-echo: ready")
    assert state(d, "con") == "running"
    out = d.cli("console", "con", input="ping\n").stdout
    assert "serial-echo: ready" in out and "line 'ping'" in out
    assert ev.expect("con", "stopped")[0]["reason"] == "poweroff"


@pytest.mark.needs_kvm  # starts guests from threads or at stratad's start
def test_autostart():
    from hostlib import Stratad, cleanup, short_tmpdir
    d = Stratad(short_tmpdir()).start()
    try:
        define(d, "auto")
        define(d, "manual")
        d.ok("PUT", "/v1/domains/auto/autostart", {"autostart": True})
        d.stop()
        d.start()
        assert state(d, "auto") == "running"
        assert state(d, "manual") == "shutoff"
        assert d.ok("GET", "/v1/domains?autostart=1")[0]["name"] == "auto"
    finally:
        cleanup(d)


def test_lifecycle_cli(stratad):
    d = stratad
    xml = f"""<domain type='kvm'><name>clidom</name><memory unit='KiB'>16384</memory>
<vcpu>1</vcpu><os><type>hvm</type><kernel>{guest('pwrbtn')}</kernel></os>
<devices><serial type='pty'/><console type='pty'/></devices></domain>"""
    path = d.state_dir / "clidom.xml"
    path.write_text(xml)
    ev = Events(d)
    assert "defined" in d.cli("define", path).stdout
    assert "clidom" in d.cli("list", "--all").stdout
    assert "clidom" not in d.cli("list").stdout  # only active ones by default
    d.cli("start", "clidom")
    assert "running" in d.cli("list").stdout
    d.cli("suspend", "clidom")
    assert "paused" in d.cli("dominfo", "clidom").stdout
    d.cli("resume", "clidom")
    info = json.loads(d.cli("--json", "dominfo", "clidom").stdout)
    assert info["state"] == "running" and info["definition"]["memory_mib"] == 16
    assert "<name>clidom</name>" in d.cli("dumpxml", "clidom").stdout
    d.cli("autostart", "clidom")
    assert json.loads(d.cli("--json", "list", "--autostart").stdout)[0]["name"] == "clidom"
    d.cli("autostart", "clidom", "--disable")
    wait_console(d, "clidom", PWRBTN_READY)
    assert "shut off" in d.cli("shutdown", "clidom", "--wait").stdout
    d.cli("start", "clidom")
    d.cli("reboot", "clidom")
    d.cli("destroy", "clidom")
    d.cli("undefine", "clidom")
    kinds = [e["event"] for e in (ev.next() for _ in range(10))]
    want = ["defined", "started", "paused", "resumed", "stopped", "started", "stopped", "started", "stopped",
            "undefined"]
    assert kinds[:len(want)] == want
    r = d.cli("list", "--all")
    assert "clidom" not in r.stdout


def test_cli_event_command(stratad):
    import os
    import select
    import subprocess
    from conftest import program
    d = stratad
    p = subprocess.Popen([str(program("src", "cli", "strata")), "--socket", d.sock, "--json", "event",
                          "--timeout", "300"], stdout=subprocess.PIPE)
    got, buf = [], b""

    def read_until(done, seconds):
        nonlocal buf
        end = time.monotonic() + seconds
        while not done() and time.monotonic() < end:
            if select.select([p.stdout], [], [], 1)[0]:
                chunk = os.read(p.stdout.fileno(), 65536)
                assert chunk, "strata event ended early"
                buf += chunk
                *lines, buf = buf.split(b"\n")
                got.extend((e["event"], e["name"]) for e in map(json.loads, lines))
        return done()

    try:
        # events are not replayed: probe until the subscription shows one, however slow the start
        for i in range(120):
            define(d, f"probe{i}")
            d.ok("DELETE", f"/v1/domains/probe{i}")
            if read_until(lambda: got, 1):
                break
        assert got, "strata event never showed an event"
        define(d, "evdom")
        d.ok("DELETE", "/v1/domains/evdom")
        assert read_until(lambda: ("undefined", "evdom") in got, 120), got
    finally:
        p.kill()
        p.wait()
    assert [e for e in got if e[1] == "evdom"] == [("defined", "evdom"), ("undefined", "evdom")]
    assert {e[0] for e in got if e[1] != "evdom"} <= {"defined", "undefined"}
