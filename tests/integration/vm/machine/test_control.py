"""The control socket (JSON lines, QMP-like): status, pause, resume, powerdown,
quit, and malformed requests, which get an error reply while the VM lives on."""
import time

import pytest

import vmtest as vt

pytestmark = pytest.mark.needs_kvm


@pytest.fixture(autouse=True)
def _kvm(kvm):
    return kvm


@pytest.fixture
def idle_vm(tmp_path):
    """A 2-vCPU VM whose guest halts waiting for serial input."""
    with vt.LiveVM("serial-echo", "--cpus", "2", tmp_path=tmp_path) as vm:
        vm.wait_for("serial-echo: ready (irq)")
        yield vm


def test_status(idle_vm):
    with idle_vm.connect() as c:
        r = c.execute("status")
    assert "return" in r, r
    st = r["return"]
    assert st["status"] == "running", r
    assert st["vcpus"] == 2, r
    assert st["memory_mib"] == vt.MEMORY_MIB, r


def test_pause_and_resume_states(idle_vm):
    with idle_vm.connect() as c:
        assert "return" in c.execute("pause"), idle_vm.describe()
        assert c.execute("status")["return"]["status"] == "paused"
        # pausing twice is an error, not a hang
        assert "error" in c.execute("pause")
        assert "return" in c.execute("resume"), idle_vm.describe()
        assert c.execute("status")["return"]["status"] == "running"
        assert "error" in c.execute("resume")
    assert idle_vm.alive(), idle_vm.describe()


def test_pause_stops_the_guest_and_resume_continues(idle_vm):
    with idle_vm.connect() as c:
        assert "return" in c.execute("pause"), idle_vm.describe()
        # input while paused: the guest cannot take it until it runs again
        idle_vm.send(b"abc\n")
        time.sleep(1.0)
        assert "serial-echo: line" not in idle_vm.console, \
            f"the guest ran while paused\n{idle_vm.describe()}"
        assert "return" in c.execute("resume"), idle_vm.describe()
    assert idle_vm.wait(30) == 0, idle_vm.describe()
    assert "serial-echo: line 'abc'" in idle_vm.console, idle_vm.describe()


def test_quit(idle_vm):
    with idle_vm.connect() as c:
        r = c.execute("quit")
        assert "return" in r, r
    assert idle_vm.wait(30) == 0, idle_vm.describe()


@pytest.mark.parametrize("mode", ["sci", "poll"])
def test_powerdown_presses_the_acpi_power_button(mode, tmp_path):
    with vt.LiveVM("pwrbtn", "--cmdline", f"mode={mode}", tmp_path=tmp_path) as vm:
        vm.wait_for("pwrbtn: waiting for the power button")
        with vm.connect() as c:
            r = c.execute("powerdown")
            assert "return" in r, f"{r}\n{vm.describe()}"
        assert vm.wait(30) == 0, vm.describe()
        assert "pwrbtn: pressed" in vm.console, vm.describe()


MALFORMED = [
    b"{",
    b"not json at all",
    b"[]",
    b"42",
    b'"status"',
    b'{"execute": 5}',
    b'{"exec": "status"}',
    b'{"execute": "status", "arguments": []}',
    b'{"execute": "status", "execute": "quit"}',
    b"\xff\xfe\x00garbage",
    b'{"execute": "status"} trailing',
]


def test_malformed_lines_get_errors_and_the_vm_lives_on(idle_vm):
    with idle_vm.connect() as c:
        for line in MALFORMED:
            c.send_raw(line + b"\n")
            r = c.reply()
            assert r is not None, f"connection closed after {line!r}\n{idle_vm.describe()}"
            assert "error" in r and "return" not in r, f"{line!r} -> {r}"
            assert r["error"].get("class") and r["error"].get("desc"), f"{line!r} -> {r}"
        # the same connection still works
        assert c.execute("status")["return"]["status"] == "running"
    assert idle_vm.alive(), idle_vm.describe()


def test_unknown_command(idle_vm):
    with idle_vm.connect() as c:
        r = c.execute("format-the-host-disk")
        assert r["error"]["class"] == "CommandNotFound", r
        assert "format-the-host-disk" in r["error"]["desc"], r
        assert c.execute("status")["return"]["status"] == "running"


def test_several_requests_in_one_write(idle_vm):
    with idle_vm.connect() as c:
        c.send_raw(b'{"execute":"status","id":1}\n{"execute":"nope","id":2}\n{"execute":"status","id":3}\n')
        replies = [c.reply() for _ in range(3)]
    assert [r.get("id") for r in replies] == [1, 2, 3], replies
    assert "return" in replies[0] and "error" in replies[1] and "return" in replies[2], replies


def test_request_split_across_writes(idle_vm):
    with idle_vm.connect() as c:
        c.send_raw(b'{"execute":')
        time.sleep(0.2)
        c.send_raw(b'"status"}\n')
        assert c.reply()["return"]["status"] == "running"


def test_oversized_line_is_refused_and_the_vm_lives_on(idle_vm):
    """A 70 KiB line: an error reply (the VMM may then close this connection)."""
    with idle_vm.connect() as c:
        c.sock.settimeout(30)
        try:
            c.send_raw(b'{"execute":"status","pad":"' + b"x" * (70 << 10) + b'"}\n')
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed while we were still sending: the reply must be there anyway
        r = c.reply()
        assert r is not None and "error" in r, f"no error reply to an oversized line: {r}"
    assert idle_vm.alive(), idle_vm.describe()
    with idle_vm.connect() as c:
        assert c.execute("status")["return"]["status"] == "running", idle_vm.describe()


def test_many_clients_and_abrupt_disconnects(idle_vm):
    clients = [idle_vm.connect() for _ in range(24)]
    for i, c in enumerate(clients):
        if i % 2:
            try:
                c.send_raw(b'{"execute":"sta')  # half a request, then gone
            except OSError:
                pass
        c.close()
    with idle_vm.connect() as c:
        assert c.execute("status")["return"]["status"] == "running", idle_vm.describe()
    assert idle_vm.alive(), idle_vm.describe()


def test_control_socket_path_unusable(tmp_path):
    r = vt.run(vt.vm_args("hello", "--control", str(tmp_path / "no" / "such" / "dir" / "s.sock")))
    vt.one_error_line(r)
