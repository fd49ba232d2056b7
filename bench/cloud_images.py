#!/usr/bin/env python3
"""strata-cloud's Image service vs Debian's glance-api, side by side in one
run, the same workload through the same client code (issue 16's benchmark):

  upload    POST /v2/images, then PUT .../file of an N MiB file (random data,
            streamed from disk with a Content-Length)
  download  GET .../file, read to the end
  create    M more images (metadata only: two tags, one extra property)
  list      GET /v2/images: the first page (limit 25 and 1000), a tag filter,
            an extra-property filter, a name filter, sorted by name; the
            median of R runs each; and every page, 25 at a time, following
            "next" as the CLI's `image list` does (the median of 3 runs)

with a plain copy of the same file (dd, fsync'd) as the disk's speed, and
the CPU time each service used for the upload and the download (its whole
process group: glance-api's parent and worker). Both
services keep their data on the same file system and their records in
SQLite. glance-api runs with its file store, one worker and no
authentication (paste flavor ""); strata-cloud with a token, as a client
sees it. Prints each figure and the ratios (>1: strata-cloud is faster).

Issue 16's targets are printed with the figures: upload and download at
>= 90% of the disk copy's speed, the list >= 5x glance-api. Its list case is
--images 10000 (each service then takes minutes to create them).

usage: bench/cloud_images.py [--build DIR] [--size-mib N] [--images M]
                             [--runs R] [--dir SCRATCH]"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-admin-pw"
CHUNK = 1 << 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_answering(proc, port, path, log, seconds=300):
    deadline = time.monotonic() + seconds
    while True:
        if proc.poll() is not None:
            sys.exit(f"the server exited ({proc.returncode}):\n{Path(log).read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"the server did not answer in {seconds} s: {log}")
            time.sleep(0.5)


def group_cpu(pgid):
    """CPU seconds (user + system) used so far by the processes of a group."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(f[2]) == pgid:
            total += int(f[11]) + int(f[12])
    return total / os.sysconf("SC_CLK_TCK")


class Target:
    """One Image service: where it listens, its path prefix, its headers;
    pgid: its process group (its own session), for its CPU time."""
    def __init__(self, name, port, prefix, headers, pgid):
        self.name, self.port, self.prefix, self.headers = name, port, prefix, headers
        self.pgid = pgid
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        """(status, parsed JSON or None) on a kept-alive connection."""
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
            try:
                data = json.dumps(body) if body is not None else None
                hdrs = {**self.headers, **({"Content-Type": "application/json"} if data else {}),
                        **(headers or {})}
                self.conn.request(method, self.prefix + path, body=data, headers=hdrs)
                r = self.conn.getresponse()
                text = r.read()
                return r.status, json.loads(text) if text else None
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise

    def create(self, **fields):
        status, img = self.request("POST", "/v2/images", {
            "disk_format": "raw", "container_format": "bare", **fields})
        assert status == 201, (self.name, status, img)
        return img["id"]

    def upload(self, image_id, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=3600)
        size = os.path.getsize(path)
        conn.putrequest("PUT", f"{self.prefix}/v2/images/{image_id}/file")
        for k, v in {**self.headers, "Content-Type": "application/octet-stream",
                     "Content-Length": str(size)}.items():
            conn.putheader(k, v)
        conn.endheaders()
        with open(path, "rb") as f:
            while True:
                buf = f.read(CHUNK)
                if not buf:
                    break
                conn.send(buf)
        r = conn.getresponse()
        text = r.read()
        conn.close()
        assert r.status == 204, (self.name, r.status, text[:300])

    def download(self, image_id):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=3600)
        conn.request("GET", f"{self.prefix}/v2/images/{image_id}/file", headers=self.headers)
        r = conn.getresponse()
        assert r.status == 200, (self.name, r.status)
        n = 0
        while True:
            buf = r.read(CHUNK)
            if not buf:
                break
            n += len(buf)
        conn.close()
        return n


def start_strata(build, scratch, port):
    prog = Path(build) / "src" / "cloud" / "strata-cloud"
    state = scratch / "strata-state"
    pw = scratch / "strata-admin-pw"
    pw.write_text(PASSWORD + "\n")
    subprocess.run([prog, "bootstrap", "-d", state, "--admin-password-file", pw, "--public-url",
                    f"http://127.0.0.1:{port}"], check=True, capture_output=True)
    log = scratch / "strata.log"
    # its own session, as glance-api's: the scheduler's autogroups then give
    # each service the same share of a busy machine
    proc = subprocess.Popen([prog, "serve", "-d", state, "--listen", f"127.0.0.1:{port}"],
                            stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    wait_answering(proc, port, "/identity/v3", log)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/identity/v3/auth/tokens", json.dumps({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"name": "Default"}, "password": PASSWORD}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}),
        {"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    assert r.status == 201, r.status
    return proc, Target("strata-cloud", port, "/image",
                        {"X-Auth-Token": r.getheader("X-Subject-Token")}, proc.pid)


def start_glance(scratch, port):
    if not shutil.which("glance-api"):
        return None, None
    d = scratch / "glance"
    (d / "data").mkdir(parents=True)
    conf = d / "glance-api.conf"
    conf.write_text(f"""[DEFAULT]
bind_host = 127.0.0.1
bind_port = {port}
workers = 1
log_file = {d}/glance-api.log
[database]
connection = sqlite:///{d}/glance.sqlite
[paste_deploy]
flavor =
config_file = /etc/glance/glance-api-paste.ini
[glance_store]
stores = file
default_store = file
filesystem_store_datadir = {d}/data/
[oslo_concurrency]
lock_path = {d}/lock
""")
    subprocess.run(["glance-manage", "--config-file", conf, "db_sync"], check=True,
                   capture_output=True)
    log = d / "out.log"
    proc = subprocess.Popen(["glance-api", "--config-file", conf], stdout=open(log, "w"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    wait_answering(proc, port, "/v2/images", log)
    return proc, Target("glance-api", port, "", {}, proc.pid)


def stop(proc, group=False):
    if proc is None or proc.poll() is not None:
        return
    if group:
        os.killpg(proc.pid, signal.SIGTERM)  # glance-api's parent and its worker
    else:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL) if group else proc.kill()
        proc.wait()


def timed(fn, *args):
    t = time.monotonic()
    out = fn(*args)
    return time.monotonic() - t, out


def make_data(path, mib):
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(os.urandom(CHUNK))


def disk_copy(src, dst):
    t, _ = timed(subprocess.run, ["dd", f"if={src}", f"of={dst}", "bs=4M", "conv=fsync",
                                  "status=none"])
    os.unlink(dst)
    return t


LISTS = [("first page (limit 25)", "/v2/images?limit=25"),
         ("limit 1000", "/v2/images?limit=1000"),
         ("tag filter", "/v2/images?tag=t3&limit=100"),
         ("property filter", "/v2/images?group=g3&limit=100"),
         ("name filter", "/v2/images?name=img00042"),
         ("sorted by name", "/v2/images?sort_key=name&sort_dir=asc&limit=100")]


def every_page(t):
    """All pages, 25 at a time, by each page's next link."""
    path, n = "/v2/images?limit=25", 0
    while path:
        status, body = t.request("GET", path)
        assert status == 200, (t.name, path, status, body)
        n += len(body["images"])
        path = body.get("next")
    return n


def workload(t, data, images, runs):
    """{metric: seconds} of one service."""
    out = {}
    size = os.path.getsize(data)
    iid = t.create(name="big")
    cpu = group_cpu(t.pgid)
    out["upload"], _ = timed(t.upload, iid, data)
    out["upload cpu"], cpu = group_cpu(t.pgid) - cpu, group_cpu(t.pgid)
    out["download"], n = timed(t.download, iid)
    out["download cpu"] = group_cpu(t.pgid) - cpu
    assert n == size, (t.name, n, size)
    start = time.monotonic()
    for i in range(images):
        t.create(name=f"img{i:05d}", tags=["bench", f"t{i % 10}"], group=f"g{i % 10}")
    out["create (each)"] = (time.monotonic() - start) / images
    for label, path in LISTS:
        samples = []
        for _ in range(runs):
            s, (status, body) = timed(t.request, "GET", path)
            assert status == 200, (t.name, path, status, body)
            samples.append(s)
        out["list: " + label] = statistics.median(samples)
    samples = []
    for _ in range(3):
        s, n = timed(every_page, t)
        assert n == images + 1, (t.name, n, images)  # and the big one
        samples.append(s)
    out["list: every page (25 each)"] = statistics.median(samples)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.environ.get("STRATA_BUILD", str(ROOT / "build")))
    ap.add_argument("--size-mib", type=int, default=512)
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--dir", default=None, help="scratch directory (default: a new one in /var/tmp)")
    a = ap.parse_args()
    scratch = Path(a.dir or tempfile.mkdtemp(prefix="cloud-images-bench-", dir="/var/tmp"))
    scratch.mkdir(parents=True, exist_ok=True)
    data = scratch / "data.raw"
    make_data(data, a.size_mib)
    copy = disk_copy(data, scratch / "copy.raw")
    mib = a.size_mib
    print(f"data: {mib} MiB of random bytes; {a.images} images listed; median of {a.runs} runs")
    print(f"disk copy (dd, fsync): {copy:.3f} s, {mib / copy:.0f} MiB/s")
    procs, results = [], {}
    try:
        sp, strata = start_strata(a.build, scratch, free_port())
        procs.append((sp, False))
        gp, glance = start_glance(scratch, free_port())
        if gp:
            procs.append((gp, True))
        else:
            print("glance-api is not installed (apt-get install glance-api): strata-cloud alone")
        for t in filter(None, (strata, glance)):
            results[t.name] = workload(t, data, a.images, a.runs)
    finally:
        for p, group in procs:
            stop(p, group)
    s, g = results["strata-cloud"], results.get("glance-api")
    print(f"{'':28} {'strata-cloud':>14} {'glance-api':>14} {'ratio':>8}")
    for k in s:
        rate = k in ("upload", "download")
        fmt = (lambda v: f"{mib / v:10.0f} MiB/s") if rate else \
            (lambda v: f"{v:10.2f} s  ") if k.endswith(" cpu") else (lambda v: f"{v * 1000:11.2f} ms")
        ratio = f"{g[k] / s[k]:7.1f}x" if g else ""
        print(f"{k:28} {fmt(s[k]):>14} {fmt(g[k]) if g else '-':>14} {ratio:>8}")
    for k in ("upload", "download"):
        print(f"strata-cloud {k}: {copy / s[k] * 100:.0f}% of the disk copy's speed"
              + (f" (glance-api {copy / g[k] * 100:.0f}%)" if g else "") + "; target >= 90%")
    if g:
        k = "list: first page (limit 25)"
        print(f"strata-cloud list, first page: {g[k] / s[k]:.1f}x glance-api; target >= 5x")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (2 cores; figures are"
          " comparable only on a quiet machine)")
    if not a.dir:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
