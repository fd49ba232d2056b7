#!/usr/bin/python3
"""Time to usable of the web UI's guests page with 10 and 1,000 defined
guests, in Debian's headless Chromium: from the navigation's start to the
frame where the guest count shows N and the first page of rows is drawn
(measured in the page: performance.now() in a requestAnimationFrame loop).
Each size is loaded --runs times (a reload each) after one warm-up; the
median and the worst are printed beside the figures of the previous run,
kept in bench/web-guests.last.json (written again at the end).

usage: sudo bench/web-guests.py [--runs R] [--build DIR] [--sizes 10,1000]
Root: the login is a throwaway host account (PAM), removed afterwards.
Issue 18's goal: every page under 300 ms to usable with 1,000 guests."""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAST = ROOT / "bench" / "web-guests.last.json"
USABLE_JS = """
const [n, rows, done] = arguments;
function check() {
  const count = document.querySelector('#guest-count');
  const drawn = document.querySelectorAll('table[aria-label=Guests] tbody tr[data-key]').length;
  if (count && count.textContent === `(${n})` && drawn === rows) done(performance.now());
  else requestAnimationFrame(check);
}
check();
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--sizes", default="10,1000")
    a = ap.parse_args()
    os.environ["STRATA_BUILD"] = a.build
    for p in ("tests", "tests/integration/host", "tests/integration/web"):
        sys.path.insert(0, str(ROOT / p))
    from browser import browser, login, quit, wait_text  # noqa: E402
    from weblib import HostUsers, WebStratad, cleanup, short_tmpdir  # noqa: E402

    users = HostUsers()
    d = WebStratad(short_tmpdir()).start()
    drv = None
    results = {}
    try:
        kernel = d.state_dir / "kernel.bin"
        kernel.write_bytes(b"\0" * 4096)
        name, password, _ = users.add(full_access=True)
        drv = browser()
        drv.set_script_timeout(120)
        login(drv, d, name, password)
        wait_text(drv, "#access", "(full access)")
        defined = 0
        for n in sorted(int(x) for x in a.sizes.split(",")):
            t0 = time.time()
            for i in range(defined, n):
                d.ok("POST", "/v1/domains", {"name": f"g{i:04d}", "memory_mib": 32, "vcpus": 1,
                                              "os": {"kernel": str(kernel)}})
            defined = n
            define_s = time.time() - t0
            times = []
            for run in range(a.runs + 1):
                drv.get(f"{d.origin}/?load={n}-{run}#/guests")  # a new document each time
                ms = drv.execute_async_script(USABLE_JS, n, min(n, 50))
                if run:  # the first load warms the caches
                    times.append(ms)
            results[str(n)] = {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1),
                               "runs": len(times)}
            print(f"{n:5d} guests defined in {define_s:.1f} s; guests page usable: median "
                  f"{results[str(n)]['median_ms']} ms, worst {results[str(n)]['max_ms']} ms ({len(times)} loads)")
    finally:
        if drv:
            quit(drv)
        cleanup(d)
        users.remove()
    last = json.loads(LAST.read_text()) if LAST.exists() else None
    print("\nguests | this run (median / worst ms) | previous run (median / worst ms)")
    for n, r in results.items():
        p = (last or {}).get("results", {}).get(n)
        prev = f"{p['median_ms']} / {p['max_ms']}" if p else "(none)"
        print(f"{n:>6} | {r['median_ms']} / {r['max_ms']} | {prev}")
    if last:
        print(f"(previous run: {last.get('when')}, load average then {last.get('load')})")
    LAST.write_text(json.dumps({"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                "load": round(os.getloadavg()[0], 1), "results": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
