"""Page after page in one browser: every load completes. The page keeps an
event stream (SSE) open; Chromium keeps a page it navigates away from alive
for a while (the back/forward cache) with its connections, and allows only 6
HTTP/1.1 connections per host. With each left page still holding its stream,
the 7th load waited ~57 s for a free connection (bench/web-guests.py's worst
load). The page now closes its stream on pagehide and opens it again when it
comes back from that cache. Behaviour, not timing: each load must finish
before a deadline far above a normal load and below the stall."""
from browser import browser, by_css, login, quit, wait_text
from weblib import users, wait_for, webd  # noqa: F401

LOADS = 9          # > 6 connections per host, with the login page's stream
DEADLINE_S = 40    # a load takes < 2 s here (even with both cores busy); the stall was ~57 s


def test_consecutive_loads_each_complete(webd, users, tmp_path):
    kernel = tmp_path / "kernel.bin"
    kernel.write_bytes(b"\0" * 4096)
    webd.ok("POST", "/v1/domains", {"name": "reload-g", "memory_mib": 32, "vcpus": 1,
                                    "os": {"kernel": str(kernel)}})
    name, password, _ = users.add(full_access=True)
    drv = browser()
    try:
        drv.set_page_load_timeout(DEADLINE_S)
        login(drv, webd, name, password)
        wait_text(drv, "#access", "(full access)")
        wait_text(drv, "#guest-count", "(1)")
        for i in range(LOADS):
            # a new document each time (the query differs); a stall raises TimeoutException
            drv.get(f"{webd.origin}/?load={i}#/guests")
            wait_text(drv, "#guest-count", "(1)", seconds=DEADLINE_S)
        # the last page still follows the host live: its stream is open
        webd.ok("DELETE", "/v1/domains/reload-g")
        wait_text(drv, "#guest-count", "(0)", seconds=DEADLINE_S)
        # and back: the page from the cache reconnects its stream and reloads what it missed
        webd.ok("POST", "/v1/domains", {"name": "reload-h", "memory_mib": 32, "vcpus": 1,
                                        "os": {"kernel": str(kernel)}})
        drv.back()
        wait_for("the page shown again lists the guest defined while it was away",
                 lambda: "reload-h" in " ".join(e.text for e in by_css(drv, "table[aria-label=Guests] tbody")),
                 seconds=DEADLINE_S)
        webd.ok("DELETE", "/v1/domains/reload-h")
        wait_text(drv, "#guest-count", "(0)", seconds=DEADLINE_S)
    finally:
        quit(drv)
