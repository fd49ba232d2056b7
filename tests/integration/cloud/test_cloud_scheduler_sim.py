"""`strata-cloud scheduler-sim`: the scheduler's real path over simulated hosts
in the real database (SQLite and PostgreSQL): its figures' format, claims
made by the requests (the removal counts them: each host i holds i % 5
instances beforehand, sim_hosts.c), hosts filling up, every simulated row
removed afterwards while a registered host stays untouched, a stop signal
still cleaning up, and bad options refused with one line."""
import os
import re
import signal
import sqlite3
import subprocess
import time

import pytest

from conftest import program

TABLES = ("compute_host", "compute_claim", "compute_claim_total", "compute_aggregate",
          "compute_aggregate_host", "compute_aggregate_metadata")
# a few hosts fill up after some requests without zones, aggregates or CPU features in the way
FILLING = ["--filters", "ComputeFilter, RamFilter, CoreFilter, DiskFilter", "--weighers", "RAMWeigher"]


def sim(*args, timeout=600):
    return subprocess.run([str(program("src", "cloud", "strata-cloud")), "scheduler-sim", *args],
                          capture_output=True, text=True, timeout=timeout)


def figures(out):
    """The report's numbers; fails the test when a line is missing or malformed."""
    ms = r"p50 ([\d.]+) ms, p99 ([\d.]+) ms, max ([\d.]+) ms"
    head = re.search(r"^scheduler-sim: (\d+) hosts in (.+), (\d+) filters, (\d+) weighers, (\d+) requests$",
                     out, re.M)
    counts = re.search(r"^  placed (\d+), no valid host (\d+), chosen host found full (\d+)$", out, re.M)
    rate = re.search(r"^  ([\d.]+) decisions per second$", out, re.M)
    total = re.search(r"^  decision \(host states \+ filters and weighers \+ claim\): " + ms + "$", out, re.M)
    removed = re.search(r"^  removed: (\d+) hosts, (\d+) aggregates, (\d+) claims \((\d+) made by the requests\)$",
                        out, re.M)
    assert head and counts and rate and total and removed, out
    for part in ("host states from the database", "filters and weighers", "claim in the database"):
        assert re.search(rf"^  {part}: {ms}$", out, re.M), out
    p50, p99, mx = map(float, total.groups())
    assert 0 < p50 <= p99 <= mx
    return {"hosts": int(head[1]), "where": head[2], "filters": int(head[3]), "weighers": int(head[4]),
            "requests": int(head[5]), "placed": int(counts[1]), "no_host": int(counts[2]),
            "rate": float(rate[1]), "removed": tuple(map(int, removed.groups()))}


def existing_claims(hosts):
    return sum(i % 5 for i in range(hosts))


def count_rows(query):
    return {t: int(query(f"SELECT COUNT(*) FROM {t}")) for t in TABLES}


def test_throwaway_sqlite_default():
    r = sim("--hosts", "40", "--requests", "30")
    assert r.returncode == 0, r.stderr
    f = figures(r.stdout)
    assert (f["hosts"], f["requests"], f["filters"], f["weighers"]) == (40, 30, 10, 4)
    assert f["placed"] > 0 and f["placed"] + f["no_host"] == 30
    assert f["removed"] == (40, 5, existing_claims(40) + f["placed"], f["placed"])
    where = re.fullmatch(r"a throwaway sqlite database \((/tmp/strata-cloud-sim-\w+)\)", f["where"])
    assert where, f["where"]
    assert not os.path.exists(where[1]), "the throwaway database was left behind"


def registered_host(db):
    """A host of the real cloud beside the simulation: it must stay, unclaimed."""
    db.execute("INSERT INTO compute_host (id, host, service_uuid, hypervisor_uuid, api_tcp, token, host_ip,"
               " last_seen_up, vcpus, memory_mb, memory_available_mb, local_gb, created_at)"
               " VALUES (1, 'real-1', 's1', 'h1', '127.0.0.1:1', 't', '127.0.0.1', ?, 1024, 4194304,"
               " 4194304, 100000, 1)", (int(time.time()),))
    db.commit()


def test_sqlite_state_fills_hosts_and_cleans_up(tmp_path):
    state = tmp_path / "s"
    r = sim("-d", str(state), "--hosts", "1", "--requests", "1")  # makes the tables
    assert r.returncode == 0, r.stderr
    db = sqlite3.connect(state / "cloud.db")
    registered_host(db)
    # 3 hosts (host 0 disabled and down; 1 and 2: 960 vCPUs with the x4 allocation ratio,
    # 5.5 TB of disk): 400 requests of 1 to 8 vCPUs and 10 to 39 GB fill them, then every
    # request finds no valid host
    r = sim("-d", str(state), "--hosts", "3", "--requests", "400", *FILLING)
    assert r.returncode == 0, r.stderr
    f = figures(r.stdout)
    assert (f["where"], f["filters"], f["weighers"]) == ("sqlite", 4, 1)
    assert 0 < f["placed"] < 400 and f["no_host"] == 400 - f["placed"], r.stdout
    assert f["removed"] == (3, 5, existing_claims(3) + f["placed"], f["placed"])
    rows = count_rows(lambda q: db.execute(q).fetchone()[0])
    assert rows == {"compute_host": 1, "compute_claim": 0, "compute_claim_total": 0, "compute_aggregate": 0,
                    "compute_aggregate_host": 0, "compute_aggregate_metadata": 0}, rows


def test_postgresql(postgres):
    url = postgres.new_database()
    dbname = url.split("dbname=")[1]
    try:
        r = sim("--db", url, "--hosts", "30", "--requests", "20")
        assert r.returncode == 0, r.stderr
        f = figures(r.stdout)
        assert f["where"] == "postgresql" and f["placed"] > 0
        assert f["removed"] == (30, 5, existing_claims(30) + f["placed"], f["placed"])
        r = sim("--db", url, "--hosts", "3", "--requests", "400", *FILLING)
        assert r.returncode == 0, r.stderr
        f = figures(r.stdout)
        assert 0 < f["placed"] < 400 and f["no_host"] == 400 - f["placed"], r.stdout
        assert f["removed"] == (3, 5, existing_claims(3) + f["placed"], f["placed"])
        rows = count_rows(lambda q: postgres.psql(dbname, q).strip())
        assert set(rows.values()) == {0}, rows
    finally:
        postgres.drop_database(url)


def test_stop_signal_still_cleans_up(tmp_path):
    state = tmp_path / "s"
    p = subprocess.Popen([str(program("src", "cloud", "strata-cloud")), "scheduler-sim", "-d", str(state),
                          "--hosts", "50", "--requests", "10000000"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = p.stdout.readline()  # printed once the rows are in
        assert re.match(r"scheduler-sim: 50 simulated hosts \(sim\w+-\*\) added in", first), first
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=300)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    # stopped (maybe before its first request ended), then cleaned up
    done = re.search(r"^scheduler-sim: 50 hosts in sqlite, 10 filters, 4 weighers, (\d+) requests$", out, re.M)
    assert done and int(done[1]) < 10000000, out
    assert re.search(r"^  removed: 50 hosts, 5 aggregates, \d+ claims", out, re.M), out
    db = sqlite3.connect(state / "cloud.db")
    assert set(count_rows(lambda q: db.execute(q).fetchone()[0]).values()) == {0}


@pytest.mark.parametrize("args, message", [
    (["--hosts", "0"], "--hosts must be 1 to 1000000"),
    (["--hosts", "many"], "--hosts must be 1 to 1000000"),
    (["--hosts", "1000001"], "--hosts must be 1 to 1000000"),
    (["--requests", "-3"], "--requests must be 1 to 10000000"),
    (["--requests"], "option --requests needs a value"),
    (["--filters", "RamFilter, NoSuchFilter"], '--filters: scheduler configuration: line 1: unknown name "NoSuchFilter"'),
    (["--weighers", "Heaviest"], '--weighers: scheduler configuration: line 1: unknown name "Heaviest"'),
    (["--scheduler-config", "/nonexistent/sched.conf"], "--scheduler-config: /nonexistent/sched.conf"),
    (["--frobnicate"], "unknown option --frobnicate"),
    (["extra"], "unexpected argument 'extra'"),
])
def test_bad_options(args, message):
    r = sim(*args, timeout=60)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r.stderr
    assert r.stdout == ""
