"""The serial console as a WebSocket (GET /v1/domains/NAME/console/ws): the
RFC 6455 handshake, Origin refused from another site, read-only viewers whose
input is refused, several viewers of one console, the 409 for a guest that
is not running, the close when the guest stops. With no /dev/kvm here, the
running guest is fake_vmm.py run as the VMM (stratad's --vm-binary): it
serves strata-vm's console and control sockets and echoes; the echo of a
real guest needs KVM and SKIPs loudly."""
import re
from pathlib import Path

import pytest

from weblib import TOKEN, Session, WebStratad, cleanup, short_tmpdir, users, webd  # noqa: F401
from wsclient import WS, Refused

FAKE_VMM = Path(__file__).resolve().parent / "fake_vmm.py"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def fakevm():
    d = WebStratad(short_tmpdir(), extra_args=["--vm-binary", str(FAKE_VMM)]).start()
    yield d
    cleanup(d)


def define(d, name):
    kernel = d.state_dir / "kernel.bin"
    kernel.write_bytes(b"\0" * 4096)
    d.ok("POST", "/v1/domains", {"name": name, "memory_mib": 32, "vcpus": 1, "os": {"kernel": str(kernel)}})


def start_fake(d, name):
    """POST start over TCP (a fake VMM: stratad's test helper would SKIP a real start here)."""
    status, _, body = d.tcp("POST", f"/v1/domains/{name}/start", headers=BEARER)
    assert status == 200, body
    assert d.ok("GET", f"/v1/domains/{name}")["state"] == "running"


def path(name):
    return f"/v1/domains/{name}/console/ws"


def test_console_not_running_is_409(fakevm):
    define(fakevm, "c0")
    with pytest.raises(Refused) as e:
        WS(fakevm.port, path("c0"), BEARER)
    assert e.value.status == 409 and b"domain 'c0' is not running" in e.value.body
    with pytest.raises(Refused) as e:
        WS(fakevm.port, path("nosuch"), BEARER)
    assert e.value.status == 404
    with pytest.raises(Refused) as e:  # no credentials on TCP
        WS(fakevm.port, path("c0"))
    assert e.value.status == 401


def test_console_echo_and_several_viewers(fakevm):
    define(fakevm, "c1")
    start_fake(fakevm, "c1")
    a = WS(fakevm.port, path("c1"), BEARER)
    assert "fake-vmm: guest console ready".encode() in a.read_until("ready")
    a.send("hello")
    a.read_until("ECHO:HELLO")
    b = WS(fakevm.port, path("c1"), BEARER)  # joins later: gets the history, shares the console
    b.read_until("ECHO:HELLO")
    b.send("from b", opcode=0x1)  # text frames carry input too
    a.read_until("ECHO:FROM B")
    b.read_until("ECHO:FROM B")
    # a ping is answered; a fragmented input still reaches the guest
    a.send(b"p1", opcode=0x9)
    assert a.frame() == (0xA, b"p1")
    a.send(b"fr", fin=False)
    a.send(b"ag", opcode=0x0)
    out = b.read_until("AG")  # the guest may read the two pieces apart or together
    assert b"".join(re.findall(rb"ECHO:([A-Z]*)", out)).endswith(b"FRAG"), out
    # the guest stops: every viewer gets a close frame saying so
    status, _, _ = fakevm.tcp("POST", "/v1/domains/c1/destroy", headers=BEARER)
    assert status == 200
    for ws in (a, b):
        while True:
            op, payload = ws.frame()
            if op == 0x8:
                break
        assert int.from_bytes(payload[:2], "big") == 1000 and b"the console closed" in payload
        ws.sock.close()
    with pytest.raises(Refused) as e:
        WS(fakevm.port, path("c1"), BEARER)
    assert e.value.status == 409


def test_console_protocol_errors(fakevm):
    define(fakevm, "c2")
    start_fake(fakevm, "c2")
    for hdrs in ({"Sec-WebSocket-Version": "8"}, {"Sec-WebSocket-Key": "c2hvcnQ="}, {"Connection": "keep-alive"}):
        with pytest.raises(Refused) as e:
            WS(fakevm.port, path("c2"), {**BEARER, **hdrs})
        assert e.value.status == 400, hdrs
    # a plain GET of the endpoint says what it is
    status, _, body = fakevm.tcp("GET", path("c2"), headers=BEARER)
    assert status == 400 and "WebSocket" in body["error"]["message"]
    # an unmasked client frame is a protocol error: close 1002
    ws = WS(fakevm.port, path("c2"), BEARER)
    ws.read_until("ready")
    ws.send("x", mask=False)
    while True:
        op, payload = ws.frame()
        if op == 0x8:
            break
    assert int.from_bytes(payload[:2], "big") == 1002 and b"masked" in payload
    # the console is still there for the next viewer
    ws2 = WS(fakevm.port, path("c2"), BEARER)
    ws2.send("again")
    ws2.read_until("ECHO:AGAIN")
    ws2.close()


def test_console_origin_and_read_only(fakevm, users):
    define(fakevm, "c3")
    start_fake(fakevm, "c3")
    full = Session(fakevm, *users.add(full_access=True)[:2])
    ro = Session(fakevm, *users.add(full_access=False)[:2])
    own = {"Origin": fakevm.origin}
    for bad in ({"Origin": "http://evil.example"}, {"Origin": f"http://localhost:{fakevm.port}"}, {}):
        with pytest.raises(Refused) as e:
            WS(fakevm.port, path("c3"), {"Cookie": full.cookie, **bad})
        assert e.value.status == 403 and b"cross-origin WebSocket refused" in e.value.body, bad
    w = WS(fakevm.port, path("c3"), {"Cookie": full.cookie, **own})
    r = WS(fakevm.port, path("c3"), {"Cookie": ro.cookie, **own})
    r.read_until("ready")  # a read-only user watches
    r.send("secret-command")
    op, payload = r.frame()
    while op != 0x1:
        op, payload = r.frame()
    assert b"read-only" in payload and b"input refused" in payload
    w.send("mine")
    out = w.read_until("ECHO:MINE")
    assert b"SECRET" not in out  # the guest echoes in order: the read-only input never reached it
    r.read_until("ECHO:MINE")  # and the read-only viewer sees the others' session
    w.close()
    r.close()


def test_console_echo_of_a_real_guest(webd):
    """serial-echo.elf through the WebSocket: its banner, then a typed line echoed."""
    from hostlib import guest
    webd.ok("POST", "/v1/domains", {"name": "echo", "memory_mib": 16, "os": {"kernel": guest("serial-echo")}})
    webd.ok("POST", "/v1/domains/echo/start")  # SKIPs loudly here without a usable /dev/kvm
    ws = WS(webd.port, path("echo"), BEARER)
    ws.read_until("serial-echo: ready", timeout=120)
    ws.send("ping\n")
    ws.read_until("line 'ping'", timeout=120)
    ws.close()


@pytest.fixture
def chrome():
    from browser import browser, quit
    made = []
    yield lambda: made.append(browser()) or made[-1]
    for drv in made:
        quit(drv)


def screen_text(drv):
    return drv.execute_script("const r = document.querySelector('#console-screen'); return r ? r.innerText : ''")


def echoed(drv):
    """The letters the fake guest echoed, in order (keys typed quickly may arrive, and be echoed, together)."""
    return "".join(re.findall(r"ECHO:([A-Z]*)", screen_text(drv)))


def type_into(drv, text):
    from browser import wait_css
    wait_css(drv, "#console-screen .xterm-helper-textarea").send_keys(text)


def test_console_in_the_browser(fakevm, users, chrome):
    """xterm.js on the guest page: waits for the guest to start, shows its
    output, types into it; a read-only viewer watches the same console and its
    keys reach nothing; after stratad restarts the page reconnects by itself."""
    from browser import console_errors, login, screenshot, wait_text
    from weblib import wait_for
    define(fakevm, "c4")
    full = users.add(full_access=True)
    ro = users.add(full_access=False)
    a, b = chrome(), chrome()
    login(a, fakevm, full[0], full[1])
    login(b, fakevm, ro[0], ro[1])
    wait_text(a, "#access", "(full access)")
    wait_text(b, "#access", "(read-only)")
    for drv in (a, b):
        drv.get(fakevm.origin + "/#/guests/c4")
        wait_text(drv, "#console-status", "the guest is shutoff: no console")
    start_fake(fakevm, "c4")
    for drv in (a, b):  # the started event connects both
        wait_for("the console's banner", lambda: "guest console ready" in screen_text(drv))
        wait_text(drv, "#console-status", "connected")
    type_into(a, "hi")
    for drv in (a, b):
        wait_for(lambda: f"the echo of hi; the screens: {screen_text(a)!r} {screen_text(b)!r}; "
                 f"status {a.find_element('css selector', '#console-status').text!r}; "
                 f"stratad's log: {fakevm.log()[-2000:]}",
                 lambda: echoed(drv) == "HI")
    type_into(b, "z")  # read-only: nothing is sent
    type_into(a, "k")
    wait_for(lambda: f"the echo of k: {echoed(b)!r}", lambda: echoed(b) == "HIK")
    assert echoed(a) == "HIK"  # the read-only viewer's z never reached the guest
    screenshot(a, "console")
    assert console_errors(a) == [] and console_errors(b) == []
    # stratad restarts under the open page: the guest runs on, the page reconnects
    fakevm.stop()
    fakevm.start()
    wait_for("a reconnect", lambda: "reconnecting" in a.find_element("css selector", "#console-status").text
             or a.find_element("css selector", "#console-status").text == "connected")
    wait_text(a, "#console-status", "connected")
    type_into(a, "r")
    wait_for("the echo after the reconnect", lambda: echoed(a).endswith("R"))
