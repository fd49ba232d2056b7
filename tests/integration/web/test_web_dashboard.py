"""The dashboard: GET /v1/host/stats (samples from /proc a second apart, the
guests by state) and the page's live uPlot charts in a real Chromium."""
import pytest

from browser import DESKTOP, PHONE, browser, by_css, console_errors, login, quit, screenshot, wait_css, wait_text
from weblib import users, wait_for, webd  # noqa: F401


def define_guest(d, name, tmp_path):
    kernel = tmp_path / "kernel.bin"
    kernel.write_bytes(b"\0" * 4096)
    d.ok("POST", "/v1/domains", {"name": name, "memory_mib": 32, "vcpus": 1, "os": {"kernel": str(kernel)}})


def mem_total():
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no MemTotal in /proc/meminfo")


def test_host_stats_api(webd, tmp_path):
    s = wait_for("three samples",
                 lambda: (lambda r: r if len(r["t"]) >= 3 else None)(webd.ok("GET", "/v1/host/stats")), seconds=60)
    assert s["interval_ms"] == 1000
    n = len(s["t"])
    assert all(len(s[k]) == n for k in ("cpu", "mem_total", "mem_used", "disk_read", "disk_write", "net_rx",
                                         "net_tx"))
    assert s["t"] == sorted(set(s["t"]))  # one sample each, oldest first
    assert all(0 <= c <= 1 for c in s["cpu"])
    assert set(s["mem_total"]) == {mem_total()}
    assert all(0 < u <= mem_total() for u in s["mem_used"])
    assert all(v >= 0 for k in ("disk_read", "disk_write", "net_rx", "net_tx") for v in s[k])
    assert s["guests"] == {"running": 0, "paused": 0, "shutoff": 0}
    # ?since= gives only what is newer
    later = webd.ok("GET", f"/v1/host/stats?since={s['t'][-2]}")
    assert later["t"][0] == s["t"][-1] and all(t > s["t"][-2] for t in later["t"])
    define_guest(webd, "g1", tmp_path)
    define_guest(webd, "g2", tmp_path)
    assert webd.ok("GET", "/v1/host/stats")["guests"] == {"running": 0, "paused": 0, "shutoff": 2}
    status, body = webd.call("GET", "/v1/host/stats?since=soon")
    assert status == 400 and "since" in body["error"]["message"]


@pytest.fixture
def chrome():
    made = []
    yield lambda: made.append(browser()) or made[-1]
    for drv in made:
        quit(drv)


def test_dashboard_live(webd, users, chrome, tmp_path):
    pool = tmp_path / "pool"
    pool.mkdir()
    webd.ok("POST", "/v1/pools", {"name": "images", "type": "dir", "path": str(pool)})
    name, password, _ = users.add(full_access=False)  # read-only users see the dashboard too
    drv = chrome()
    login(drv, webd, name, password)
    wait_text(drv, "#who", name)
    drv.get(webd.origin + "/#/dashboard")
    for chart in ("cpu", "memory", "disk", "network"):
        wait_css(drv, f"#chart-{chart} canvas", f"the {chart} chart")
    wait_text(drv, "#count-shutoff", "0 shutoff")
    first = int(by_css(drv, "#chart-cpu")[0].get_attribute("data-samples"))
    # live: new samples arrive without a reload
    wait_for("two more samples in the chart",
             lambda: int(by_css(drv, "#chart-cpu")[0].get_attribute("data-samples")) >= first + 2, seconds=60)
    define_guest(webd, "g1", tmp_path)
    wait_text(drv, "#count-shutoff", "1 shutoff")
    assert "images" in by_css(drv, "#pool-fill")[0].text
    assert "of" in by_css(drv, "#stats-now")[0].text
    screenshot(drv, "dashboard")
    screenshot(drv, "dashboard", PHONE)
    drv.set_window_size(*DESKTOP)
    assert console_errors(drv) == []
    # leaving the page stops its polling: no more requests after the charts are gone
    drv.get(webd.origin + "/#/guests")
    wait_css(drv, "table[aria-label=Guests]")
    assert by_css(drv, "#chart-cpu") == []
