#!/usr/bin/env python3
"""strata-cloud's identity vs the real Keystone (Debian's keystone 22 on SQLite
under uwsgi, 4 processes of 1 thread: Keystone on SQLite with threads
answers "database is locked"; tests/integration/cloud/keystonelib.py), side by side in one run, through the same HTTP client:

  token issue/s   POST /identity/v3/auth/tokens (password, project scope),
                  after one issue (the first, printed apart, pays the password
                  hash; strata-cloud remembers a matched password for
                  --password-cache-time, so issue/s is also measured with
                  that off: every issue pays Argon2id, as Keystone's bcrypt)
  validate/s      GET /identity/v3/auth/tokens (X-Subject-Token, whole body)
                  both with their latency (median, p99), --clients concurrent
                  kept-alive connections for --seconds each
  openstack token issue   wall time of the real CLI (median of 3 runs)
  user list       with --users users (no password): GET /identity/v3/users
                  and `openstack user list` wall time. strata-cloud's are all
                  created through the API; Keystone's first --api-users too
                  (its create rate), the rest written into its SQLite as its
                  API writes them (user + local_user rows): at ~1-10 creates
                  a second, 10,000 through its API would take hours here

Targets (issue 15): validate >= 10x Keystone's, issue >= 5x.
The load comes from Python processes on the same machine as the servers, so
the absolute figures are what this client can drive; the ratios are the
point. --smoke: strata-cloud only, tiny sizes (the test command runs it).

usage: bench/cloud_identity.py [--build DIR] [--clients 8] [--seconds 10]
                               [--users 10000] [--api-users 100]
                               [--no-keystone] [--smoke]
"""
import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


def auth_body(password):
    return json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}})


class Client:
    """One kept-alive HTTP connection."""
    def __init__(self, url):
        u = urlsplit(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=300)

    def call(self, method, path, body=None, headers=None):
        h = {"Content-Type": "application/json", **(headers or {})}
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, r.headers, data


def worker(args):
    url, method, path, body, headers, seconds, expect = args
    c, lat = Client(url), []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.perf_counter()
        status, _, _ = c.call(method, path, body, headers)
        lat.append(time.perf_counter() - t)
        if status != expect:
            raise RuntimeError(f"{method} {path}: {status}, expected {expect}")
    return lat


def load(url, clients, seconds, method, path, body=None, headers=None, expect=200):
    """(requests per second, median ms, p99 ms) over clients processes."""
    with multiprocessing.Pool(clients) as pool:
        t = time.monotonic()
        lats = pool.map(worker, [(url, method, path, body, headers, seconds, expect)] * clients)
        elapsed = time.monotonic() - t
    all_lat = sorted(x for lat in lats for x in lat)
    p99 = all_lat[min(len(all_lat) - 1, int(len(all_lat) * 0.99))]
    return len(all_lat) / elapsed, statistics.median(all_lat) * 1e3, p99 * 1e3


def token(url, password):
    status, headers, _ = Client(url).call("POST", "/identity/v3/auth/tokens", auth_body(password))
    assert status == 201, status
    return headers["X-Subject-Token"]


def create_users(url, tok, n, clients, first=0):
    def some(i):
        c = Client(url)
        for k in range(first + i, n, clients):
            body = json.dumps({"user": {"name": f"bench-user-{k:05d}", "domain_id": "default"}})
            status, _, data = c.call("POST", "/identity/v3/users", body, {"X-Auth-Token": tok})
            if status != 201:
                raise RuntimeError(f"user create: {status} {data[:200]}")
    t = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(some, range(clients)))
    return (n - first) / (time.monotonic() - t)


def keystone_users_by_sql(db_path, first, n):
    """Users first..n-1 as Keystone's API writes a user without a password."""
    import sqlite3
    import uuid
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    ids = [(uuid.uuid4().hex, f"bench-user-{k:05d}") for k in range(first, n)]
    with sqlite3.connect(db_path, timeout=120) as db:
        db.executemany("INSERT INTO user (id, domain_id, enabled, extra, created_at)"
                       " VALUES (?, 'default', 1, '{}', ?)", [(i, now) for i, _ in ids])
        db.executemany("INSERT INTO local_user (user_id, domain_id, name)"
                       " VALUES (?, 'default', ?)", ids)


def openstack_wall(side, *args, runs=3):
    times, out = [], None
    for _ in range(runs):
        t = time.monotonic()
        out = side.openstack(*args, fmt_json=False)
        times.append(time.monotonic() - t)
    return statistics.median(times), out.stdout


def first_issue(name, side, password):
    t = time.perf_counter()
    token(side.url, password)
    first = time.perf_counter() - t
    print(f"{name:9} first token issue: {first * 1e3:.1f} ms", flush=True)
    return first


def measure(name, side, password, a, users_by_sql=None):
    print(f"== {name} at {side.url}", flush=True)
    r = {}
    body = auth_body(password)
    r["first_issue"] = first_issue(name, side, password)
    r["issue"] = load(side.url, a.clients, a.seconds, "POST", "/identity/v3/auth/tokens", body,
                      expect=201)
    tok = token(side.url, password)
    hdr = {"X-Auth-Token": tok, "X-Subject-Token": tok}
    r["validate"] = load(side.url, a.clients, a.seconds, "GET", "/identity/v3/auth/tokens",
                         headers=hdr)
    for what in ("issue", "validate"):
        rate, med, p99 = r[what]
        print(f"{name:9} token {what:8}: {rate:8.1f}/s  median {med:7.2f} ms  p99 {p99:7.2f} ms",
              flush=True)
    r["cli_issue"], _ = openstack_wall(side, "token", "issue", "-f", "value", "-c", "id")
    print(f"{name:9} openstack token issue: {r['cli_issue']:.2f} s (median of 3)", flush=True)
    through_api = min(a.users, a.api_users) if users_by_sql else a.users
    r["user_create"] = create_users(side.url, tok, through_api, a.clients)
    print(f"{name:9} user create ({through_api}, no password): {r['user_create']:.1f}/s",
          flush=True)
    if through_api < a.users:
        users_by_sql(through_api, a.users)
        print(f"{name:9} users {through_api}..{a.users - 1} written into its database",
              flush=True)
    c, times = Client(side.url), []
    for _ in range(3):
        t = time.perf_counter()
        status, _, data = c.call("GET", "/identity/v3/users", headers={"X-Auth-Token": tok})
        times.append(time.perf_counter() - t)
        assert status == 200 and len(json.loads(data)["users"]) == a.users + 1
    r["user_list"] = statistics.median(times)
    r["cli_user_list"], out = openstack_wall(side, "user", "list", "-f", "value", "-c", "ID", runs=1)
    assert len(out.split()) == a.users + 1, len(out.split())
    print(f"{name:9} GET /v3/users with {a.users + 1} users: {r['user_list'] * 1e3:.1f} ms "
          f"(median of 3); openstack user list: {r['cli_user_list']:.2f} s", flush=True)
    return r


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default=str(ROOT / "build"))
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--users", type=int, default=10000)
    p.add_argument("--api-users", type=int, default=100)
    p.add_argument("--no-keystone", action="store_true")
    p.add_argument("--smoke", action="store_true")
    a = p.parse_args()
    if a.smoke:
        a.clients, a.seconds, a.users, a.no_keystone = 2, 1, 20, True
    os.environ["STRATA_BUILD"] = str(Path(a.build).resolve())
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "integration" / "cloud")]
    from cloudlib import ADMIN_PASSWORD, Cloud
    from keystonelib import Keystone

    ours = Cloud()
    ours.bootstrap()
    ours.start()
    try:
        mine = measure("strata", ours, ADMIN_PASSWORD, a)
    finally:
        ours.stop()
    cold = Cloud(extra_args=["--password-cache-time", "0"])
    cold.bootstrap()
    cold.start()
    try:
        first_issue("strata", cold, ADMIN_PASSWORD)
        mine["issue_cold"] = load(cold.url, a.clients, a.seconds, "POST",
                                  "/identity/v3/auth/tokens", auth_body(ADMIN_PASSWORD),
                                  expect=201)
        rate, med, p99 = mine["issue_cold"]
        print(f"strata    token issue, no password cache: {rate:8.1f}/s  median {med:7.2f} ms"
              f"  p99 {p99:7.2f} ms", flush=True)
    finally:
        cold.stop()
    if a.no_keystone:
        return 0
    why = Keystone.missing()
    if why:
        print(f"bench: no Keystone to compare with: {why}")
        return 1
    ks = Keystone(processes=4, threads=1)
    try:
        ks.setup()
        ks.start()

        class Side(Cloud):
            def __init__(self):
                super().__init__()
                self.url = ks.url
        theirs = measure("keystone", Side(), ADMIN_PASSWORD, a,
                         lambda first, n: keystone_users_by_sql(ks.tmp / "keystone.db", first, n))
    finally:
        ks.stop()
    print("== ratios (strata / keystone; for times keystone / strata)")
    for what, theirs_what, target in (("issue", "issue", 5), ("validate", "validate", 10),
                                      ("issue_cold", "issue", None)):
        ratio = mine[what][0] / theirs[theirs_what][0]
        verdict = f"target >= {target}x: {'met' if ratio >= target else 'NOT met'}" if target \
            else "every issue paying its password hash on both sides"
        print(f"token {what:10}: {ratio:6.1f}x  ({verdict})")
    for what in ("first_issue", "cli_issue", "user_list", "cli_user_list"):
        print(f"{what:13}: {theirs[what] / mine[what]:6.1f}x faster")
    print(f"user create  : {mine['user_create'] / theirs['user_create']:6.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
