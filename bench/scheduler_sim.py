#!/usr/bin/python3
"""Issue 17's scheduler benchmark: `strata-cloud scheduler-sim` (the real path:
host states from the database, 10 filters, 4 weighers, the atomic claim) at
100, 1,000 and 10,000 hosts on SQLite and on a throwaway PostgreSQL, beside
the library alone (build/bench/scheduler-bench, no database) and Nova's own
filter and weigher handlers over the same number of hosts
(bench/nova_scheduler.py, when Debian's python3-nova is installed).

    bench/scheduler_sim.py [--build build] [--requests 200] [--hosts 100,1000,10000] [--no-postgresql]

Target (issue 17): a decision over 10,000 hosts with 10 filters and 4 weighers
<= 20 ms p99. docs/cloud.md ("Scheduler benchmark") has the figures and what
Nova's side is and is not."""
import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(cmd, timeout=3600):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        sys.exit(f"scheduler_sim.py: {' '.join(map(str, cmd))} failed: {r.stderr.strip()}")
    return r.stdout


def parse(out, *labels):
    """{label: (p50, p99)} of the report's 'label: p50 X ms, p99 Y ms' lines, and its rate."""
    got = {}
    for label in labels:
        m = re.search(re.escape(label) + r": p50 ([\d.]+) ms, p99 ([\d.]+) ms", out)
        got[label] = (float(m[1]), float(m[2])) if m else None
    m = re.search(r"([\d.]+) decisions per second", out)
    got["rate"] = float(m[1]) if m else None
    return got


SIM = ("decision (host states + filters and weighers + claim)", "host states from the database",
       "filters and weighers", "claim in the database", "this process's CPU per decision")


def row(name, hosts, fig, keys):
    cells = [f"{fig['rate']:.1f}" if fig.get("rate") else "-"]
    for k in keys:
        v = fig.get(k)
        cells.append(f"{v[0]:.2f} / {v[1]:.2f}" if v else "-")
    print(f"| {name} | {hosts} | " + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--hosts", default="100,1000,10000")
    ap.add_argument("--no-postgresql", action="store_true")
    a = ap.parse_args()
    cloud = Path(a.build) / "src" / "cloud" / "strata-cloud"
    bench = Path(a.build) / "bench" / "scheduler-bench"
    sizes = [int(h) for h in a.hosts.split(",")]
    pg = None
    if not a.no_postgresql:
        sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "integration" / "cloud")]
        try:
            import pglib
            pg = pglib.PostgresCluster()
            pg.start()
        except Exception as e:  # noqa: BLE001 (the bench goes on with SQLite)
            print(f"PostgreSQL not measured: {e}")
            pg = None
    print(f"load average before: {os.getloadavg()[0]:.1f} (2 cores shared with the other engineers)")
    print("| what | hosts | decisions/s | decision p50 / p99 ms | host states | filters+weighers | claim | CPU |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    try:
        for n in sizes:
            out = run([cloud, "scheduler-sim", "--hosts", str(n), "--requests", str(a.requests)])
            row("scheduler-sim, SQLite", n, parse(out, *SIM), SIM)
            if pg:
                url = pg.new_database()
                try:
                    out = run([cloud, "scheduler-sim", "--db", url, "--hosts", str(n), "--requests",
                               str(a.requests)])
                finally:
                    pg.drop_database(url)
                row("scheduler-sim, PostgreSQL", n, parse(out, *SIM), SIM)
            out = run([bench, "--hosts", str(n), "--requests", str(a.requests)])
            lib = parse(out, "wall per decision", "CPU  per decision")
            row("library alone (scheduler-bench)", n,
                {"rate": lib["rate"], "w": lib["wall per decision"], "s": lib["wall per decision"],
                 "c": lib["CPU  per decision"]}, ("w", "-", "s", "-", "c"))
            nova = ROOT / "bench" / "nova_scheduler.py"
            r = subprocess.run(["/usr/bin/python3", nova, "--hosts", str(n), "--requests",
                                str(min(a.requests, 50))], capture_output=True, text=True, timeout=3600)
            if r.returncode == 0:
                nv = parse(r.stdout, "wall per decision", "CPU per decision")
                row("Nova 26 filters+weighers (python3-nova)", n,
                    {"rate": nv["rate"], "w": nv["wall per decision"], "s": nv["wall per decision"],
                     "c": nv["CPU per decision"]}, ("w", "-", "s", "-", "c"))
            else:
                print(f"| Nova: NOT MEASURED | {n} | {r.stderr.strip().splitlines()[-1] if r.stderr else '?'} |")
    finally:
        if pg:
            pg.stop()
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
