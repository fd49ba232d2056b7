"""A real Chromium for the web UI's tests: Debian's chromium + chromium-driver
driven by python3-selenium, headless; screenshots into build/test-results/web/."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from weblib import RESULTS, skip_loudly, wait_for

CHROMIUM = "/usr/lib/chromium/chromium"
DRIVER = "/usr/bin/chromedriver"
DESKTOP = (1280, 900)
PHONE = (390, 844)


def trusting_home(ca):
    """A HOME whose NSS database (where Chromium on Linux looks) trusts the CA ca."""
    if shutil.which("certutil") is None:
        skip_loudly("certutil is not installed: install libnss3-tools (scripts/deps/web.txt)")
    home = tempfile.mkdtemp(prefix="stw-home")
    db = Path(home) / ".pki" / "nssdb"
    db.mkdir(parents=True)
    subprocess.run(["certutil", "-d", f"sql:{db}", "-N", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-d", f"sql:{db}", "-A", "-n", "strata-test-ca", "-t", "C,,", "-i", str(ca)],
                   check=True, capture_output=True)
    return home


def browser(size=DESKTOP, ca=None):
    """ca: a CA certificate the browser trusts (HTTPS tests); none: the system's."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        skip_loudly("python3-selenium is not installed (scripts/deps/web.txt)")
    for path in (CHROMIUM, DRIVER):
        if not Path(path).exists():
            skip_loudly(f"{path} is missing: install chromium and chromium-driver (scripts/deps/web.txt)")
    profile = tempfile.mkdtemp(prefix="stw-chrome")
    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={size[0]},{size[1]}", f"--user-data-dir={profile}", "--no-first-run"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    home = trusting_home(ca) if ca else None
    env = dict(os.environ, HOME=home) if home else None
    drv = webdriver.Chrome(service=Service(DRIVER, env=env), options=opts)
    drv.set_script_timeout(60)
    drv.strata_profile = profile
    drv.strata_home = home
    return drv


def quit(drv):
    try:
        drv.quit()
    finally:
        shutil.rmtree(drv.strata_profile, ignore_errors=True)
        if drv.strata_home:
            shutil.rmtree(drv.strata_home, ignore_errors=True)


def by_css(drv, css):
    from selenium.webdriver.common.by import By
    return drv.find_elements(By.CSS_SELECTOR, css)


def wait_css(drv, css, what=None, seconds=120):
    return wait_for(what or css, lambda: by_css(drv, css), seconds)[0]


def wait_text(drv, css, text, seconds=120):
    from selenium.common.exceptions import StaleElementReferenceException

    def found():
        try:
            return any(text in e.text for e in by_css(drv, css))
        except StaleElementReferenceException:  # redrawn between finding and reading: look again
            return False
    wait_for(f"{text!r} in {css}", found, seconds)


def login(drv, d, user, password):
    drv.get(d.origin + "/")
    wait_css(drv, "input[name=user]").send_keys(user)
    by_css(drv, "input[name=password]")[0].send_keys(password)
    by_css(drv, "form[aria-label='Log in'] button")[0].click()


def screenshot(drv, name, size=DESKTOP):
    RESULTS.mkdir(parents=True, exist_ok=True)
    drv.set_window_size(*size)
    kind = "phone" if size == PHONE else "desktop"
    # the page must have drawn at that width: its body is the window's width
    wait_for("the resize", lambda: abs(drv.execute_script("return window.innerWidth") - size[0]) < 40)
    drv.save_screenshot(str(RESULTS / f"{name}-{kind}.png"))


def console_errors(drv):
    """The page's console errors (a failed request the test makes on purpose is not one)."""
    return [e for e in drv.get_log("browser") if e["level"] == "SEVERE"]


def row_texts(drv, table_css):
    """{data-key: the row's text} of a table, read in one go (the page redraws rows as events come)."""
    return drv.execute_script("""
        const out = {};
        for (const tr of document.querySelectorAll(arguments[0] + ' tbody tr[data-key]'))
            out[tr.dataset.key] = tr.innerText;
        return out;""", table_css)


def click(drv, css, what=None):
    """Clicks the element css finds, again if the page redrew it in between."""
    from selenium.common.exceptions import StaleElementReferenceException

    def attempt():
        try:
            els = by_css(drv, css)
            if els:
                els[0].click()
                return True
        except StaleElementReferenceException:
            pass
        return None
    wait_for(what or f"a click on {css}", attempt)
