"""1,000 defined guests (defining needs no /dev/kvm): the guests page shows
one page of rows at a time, pages through them, filters and sorts over all
of them, and keeps up with a live change: behaviour, not timing."""
from browser import browser, by_css, click, login, quit, row_texts, wait_css, wait_text
from weblib import users, wait_for, webd  # noqa: F401

N = 1000
PAGE = 50


def rows(drv):
    return row_texts(drv, "table[aria-label=Guests]")


def order(drv):
    """The rows' keys in the order shown."""
    return drv.execute_script("return [...document.querySelectorAll("
                              "'table[aria-label=Guests] tbody tr[data-key]')].map((tr) => tr.dataset.key)")


def pager(drv):
    return by_css(drv, ".pager-where")[0].text


def typed(box, text):
    """Replaces what the box holds as a user does: select all, delete, type."""
    from selenium.webdriver.common.keys import Keys
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE)
    if text:
        box.send_keys(text)


def test_thousand_guests_paged_and_filtered(webd, users, tmp_path):
    kernel = tmp_path / "kernel.bin"
    kernel.write_bytes(b"\0" * 4096)
    for i in range(N):
        webd.ok("POST", "/v1/domains", {"name": f"g{i:04d}", "memory_mib": 32, "vcpus": 1,
                                        "os": {"kernel": str(kernel)}})
    assert len(webd.ok("GET", "/v1/domains")) == N
    name, password, _ = users.add(full_access=True)
    drv = browser()
    try:
        login(drv, webd, name, password)
        wait_text(drv, "#guest-count", f"({N})")
        wait_for("the first page", lambda: pager(drv) == f"1–{PAGE} of {N}")
        assert sorted(rows(drv)) == [f"g{i:04d}" for i in range(PAGE)]  # one page in the document
        click(drv, ".pager-next")
        wait_for("the second page", lambda: pager(drv) == f"{PAGE + 1}–{2 * PAGE} of {N}")
        assert sorted(rows(drv)) == [f"g{i:04d}" for i in range(PAGE, 2 * PAGE)]
        # a change while on page 2: the table follows it and stays on page 2
        webd.ok("DELETE", "/v1/domains/g0000")
        wait_text(drv, "#guest-count", f"({N - 1})")
        wait_for("page 2 of 999", lambda: pager(drv) == f"{PAGE + 1}–{2 * PAGE} of {N - 1}")
        assert sorted(rows(drv)) == [f"g{i:04d}" for i in range(PAGE + 1, 2 * PAGE + 1)]
        # the filter searches every guest, not only the page shown; it starts at page 1
        box = by_css(drv, "input[aria-label='Filter Guests']")[0]
        typed(box, "g0999")
        wait_for("the filtered row", lambda: list(rows(drv)) == ["g0999"])
        assert by_css(drv, ".pager")[0].get_attribute("hidden") is not None  # one page: no pager
        typed(box, "g098")
        wait_for("ten rows", lambda: sorted(rows(drv)) == [f"g{i:04d}" for i in range(980, 990)])
        typed(box, "")
        wait_for("all of them again", lambda: pager(drv) == f"1–{PAGE} of {N - 1}")
        # sorted by name already: a click on its header turns the order round
        click(drv, "table[aria-label=Guests] th button.sort")
        wait_for("g0999 first", lambda: order(drv)[:3] == ["g0999", "g0998", "g0997"])
        # the last page holds the rest
        for _ in range((N - 1) // PAGE):
            click(drv, ".pager-next")
        wait_for("the last page", lambda: pager(drv) == f"{(N - 1) // PAGE * PAGE + 1}–{N - 1} of {N - 1}")
        assert by_css(drv, ".pager-next")[0].get_attribute("disabled") is not None
        # and a row's link works: its page shows its definition
        click(drv, "tr[data-key=g0001] a")
        wait_text(drv, "#definition", '"name": "g0001"')
        wait_css(drv, "#definition")
    finally:
        quit(drv)
