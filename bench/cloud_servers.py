#!/usr/bin/python3
"""Issue 17's control-plane benchmark: one strata-cloud (SQLite) and three
real stratad hosts on loopback, servers created through the Compute API.
Per server it measures, from the moment `POST /servers` is sent:
  - the 202 (the API's own time),
  - the host's start request (`POST /v1/domains/NAME/start` arriving at the
    chosen stratad: scheduling, claim, image fetch and check, define), seen
    by a small timestamping proxy in front of each stratad (the cloud is
    given the proxies' URLs; the proxy adds ~1 ms a call),
  - ACTIVE (polled every 10 ms), minus the host's own start-call time: the
    control-plane overhead (target <= 100 ms). This part needs a usable
    /dev/kvm; without it, it SKIPs loudly and the rest is still measured.
and servers created per second (N creates in a row, the time until every
one's start request reached a host).

    bench/cloud_servers.py [--build build] [--servers 10]"""
import argparse
import http.client
import http.server
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "integration" / "cloud")]


class Proxy(http.server.ThreadingHTTPServer):
    """Forwards to one stratad's TCP API, noting when each start request came."""
    daemon_threads = True

    def __init__(self, target_port):
        self.target_port = target_port
        self.starts = {}  # domain name -> (arrived, answered) monotonic seconds
        super().__init__(("127.0.0.1", 0), ProxyHandler)


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self):
        arrived = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        conn = http.client.HTTPConnection("127.0.0.1", self.server.target_port, timeout=600)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
        except OSError:  # the host is gone (the bench's end): the cloud sees it down
            self.send_error(502)
            return
        finally:
            conn.close()
        parts = self.path.split("?")[0].strip("/").split("/")
        if self.command == "POST" and len(parts) == 4 and parts[:2] == ["v1", "domains"] and parts[3] == "start":
            self.server.starts[parts[2]] = (arrived, time.monotonic())
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = forward


def percentiles(xs):
    xs = sorted(xs)
    return f"p50 {xs[len(xs) // 2] * 1e3:.1f} ms, p99 {xs[len(xs) * 99 // 100] * 1e3:.1f} ms, max {xs[-1] * 1e3:.1f} ms"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--servers", type=int, default=10)
    a = ap.parse_args()
    os.environ.setdefault("STRATA_BUILD", a.build)
    from cloudlib import Cloud
    from conftest import kvm_missing_reason
    from hostslib import stratad_hosts
    from test_compute_servers import SERVERS, bootable_image, flavor

    no_kvm = kvm_missing_reason()
    tmp = Path(tempfile.mkdtemp(prefix="strata-bench-servers-"))
    cloud = Cloud(extra_args=["--host-poll-interval", "1"])
    cloud.bootstrap()
    cloud.start()
    try:
        with stratad_hosts(tmp, count=3, pool="instances") as hosts:
            proxies = []
            for i, (_, url) in enumerate(hosts):
                p = Proxy(int(url.rsplit(":", 1)[1]))
                threading.Thread(target=p.serve_forever, daemon=True).start()
                proxies.append(p)
                cloud.cloud("host-add", "-d", str(cloud.state), "--name", f"h{i}", "--url",
                            f"http://127.0.0.1:{p.server_address[1]}", "--token-file", str(tmp / "token"))
            token = cloud.admin_token()
            deadline = time.monotonic() + 120
            while sum(h["state"] == "up" for h in cloud.api("GET", "/compute/v2.1/os-services", token)[2]
                      ["services"]) < 3:
                assert time.monotonic() < deadline, "the hosts did not come up"
                time.sleep(0.1)
            image = bootable_image(cloud, token, disk=b"\0" * (1 << 20))
            fl = flavor(cloud, token, ram=64, vcpus=1)
            sent, accepted, ids = {}, {}, []
            first = time.monotonic()
            for n in range(a.servers):
                t0 = time.monotonic()
                status, _, body = cloud.api("POST", SERVERS, token, {"server": {
                    "name": f"b{n}", "imageRef": image, "flavorRef": fl, "networks": "none"}}, version="2.37")
                assert status == 202, body
                sid = body["server"]["id"]
                sent[sid], accepted[sid] = t0, time.monotonic() - t0
                ids.append(sid)
            active, ended = {}, {}
            deadline = time.monotonic() + 600
            while len(ended) < len(ids):
                assert time.monotonic() < deadline, f"servers still building: {set(ids) - set(ended)}"
                for sid in ids:
                    if sid in ended:
                        continue
                    s = cloud.api("GET", f"{SERVERS}/{sid}", token)[2]["server"]
                    if s["status"] in ("ACTIVE", "ERROR"):
                        ended[sid] = time.monotonic()
                        if s["status"] == "ACTIVE":
                            active[sid] = ended[sid]
                time.sleep(0.01)
            # the domain of server id N is instance-%08x; its first start request on any host
            to_start = {}
            for sid in ids:
                s = cloud.api("GET", f"{SERVERS}/{sid}", token, version="2.60")[2]["server"]
                name = s.get("OS-EXT-SRV-ATTR:instance_name")
                seen = [p.starts[name] for p in proxies if name in p.starts]
                if seen:
                    to_start[sid] = min(seen)
            last_start = max((t[0] for t in to_start.values()), default=None)
            print(f"cloud_servers: {a.servers} servers, 3 stratad hosts, SQLite, "
                  f"load {os.getloadavg()[0]:.1f} (2 shared cores)")
            print(f"  POST /servers -> 202: {percentiles(list(accepted.values()))}")
            if to_start:
                print(f"  POST -> the host's start request: "
                      f"{percentiles([to_start[s][0] - sent[s] for s in to_start])} ({len(to_start)} servers)")
                print(f"  {len(to_start) / (last_start - first):.1f} servers per second reached their host's start")
            else:
                print("  no start request reached a host")
            if no_kvm:
                print(f"  SKIP (loudly): create -> ACTIVE and the control-plane overhead NOT MEASURED here: {no_kvm}")
            elif active:
                overhead = [active[s] - sent[s] - (to_start[s][1] - to_start[s][0]) for s in active if s in to_start]
                print(f"  POST -> ACTIVE: {percentiles([active[s] - sent[s] for s in active])}")
                print(f"  control-plane overhead (POST -> ACTIVE minus the host's start call): "
                      f"{percentiles(overhead)}; target <= 100 ms; "
                      f"mean {statistics.mean(overhead) * 1e3:.1f} ms")
            else:
                print("  no server reached ACTIVE: see the cloud's log", cloud.log)
            for sid in ids:
                cloud.api("DELETE", f"{SERVERS}/{sid}", token)
    finally:
        cloud.stop()


if __name__ == "__main__":
    main()
