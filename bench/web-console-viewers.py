#!/usr/bin/python3
"""100 viewers of one guest's serial console: stratad's console WebSocket
(/v1/domains/NAME/console/ws) fanned out to --viewers clients, the guest
being tests/integration/web/fake_vmm.py (no /dev/kvm needed) writing
timestamped lines ("!flood"). Two phases:
  paced: --rate lines a second of 80 bytes for --seconds (a busy serial
         console): latency from the fake guest's write to each viewer's
         read (CLOCK_MONOTONIC on both sides), and stratad's CPU use;
  flood: --flood-mib MiB as fast as stratad takes it: the time until every
         viewer has all of it, the fan-out throughput (bytes delivered to
         all viewers a second) and stratad's CPU seconds per MiB fanned out.
The viewers are one Python process (selectors) on the same 2 cores, so the
flood figure is a floor, not stratad's ceiling. Results are printed beside the
previous run's (bench/web-console-viewers.last.json, written again).

libvirt (virsh console, and Cockpit's and virt-manager's serial console over
it) gives a domain's console to one client at a time: a second
virDomainOpenConsole fails with "Active console session exists for this
domain" unless forced, which disconnects the first. So there is no libvirt
figure for 100 viewers to put beside these. --libvirt shows it on a running
libvirtd (`libvirtd -d; virtlogd -d`, see ../shared/docs/peers-here.md): a
transient TCG domain with a pty console, one `virsh console` held open, a
second one tried.

usage: bench/web-console-viewers.py [--viewers 100] [--rate 200] [--seconds 5]
                                    [--flood-mib 4] [--build DIR] [--libvirt]"""
import argparse
import json
import os
import selectors
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAST = ROOT / "bench" / "web-console-viewers.last.json"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    """user + system CPU seconds of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Viewer:
    """A console WebSocket read without blocking: frames parsed, lines split."""

    def __init__(self, ws):
        self.ws, self.sock = ws, ws.sock
        self.buf = bytearray(ws.buf)
        self.tail = b""
        self.bytes = 0
        self.lat_ns = []
        self.ended = False

    def feed(self, now_ns):
        data = self.sock.recv(1 << 20)
        if not data:
            raise RuntimeError("stratad closed a viewer's connection")
        self.buf += data
        while len(self.buf) >= 2:
            n, head = self.buf[1] & 0x7F, 2
            if n == 126:
                if len(self.buf) < 4:
                    break
                n, head = int.from_bytes(self.buf[2:4], "big"), 4
            elif n == 127:
                if len(self.buf) < 10:
                    break
                n, head = int.from_bytes(self.buf[2:10], "big"), 10
            if len(self.buf) < head + n:
                break
            op, payload = self.buf[0] & 0x0F, bytes(self.buf[head:head + n])
            del self.buf[:head + n]
            if op != 0x2:
                continue
            self.bytes += n
            lines = (self.tail + payload).split(b"\r\n")
            self.tail = lines.pop()
            for line in lines:
                if line.startswith(b"T") and len(line) > 20:
                    self.lat_ns.append(now_ns - int(line[1:20]))
                elif line == b"END-FLOOD":
                    self.ended = True


def run_phase(viewers, stratad_pid, lines, size, rate, deadline_s):
    """Asks the guest for lines; reads every viewer until each saw the end."""
    for v in viewers:
        v.lat_ns, v.bytes, v.ended = [], 0, False
    sel = selectors.DefaultSelector()
    for v in viewers:
        sel.register(v.sock, selectors.EVENT_READ, v)
    cpu0, t0 = cpu_s(stratad_pid), time.monotonic()
    viewers[0].ws.send(f"!flood {lines} {size} {rate}")
    left = len(viewers)
    while left:
        if time.monotonic() - t0 > deadline_s:
            raise RuntimeError(f"{left} viewers still waiting after {deadline_s} s")
        for key, _ in sel.select(timeout=1):
            v = key.data
            if v.ended:
                continue
            v.feed(time.monotonic_ns())
            left -= v.ended
    wall = time.monotonic() - t0
    cpu = cpu_s(stratad_pid) - cpu0
    sel.close()
    return wall, cpu


LIBVIRT_DOM = """<domain type='qemu'><name>strata-bench-console</name><memory unit='MiB'>64</memory>
<vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices>
<serial type='pty'><target port='0'/></serial><console type='pty'><target type='serial' port='0'/></console>
</devices></domain>"""


def libvirt_second_viewer():
    """What a second `virsh console` on a running libvirt domain answers."""
    virsh = ["virsh", "-c", "qemu:///system"]
    if subprocess.run(virsh + ["version"], capture_output=True).returncode:
        return "libvirtd is not running (start it: libvirtd -d; virtlogd -d)"
    xml = Path(os.environ.get("TMPDIR", "/tmp")) / "strata-bench-console.xml"
    xml.write_text(LIBVIRT_DOM)
    made = subprocess.run(virsh + ["create", str(xml)], capture_output=True, text=True)
    if made.returncode:
        return f"no libvirt domain: {made.stderr.strip()}"
    console = " ".join(virsh + ["console", "strata-bench-console"])
    first = subprocess.Popen(["script", "-qc", console, "/dev/null"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the first viewer holds the console
            if b"Connected" in first.stdout.read1(4096):
                break
        second = subprocess.run(["script", "-qc", console, "/dev/null"], stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=30)
        said = [ln.strip() for ln in second.stdout.splitlines() if "error" in ln]
        return said[0] if said else "a second viewer connected: " + second.stdout.strip()[-200:]
    finally:
        first.kill()
        first.wait()
        subprocess.run(virsh + ["destroy", "strata-bench-console"], capture_output=True)
        xml.unlink()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--viewers", type=int, default=100)
    ap.add_argument("--rate", type=int, default=200)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--flood-mib", type=int, default=4)
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--libvirt", action="store_true", help="show what a second viewer gets from libvirt")
    a = ap.parse_args()
    os.environ["STRATA_BUILD"] = a.build
    for p in ("tests", "tests/integration/host", "tests/integration/web"):
        sys.path.insert(0, str(ROOT / p))
    from weblib import TOKEN, WebStratad, cleanup, short_tmpdir  # noqa: E402
    from wsclient import WS  # noqa: E402

    bearer = {"Authorization": f"Bearer {TOKEN}"}
    fake = ROOT / "tests" / "integration" / "web" / "fake_vmm.py"
    # every viewer comes from 127.0.0.1: the per-address limit (32) is raised for them
    d = WebStratad(short_tmpdir(), extra_args=["--vm-binary", str(fake), "--max-connections", "512",
                                               "--max-connections-per-client", str(a.viewers + 16)]).start()
    viewers = []
    try:
        kernel = d.state_dir / "kernel.bin"
        kernel.write_bytes(b"\0" * 4096)
        d.ok("POST", "/v1/domains", {"name": "bench", "memory_mib": 32, "vcpus": 1, "os": {"kernel": str(kernel)}})
        status, _, body = d.tcp("POST", "/v1/domains/bench/start", headers=bearer)
        assert status == 200, body
        for _ in range(a.viewers):
            ws = WS(d.port, "/v1/domains/bench/console/ws", bearer)
            ws.read_until("guest console ready")
            viewers.append(Viewer(ws))
        pid = d.proc.pid
        lines = a.rate * a.seconds
        wall, cpu = run_phase(viewers, pid, lines, 80, a.rate, a.seconds * 10 + 60)
        lat = sorted(x / 1e6 for v in viewers for x in v.lat_ns)
        assert len(lat) == lines * a.viewers, (len(lat), lines * a.viewers)
        paced = {"lines": lines, "rate": a.rate, "latency_ms_p50": round(statistics.median(lat), 2),
                 "latency_ms_p99": round(lat[int(len(lat) * 0.99) - 1], 2), "latency_ms_max": round(lat[-1], 2),
                 "stratad_cpu_pct": round(100 * cpu / wall, 1)}
        size = 1024
        n = a.flood_mib * 1024
        wall, cpu = run_phase(viewers, pid, n, size, 0, 600)
        assert all(v.bytes >= n * size for v in viewers)
        fanned_mib = sum(v.bytes for v in viewers) / (1 << 20)
        flood = {"mib_per_viewer": a.flood_mib, "seconds": round(wall, 2),
                 "fanout_mib_s": round(fanned_mib / wall, 1), "per_viewer_mib_s": round(a.flood_mib / wall, 2),
                 "stratad_cpu_s_per_fanned_mib": round(cpu / fanned_mib, 4), "stratad_cpu_s": round(cpu, 2)}
    finally:
        for v in viewers:
            v.sock.close()
        cleanup(d)
    res = {"viewers": a.viewers, "paced": paced, "flood": flood}
    print(f"{a.viewers} viewers of one console (stratad {a.build}; load average {os.getloadavg()[0]:.1f})")
    print(f"paced {a.rate} lines/s x {a.seconds} s (80 B): latency p50 {paced['latency_ms_p50']} ms, "
          f"p99 {paced['latency_ms_p99']} ms, max {paced['latency_ms_max']} ms; stratad CPU "
          f"{paced['stratad_cpu_pct']} % of a core")
    print(f"flood {a.flood_mib} MiB to each viewer: {flood['seconds']} s, fan-out {flood['fanout_mib_s']} MiB/s "
          f"({flood['per_viewer_mib_s']} MiB/s a viewer); stratad {flood['stratad_cpu_s']} CPU s, "
          f"{flood['stratad_cpu_s_per_fanned_mib']} s per MiB fanned out")
    last = json.loads(LAST.read_text()) if LAST.exists() else None
    if last:
        print(f"previous run ({last['when']}, load {last['load']}): {json.dumps(last['results'])}")
    else:
        print("previous run: (none)")
    lv = libvirt_second_viewer() if a.libvirt else "(not tried: --libvirt)"
    print(f"libvirt: one console client per domain, no 100-viewer figure to compare; a second viewer: {lv}")
    res["libvirt_second_viewer"] = lv
    LAST.write_text(json.dumps({"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                "load": round(os.getloadavg()[0], 1), "results": res}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
