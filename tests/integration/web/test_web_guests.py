"""The guests page's bulk actions and a defined guest's disks (attach from a
pool volume, detach) in a real Chromium; each checked through the API too.
Running guests need /dev/kvm: bulk start is checked for its per-guest
results (refused without a usable KVM), not for a started guest."""
import pytest

from browser import browser, by_css, click, login, quit, row_texts, wait_css, wait_text
from weblib import users, wait_for, webd  # noqa: F401


@pytest.fixture
def chrome():
    made = []
    yield lambda: made.append(browser()) or made[-1]
    for drv in made:
        quit(drv)


def define(d, name, tmp_path):
    kernel = tmp_path / "kernel.bin"
    kernel.write_bytes(b"\0" * 4096)
    d.ok("POST", "/v1/domains", {"name": name, "memory_mib": 32, "vcpus": 1, "os": {"kernel": str(kernel)}})


def test_bulk_delete_of_a_selection(webd, users, chrome, tmp_path):
    for n in ("b1", "b2", "b3", "b5"):
        define(webd, n, tmp_path)
    name, password, _ = users.add(full_access=True)
    drv = chrome()
    login(drv, webd, name, password)
    wait_for("four rows", lambda: len(row_texts(drv, "table[aria-label=Guests]")) == 4)
    assert by_css(drv, "#bulk")[0].get_attribute("hidden") is not None  # nothing selected: no bar
    for n in ("b1", "b3", "b5"):
        click(drv, f"input[aria-label='Select {n}']")
    wait_text(drv, "#bulk-count", "3 selected")
    click(drv, "#bulk button[data-bulk=delete]")
    drv.switch_to.alert.accept()
    wait_text(drv, "#bulk-status", "delete: 3 of 3 done")
    assert [d["name"] for d in webd.ok("GET", "/v1/domains")] == ["b2"]
    wait_for("only b2 left", lambda: list(row_texts(drv, "table[aria-label=Guests]")) == ["b2"])
    wait_for("the bar gone (selection gone)", lambda: by_css(drv, "#bulk")[0].get_attribute("hidden") is not None)
    # a bulk action some guests refuse: each result counted, the failures named
    define(webd, "b4", tmp_path)
    wait_for("b4 in the table", lambda: len(row_texts(drv, "table[aria-label=Guests]")) == 2)
    for n in ("b2", "b4"):
        click(drv, f"input[aria-label='Select {n}']")
    click(drv, "#bulk button[data-bulk=shutdown]")  # neither runs: both refused
    wait_text(drv, "#bulk-status", "shutdown: 0 of 2 done; failed: b2:")
    assert "b4:" in by_css(drv, "#bulk-status")[0].text
    assert {d["state"] for d in webd.ok("GET", "/v1/domains")} == {"shutoff"}


def test_attach_and_detach_a_disk(webd, users, chrome, tmp_path):
    pool = tmp_path / "pool"
    pool.mkdir()
    webd.ok("POST", "/v1/pools", {"name": "images", "type": "dir", "path": str(pool)})
    webd.ok("POST", "/v1/pools/images/volumes", {"name": "data1", "capacity": "16M", "format": "qcow2"})
    define(webd, "g", tmp_path)
    name, password, _ = users.add(full_access=True)
    drv = chrome()
    login(drv, webd, name, password)
    drv.get(webd.origin + "/#/guests/g")
    form = wait_css(drv, "form[aria-label='Attach a disk to g']")
    # a bad target is caught before sending
    form.find_element("css selector", "input[name=target]").send_keys("sda")
    form.find_element("css selector", "button[type=submit]").click()
    wait_for("the field's error", lambda: by_css(drv, "form[aria-label='Attach a disk to g'] .field-error")[1].text)
    assert "disks" not in webd.ok("GET", "/v1/domains/g")["definition"] or \
        webd.ok("GET", "/v1/domains/g")["definition"]["disks"] == []
    form = by_css(drv, "form[aria-label='Attach a disk to g']")[0]
    box = form.find_element("css selector", "input[name=target]")
    box.clear()
    box.send_keys("vdb")
    form.find_element("css selector", "button[type=submit]").click()
    wait_for("vdb in the disks table", lambda: "vdb" in row_texts(drv, "table[aria-label=Disks]"))
    disks = webd.ok("GET", "/v1/domains/g")["definition"]["disks"]
    assert [(d["target"], d["pool"], d["volume"]) for d in disks] == [("vdb", "images", "data1")]
    click(drv, "tr[data-key=vdb] button[data-action=detach]")
    drv.switch_to.alert.accept()
    wait_for("the disk detached", lambda: not webd.ok("GET", "/v1/domains/g")["definition"].get("disks"))
    wait_css(drv, "#disks p.muted", "'No disks' on the page")
