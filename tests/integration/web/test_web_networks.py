"""Networks from the page: create, start, stop, delete. stratad runs in its
own network namespace (unshare -n, as the host network tests do), so the
browser reaches its unix socket through a small TCP relay: what a reverse
proxy in front of stratad would be."""
import os
import shutil
import socket
import threading

import pytest

from browser import PHONE, browser, click, login, quit, row_texts, screenshot, wait_css, wait_text
from weblib import Stratad, cleanup, short_tmpdir, skip_loudly, users, wait_for  # noqa: F401


class Relay:
    """127.0.0.1:PORT -> the unix socket, byte for byte."""

    def __init__(self, unix_path):
        self.unix_path = unix_path
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            u = socket.socket(socket.AF_UNIX)
            u.connect(self.unix_path)
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.lsock.close()


@pytest.fixture
def netweb():
    for tool in ("unshare", "ip", "nft", "dnsmasq"):
        if not shutil.which(tool):
            skip_loudly(f"{tool} is not installed")
    if os.geteuid() != 0:
        skip_loudly("network tests need root (network namespaces, bridges)")
    d = Stratad(short_tmpdir(), wrapper=["unshare", "-n"]).start()
    relay = Relay(d.sock)
    d.origin = f"http://127.0.0.1:{relay.port}"
    yield d
    relay.close()
    cleanup(d)


def net_rows(drv):
    return row_texts(drv, "table[aria-label=Networks]")


def test_network_create_start_stop_delete(netweb, users):
    d = netweb
    name, password, _ = users.add(full_access=True)
    drv = browser()
    try:
        login(drv, d, name, password)
        wait_text(drv, "#access", "(full access)")
        drv.get(d.origin + "/#/networks")
        form = wait_css(drv, "form[aria-label='New network']")
        # the page checks the address before sending
        form.find_element("css selector", "input[name=name]").send_keys("webnet")
        form.find_element("css selector", "input[name=ip]").send_keys("not-an-address")
        form.find_element("css selector", "button[type=submit]").click()
        wait_for("the address's error", lambda: form.find_elements("css selector", ".field-error")[2].text)
        assert d.ok("GET", "/v1/networks") == []
        ip = form.find_element("css selector", "input[name=ip]")
        ip.clear()
        ip.send_keys("10.77.0.1/24")
        form.find_element("css selector", "input[name=dhcp_start]").send_keys("10.77.0.100")
        form.find_element("css selector", "input[name=dhcp_end]").send_keys("10.77.0.150")
        form.find_element("css selector", "button[type=submit]").click()
        wait_for("the network in the table", lambda: "webnet" in net_rows(drv))
        net = d.ok("GET", "/v1/networks/webnet")
        assert net["mode"] == "nat" and net["ip"] == "10.77.0.1/24" and net["active"] is False
        click(drv, "tr[data-key=webnet] button[data-action=start]")
        wait_for("active in the table", lambda: "\tactive\t" in net_rows(drv)["webnet"])
        assert d.ok("GET", "/v1/networks/webnet")["active"] is True
        click(drv, "tr[data-key=webnet] button")  # its leases
        wait_text(drv, "#leases", "Leases of webnet")
        screenshot(drv, "networks")
        screenshot(drv, "networks", PHONE)
        drv.set_window_size(1280, 900)
        click(drv, "tr[data-key=webnet] button[data-action=stop]")
        wait_for("inactive in the table", lambda: "\tinactive\t" in net_rows(drv)["webnet"])
        assert d.ok("GET", "/v1/networks/webnet")["active"] is False
        click(drv, "tr[data-key=webnet] button[data-action=delete]")
        drv.switch_to.alert.accept()
        wait_for("the network gone from the table", lambda: "webnet" not in net_rows(drv))
        assert d.ok("GET", "/v1/networks") == []
    finally:
        quit(drv)
