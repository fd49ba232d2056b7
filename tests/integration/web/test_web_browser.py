"""The web UI in a real Chromium (headless, selenium): login, read-only users,
CSRF from another origin, XSS attempts, storage upload with progress, the
guests table updating live in a second browser. Each test checks the API's
state too, not only the page."""
import hashlib
import json
import http.server
import os
import socketserver
import threading

import pytest

from browser import (DESKTOP, PHONE, browser, by_css, click, console_errors, login, quit, row_texts, screenshot,
                     wait_css, wait_text)
from weblib import TOKEN, users, wait_for, webd  # noqa: F401

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def chrome():
    made = []

    def make(size=DESKTOP):
        drv = browser(size)
        made.append(drv)
        return drv
    yield make
    for drv in made:
        quit(drv)


def define_guest(d, name, tmp_path, cmdline="console=ttyS0"):
    kernel = tmp_path / "kernel.bin"
    kernel.write_bytes(b"\0" * 4096)
    d.ok("POST", "/v1/domains", {"name": name, "memory_mib": 32, "vcpus": 2,
                                  "os": {"kernel": str(kernel), "cmdline": cmdline}})


def guest_rows(drv):
    return row_texts(drv, "table[aria-label=Guests]")


def test_login_wrong_then_right(webd, users, chrome):
    name, password, uid = users.add(full_access=True)
    drv = chrome()
    drv.get(webd.origin + "/")
    wait_css(drv, "form[aria-label='Log in']")
    screenshot(drv, "login")
    screenshot(drv, "login", PHONE)
    drv.set_window_size(*DESKTOP)
    login(drv, webd, name, password + "-wrong")
    wait_text(drv, "#login-error", "Wrong user name or password.")
    assert by_css(drv, "#top")[0].get_attribute("hidden") is not None  # still logged out
    login(drv, webd, name, password)
    wait_text(drv, "#who", name)
    wait_text(drv, "#access", "(full access)")
    wait_css(drv, "table[aria-label=Guests]")
    # the cookie: HttpOnly (the page's scripts cannot read it), SameSite=Strict, not Secure on plain HTTP
    cookies = {c["name"]: c for c in drv.get_cookies()}
    c = cookies["strata_session"]
    assert c["httpOnly"] is True and c["sameSite"] == "Strict" and c["secure"] is False
    assert "strata_session" not in drv.execute_script("return document.cookie")
    rows = [(r["path"], r["status"], r["uid"]) for r in webd.ok("GET", "/v1/audit")]
    assert ("/v1/session", 401, 2**32 - 1) in rows and ("/v1/session", 201, uid) in rows
    # log out: back to the form, and the old cookie no longer works
    by_css(drv, "#logout")[0].click()
    wait_text(drv, "#login-error", "Logged out.")
    status, _, _ = webd.tcp("GET", "/v1/host", headers={"Cookie": f"strata_session={c['value']}"})
    assert status == 401
    assert console_errors(drv) == [] or all("401" in e["message"] for e in console_errors(drv))


def test_read_only_user_sees_no_buttons(webd, users, chrome, tmp_path):
    define_guest(webd, "ro-guest", tmp_path)
    name, password, _ = users.add(full_access=False)
    drv = chrome()
    login(drv, webd, name, password)
    wait_text(drv, "#access", "(read-only)")
    wait_for("the guest in the table", lambda: "ro-guest" in guest_rows(drv))
    assert by_css(drv, "button[data-action]") == []
    drv.get(webd.origin + "/#/storage")
    wait_text(drv, "h1", "Storage")
    assert by_css(drv, "form.form") == [] and by_css(drv, "button[data-action]") == []
    # a forged request with the session's own token: refused by stratad, not only hidden
    status = drv.execute_async_script("""
        const done = arguments[0];
        const s = await (await fetch('/v1/session')).json();
        const r = await fetch('/v1/domains/ro-guest', {method: 'DELETE', headers: {'X-CSRF-Token': s.csrf_token}});
        done(r.status);""")
    assert status == 403
    assert webd.ok("GET", "/v1/domains/ro-guest")["state"] == "shutoff"


class OtherSite(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def test_csrf_from_another_origin_refused(webd, users, chrome, tmp_path):
    """A page on another origin (another port of the same host: the same
    *site*, so SameSite=Strict still sends the cookie) posts to stratad: the
    Origin check refuses it."""
    name, password, _ = users.add(full_access=True)
    target = webd.origin
    page = f"""<!doctype html><form id=f method=POST action="{target}/v1/pools" enctype="text/plain">
<input name='{{"name":"evil","type":"dir","path":"/tmp","x":"' value='"}}'></form>
<script>
fetch("{target}/v1/pools", {{method: "POST", mode: "no-cors", credentials: "include",
  body: JSON.stringify({{name: "evil2", type: "dir", path: "/tmp"}})}})
  .finally(() => {{ document.title = "fetched"; document.getElementById("f").submit(); }});
</script>""".encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *a):
            pass
    evil = OtherSite(("127.0.0.1", 0), Handler)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        drv = chrome()
        login(drv, webd, name, password)
        wait_text(drv, "#access", "(full access)")
        before = len(webd.ok("GET", "/v1/audit"))
        drv.get(f"http://127.0.0.1:{evil.server_address[1]}/")

        def refused():
            rows = webd.ok("GET", "/v1/audit")[before:]
            return [r for r in rows if r["path"] == "/v1/pools"] if len(
                [r for r in rows if r["path"] == "/v1/pools"]) >= 2 else None
        rows = wait_for("both forged requests to reach stratad", refused)
        assert all(r["status"] in (401, 403) for r in rows), rows
        assert webd.ok("GET", "/v1/pools") == []
    finally:
        evil.shutdown()


def test_xss_attempts_render_as_text(webd, users, chrome, tmp_path):
    evil = '"><img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    define_guest(webd, "xss", tmp_path, cmdline=evil)
    (tmp_path / "pool").mkdir()
    webd.ok("POST", "/v1/pools", {"name": "p", "type": "dir", "path": str(tmp_path / "pool")})
    name, password, _ = users.add(full_access=True)
    drv = chrome()
    login(drv, webd, name, password)
    wait_for("the guest", lambda: "xss" in guest_rows(drv))
    drv.get(webd.origin + "/#/guests/xss")
    wait_text(drv, "#definition", json.dumps(evil)[1:-1])  # as JSON text, quotes escaped
    wait_text(drv, "#xml", "<domain")  # the XML, as text
    # a name the page's own check would stop, sent anyway: the API's error echoes it, as text
    drv.get(webd.origin + "/#/storage")
    form = wait_css(drv, "form[aria-label='New volume in p']")
    field = form.find_element("css selector", "input[name=name]")
    drv.execute_script("arguments[0].removeAttribute('pattern')", field)
    field.send_keys('<img src=x onerror="window.__xss=3">')
    form.find_element("css selector", "input[name=capacity]").send_keys("1M")
    form.find_element("css selector", "button[type=submit]").click()
    wait_text(drv, "form[aria-label='New volume in p'] .field-error, form[aria-label='New volume in p'] .form-error",
              "is invalid")
    assert drv.execute_script("return window.__xss") is None
    assert by_css(drv, "main img") == [] and by_css(drv, "main script") == []
    assert webd.ok("GET", "/v1/pools/p/volumes") == []


def test_volume_create_and_upload_with_progress(webd, users, chrome, tmp_path):
    pool = tmp_path / "pool"
    pool.mkdir()
    webd.ok("POST", "/v1/pools", {"name": "images", "type": "dir", "path": str(pool)})
    name, password, _ = users.add(full_access=True)
    drv = chrome()
    login(drv, webd, name, password)
    drv.get(webd.origin + "/#/storage")
    form = wait_css(drv, "form[aria-label='New volume in images']")
    form.find_element("css selector", "input[name=name]").send_keys("disk1")
    form.find_element("css selector", "input[name=capacity]").send_keys("16M")
    form.find_element("css selector", "button[type=submit]").click()
    info = wait_for("the volume", lambda: webd.call("GET", "/v1/pools/images/volumes/disk1")[1]
                    if webd.call("GET", "/v1/pools/images/volumes/disk1")[0] == 200 else None)
    assert info["capacity"] == 16 << 20 and info["format"] == "qcow2"
    wait_for("the volume in the table", lambda: "disk1" in row_texts(drv, "section[data-pool=images] table"))
    # upload 48 MiB: the progress bar moves through values between 0 and 100
    src = tmp_path / "image.raw"
    with open(src, "wb") as f:
        for i in range(48):
            f.write(hashlib.sha256(str(i).encode()).digest() * (1 << 15))
    want = hashlib.sha256(src.read_bytes()).hexdigest()
    form = wait_css(drv, "form[aria-label='Upload to images']")
    form.find_element("css selector", "input[name=name]").send_keys("uploaded")
    form.find_element("css selector", "input[name=file]").send_keys(str(src))
    drv.execute_script("""
        window.__progress = [];
        const bar = document.getElementById('upload-progress');
        new MutationObserver(() => window.__progress.push(bar.value)).observe(bar, {attributes: true});""")
    form.find_element("css selector", "button[type=submit]").click()
    wait_for("the upload's end", lambda: "uploaded uploaded" in by_css(drv, "#upload-status")[0].text or
             by_css(drv, "form[aria-label='Upload to images'] .form-error")[0].text, seconds=300)
    assert by_css(drv, "form[aria-label='Upload to images'] .form-error")[0].text == ""
    seen = drv.execute_script("return window.__progress")
    assert any(0 < v < 100 for v in seen) and seen[-1] == 100, seen
    info = webd.ok("GET", "/v1/pools/images/volumes/uploaded")
    assert info["capacity"] == os.path.getsize(src)
    assert hashlib.sha256((pool / "uploaded").read_bytes()).hexdigest() == want
    screenshot(drv, "storage")
    screenshot(drv, "storage", PHONE)


def files_open_in(pid, directory):
    """What process pid has open in directory (an unnamed O_TMPFILE file shows as DIR/#INODE (deleted))."""
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(directory) + "/"):
            out.append(target)
    return out


def test_upload_cancel_leaves_nothing(webd, users, chrome, tmp_path):
    """Cancel in the page: the partial upload is gone from the host (no
    volume, no file in the pool's directory, no unnamed file held open)."""
    pool = tmp_path / "pool"
    pool.mkdir()
    webd.ok("POST", "/v1/pools", {"name": "images", "type": "dir", "path": str(pool)})
    name, password, _ = users.add(full_access=True)
    drv = chrome()
    login(drv, webd, name, password)
    drv.get(webd.origin + "/#/storage")
    form = wait_css(drv, "form[aria-label='Upload to images']")
    src = tmp_path / "big.raw"
    with open(src, "wb") as f:
        for i in range(64):
            f.write(hashlib.sha256(str(i).encode()).digest() * (1 << 15))
    # 64 MiB at 1 MiB/s: the upload is certainly under way when the test cancels it
    drv.set_network_conditions(offline=False, latency=0, download_throughput=64 << 20,
                               upload_throughput=1 << 20)
    form.find_element("css selector", "input[name=name]").send_keys("cancelled")
    form.find_element("css selector", "input[name=file]").send_keys(str(src))
    form.find_element("css selector", "button[type=submit]").click()
    # the partial upload exists on the host: stratad holds its file open in the pool
    held = wait_for("the partial upload's file in stratad", lambda: files_open_in(webd.proc.pid, pool))
    wait_for("progress", lambda: float(by_css(drv, "#upload-progress")[0].get_attribute("value") or 0) > 0)
    click(drv, "#upload-cancel", "Cancel")
    wait_text(drv, "form[aria-label='Upload to images'] .form-error", "upload cancelled")
    assert float(by_css(drv, "#upload-progress")[0].get_attribute("value")) < 100
    wait_for(f"stratad to let go of {held}", lambda: files_open_in(webd.proc.pid, pool) == [])
    assert sorted(os.listdir(pool)) == []
    status, _ = webd.call("GET", "/v1/pools/images/volumes/cancelled")
    assert status == 404
    assert webd.ok("GET", "/v1/pools/images/volumes") == []


def test_guest_appears_live_in_a_second_browser(webd, users, chrome, tmp_path):
    name, password, _ = users.add(full_access=True)
    a, b = chrome(), chrome()
    for drv in (a, b):
        login(drv, webd, name, password)
        wait_css(drv, "table[aria-label=Guests]")
        wait_text(drv, "#guest-count", "(0)")
    define_guest(webd, "live1", tmp_path)  # through the API, not the page
    for drv in (a, b):
        wait_for("live1 in both tables without a reload", lambda: "live1" in guest_rows(drv))
        row = guest_rows(drv)["live1"]
        assert "shutoff" in row and "32.0 MiB" in row
    screenshot(a, "guests")
    screenshot(a, "guests", PHONE)
    a.set_window_size(*DESKTOP)
    a.get(webd.origin + "/#/guests/live1")
    wait_text(a, "#definition", '"vcpus": 2')
    screenshot(a, "guest")
    screenshot(a, "guest", PHONE)
    a.set_window_size(*DESKTOP)
    a.get(webd.origin + "/#/guests")
    wait_for("the table", lambda: "live1" in guest_rows(a))
    click(a, "tr[data-key=live1] button[data-action=delete]")
    a.switch_to.alert.accept()
    wait_for("live1 gone from the second browser", lambda: "live1" not in guest_rows(b))
    status, _ = webd.call("GET", "/v1/domains/live1")
    assert status == 404
    b.get(webd.origin + "/#/events")
    wait_text(b, "table[aria-label=Events]", "undefined")
    screenshot(b, "events")
    screenshot(b, "events", PHONE)


def test_guest_start_from_the_page(webd, users, chrome, tmp_path):
    """Starting a guest needs a usable /dev/kvm: SKIPs loudly here."""
    from hostlib import needs_guest
    needs_guest("starting a guest from the web page")
    define_guest(webd, "g", tmp_path)
    name, password, _ = users.add(full_access=True)
    drv = chrome()
    login(drv, webd, name, password)
    wait_for("the guest", lambda: "g" in guest_rows(drv))
    click(drv, "tr[data-key=g] button[data-action=start]")
    wait_for("running in the table", lambda: "running" in guest_rows(drv)["g"])
    assert webd.ok("GET", "/v1/domains/g")["state"] == "running"


def test_session_expiring_mid_action(users, chrome, tmp_path):
    """An idle session ends; the next click gets the login form with a
    message, and the action did not happen."""
    import time
    from weblib import WebStratad, cleanup, short_tmpdir
    d = WebStratad(short_tmpdir(), ["--session-idle-timeout", "3"]).start()
    try:
        name, password, _ = users.add(full_access=True)
        drv = chrome()
        login(drv, d, name, password)
        wait_css(drv, "table[aria-label=Guests]")
        define_guest(d, "exp", tmp_path)
        wait_for("the guest in the table", lambda: "exp" in guest_rows(drv))
        time.sleep(5.5)  # idle for longer than the timeout: the idle time is what is tested
        click(drv, "tr[data-key=exp] button[data-action=delete]")
        drv.switch_to.alert.accept()
        wait_text(drv, "#login-error", "Your session has ended")
        assert d.ok("GET", "/v1/domains/exp")["state"] == "shutoff"
    finally:
        cleanup(d)


def test_stratad_restarted_under_an_open_page(webd, users, chrome, tmp_path):
    """The page stays logged in across a restart (sessions are in the
    database) and its table catches up with what changed meanwhile."""
    name, password, _ = users.add(full_access=True)
    drv = chrome()
    login(drv, webd, name, password)
    wait_css(drv, "table[aria-label=Guests]")
    wait_text(drv, "#guest-count", "(0)")
    webd.stop()
    webd.start()
    define_guest(webd, "after-restart", tmp_path)
    wait_for("the guest defined after the restart, without a reload", lambda: "after-restart" in guest_rows(drv),
             seconds=60)
    # the same session still acts: delete it from the page
    click(drv, "tr[data-key=after-restart] button[data-action=delete]")
    drv.switch_to.alert.accept()
    wait_for("the guest deleted", lambda: webd.call("GET", "/v1/domains/after-restart")[0] == 404)
    wait_for("the row gone", lambda: "after-restart" not in guest_rows(drv))
    assert by_css(drv, "#top")[0].get_attribute("hidden") is None  # never sent back to the login form
