#!/usr/bin/env python3
"""VMM start-up benchmark, side by side with the peers: for a guest that
writes one byte to COM1 and ends at once, the time from exec to that byte on
the VMM's stdout (the guest runs) and to the VMM's exit (reaped, VM torn
down); and the VMM's peak RSS while a guest idles (the guest touches almost
none of its RAM, so the RSS is what the VMM costs beyond guest memory).

  strata-vm        tests/guest/tiny.elf (PVH; '!' to COM1, debug exit 0)
  QEMU -M microvm  the same tiny.elf (qboot firmware runs first, as guest code)
  kvmtool          a 13-byte real-mode flat binary: '!' to COM1, i8042 reset
                   (kvmtool has no PVH loader and no debug-exit port)

Each VMM is run in turn, round-robin, so that machine noise hits all alike.
Targets for strata-vm: <= 12 ms median and <= 2 MiB RSS.

usage: bench/vm-startup.py [--runs N] [--strata PATH] [--kvmtool PATH] [--memory MIB] [--breakdown]
--breakdown adds, from one strace'd run per VMM, where exec -> exit goes: the
slowest KVM ioctls, and the time from exit_group to the process's end (the
kernel tearing the VM down).
kvmtool: build a fetched copy outside the project; on a host whose CPUID hides
SVM/VMX it needs a local bypass of its CPU check (docs: ../shared/docs/peers-here.md);
this script sets KVMTOOL_SKIP_CPU_CHECK=1 for such a patched build.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS, TARGET_RSS_MIB = 12.0, 2.0
# mov dx,0x3f8; mov al,'!'; out dx,al; mov al,0xfe; out 0x64,al; hlt; jmp $-1
RESET_FLAT = bytes([0xba, 0xf8, 0x03, 0xb0, 0x21, 0xee, 0xb0, 0xfe, 0xe6, 0x64, 0xf4, 0xeb, 0xfd])
IDLE_FLAT = bytes([0xfa, 0xf4, 0xeb, 0xfd])  # cli; hlt; jmp $-1


def run_once(cmd, env):
    """ms from exec to the guest's '!' on stdout (None if it never came), ms
    from exec to exit, and the exit status."""
    devnull = os.open(os.devnull, os.O_RDWR)
    rd, wr = os.pipe()
    t0 = time.perf_counter()
    pid = os.posix_spawn(cmd[0], cmd, env, file_actions=[
        (os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, wr, 1),
        (os.POSIX_SPAWN_DUP2, devnull, 2), (os.POSIX_SPAWN_CLOSE, rd)])
    os.close(wr)
    first = None
    while True:
        chunk = os.read(rd, 4096)
        if not chunk:
            break
        if first is None and b"!" in chunk:
            first = (time.perf_counter() - t0) * 1000
    _, status = os.waitpid(pid, 0)
    ms = (time.perf_counter() - t0) * 1000
    os.close(rd)
    os.close(devnull)
    return first, ms, os.waitstatus_to_exitcode(status)


def guest_ram_rss_kib(pid, mem_mib):
    """Resident KiB in the mappings big enough to be guest RAM (>= its size)."""
    rss, size = 0, 0
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            if line.startswith("Size:"):
                size = int(line.split()[1])
            elif line.startswith("Rss:") and size >= mem_mib * 1024:
                rss += int(line.split()[1])
    return rss


def idle_rss_kib(cmd, mem_mib, env):
    """(peak RSS, RSS beyond guest RAM) in KiB of a VMM running a guest that
    only halts, or None. Read from /proc, because a child's ru_maxrss also
    counts its parent's pages from before the exec. Guest RAM the loader
    touched (a transparent huge page makes that 2 MiB) is not the VMM's cost."""
    p = subprocess.Popen(cmd + [str(mem_mib)], env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last, stable, hwm = -1, 0, 0
    try:
        for _ in range(100):  # until VmHWM holds still for 0.3 s (5 s at most)
            time.sleep(0.05)
            if p.poll() is not None:
                return None
            with open(f"/proc/{p.pid}/status") as f:
                hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
            stable = stable + 1 if hwm == last else 0
            last = hwm
            if stable >= 6:
                break
        return hwm, hwm - guest_ram_rss_kib(p.pid, mem_mib)
    finally:
        p.kill()
        p.wait()


def breakdown(name, cmd, env):
    """One run under strace: the costly KVM ioctls and the exit teardown, in ms."""
    if not shutil.which("strace"):
        print(f"{name:<14} breakdown: strace is not installed")
        return
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as log:
        subprocess.run(["strace", "-f", "-ttt", "-T", "-e", "trace=ioctl,exit_group", "-o", log.name,
                        *cmd], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        lines = log.read().splitlines()
    if not lines:
        return
    stamp = lambda l: float(l.split()[1])
    t0 = stamp(lines[0])
    costs, exit_at = {}, None
    for l in lines:
        if "ioctl(" in l and "KVM_" in l and l.rstrip().endswith(">"):
            req = l.split(",")[1].strip()
            costs[req] = costs.get(req, 0.0) + float(l.rsplit("<", 1)[1].rstrip(">")) * 1000
        if "exit_group(" in l and exit_at is None:
            exit_at = stamp(l)
    end = stamp(lines[-1])
    top = sorted(costs.items(), key=lambda kv: -kv[1])[:4]
    teardown = f"{(end - exit_at) * 1000:.1f} ms" if exit_at else "n/a"
    print(f"{name:<14} breakdown (strace'd, slower): total {(end - t0) * 1000:.1f} ms; exit_group -> end "
          f"{teardown}; " + ", ".join(f"{k} {v:.1f} ms" for k, v in top))


def mib(kib):
    return f"{kib / 1024:.2f}" if kib else "n/a"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--memory", type=int, default=128, help="guest RAM, MiB")
    ap.add_argument("--strata", default=os.environ.get("STRATA_VM"),
                    help="strata-vm binary (default: build/src/vm/strata-vm)")
    ap.add_argument("--build", default=os.environ.get("STRATA_BUILD", str(ROOT / "build")))
    ap.add_argument("--kvmtool", default=os.environ.get("KVMTOOL", "/tmp/kvmtool/lkvm-static"))
    ap.add_argument("--qemu", default=shutil.which("qemu-system-x86_64"))
    ap.add_argument("--breakdown", action="store_true", help="where the time goes (strace)")
    a = ap.parse_args()

    build = Path(a.build)
    strata = Path(a.strata) if a.strata else build / "src" / "vm" / "strata-vm"
    tiny = build / "tests" / "guest" / "tiny.elf"
    for p in (strata, tiny, build / "tests" / "guest" / "idle.elf"):
        if not p.exists():
            sys.exit(f"vm-startup: {p} is missing (scripts/build.sh builds it)")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        sys.exit("vm-startup: /dev/kvm is not usable here")
    tmp = Path(tempfile.mkdtemp(prefix="vm-startup-"))
    flat, idle_flat = tmp / "reset-flat.bin", tmp / "idle-flat.bin"
    flat.write_bytes(RESET_FLAT)
    idle_flat.write_bytes(IDLE_FLAT)
    idle = build / "tests" / "guest" / "idle.elf"
    env = dict(os.environ)
    mem = str(a.memory)

    # name -> (timed command, its idle-guest form (RAM size appended), expected status, guest)
    sv = [str(strata), "--kernel"]
    vmms = {
        "strata-vm": (sv + [str(tiny), "--memory", mem], sv + [str(idle), "--memory"],
                      0, "tiny.elf (PVH, debug exit)"),
        # what the seccomp filter costs (on by default; docs/vm-machine.md)
        "  --seccomp off": (sv + [str(tiny), "--seccomp", "off", "--memory", mem],
                            sv + [str(idle), "--seccomp", "off", "--memory"], 0, "the same, no filter"),
    }
    skipped = {}
    if a.qemu:
        q = [a.qemu, "-M", "microvm", "-accel", "kvm", "-cpu", "qemu64", "-nodefaults",
             "-no-user-config", "-display", "none", "-serial", "stdio", "-monitor", "none",
             "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel"]
        vmms["qemu microvm"] = (q + [str(tiny), "-m", mem], q + [str(idle), "-m"], 1,
                                "tiny.elf (PVH, debug exit: status 1)")
    else:
        skipped["qemu microvm"] = "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
    if a.kvmtool and Path(a.kvmtool).exists():
        env["KVMTOOL_SKIP_CPU_CHECK"] = "1"
        k = [a.kvmtool, "run", "-c", "1", "--network", "mode=none", "-k"]
        vmms["kvmtool"] = (k + [str(flat), "-m", mem], k + [str(idle_flat), "-m"], 0,
                           "13-byte flat binary (i8042 reset)")
    else:
        skipped["kvmtool"] = (f"no kvmtool binary at {a.kvmtool} (fetch kvmtool, build it outside "
                              "the project, pass --kvmtool)")

    # each VMM must do what we think it does before it is timed
    for name, (cmd, _, want, _) in list(vmms.items()):
        first, _, rc = run_once(cmd, env)
        if rc != want or first is None:
            skipped[name] = (f"exit status {rc} (expected {want}), guest output "
                             f"{'seen' if first else 'missing'}: {' '.join(cmd)}")
            del vmms[name]
    if "strata-vm" not in vmms:
        sys.exit(f"vm-startup: strata-vm does not run the tiny guest: {skipped['strata-vm']}")

    times = {n: [] for n in vmms}
    firsts = {n: [] for n in vmms}
    rss, rss_big = {}, {}
    for name, (cmd, idle_cmd, _, _) in vmms.items():  # warm-up, then RSS at two RAM sizes
        run_once(cmd, env)
        rss[name] = idle_rss_kib(idle_cmd, a.memory, env) or (0, 0)
        rss_big[name] = idle_rss_kib(idle_cmd, 1024, env) or (0, 0)
    for i in range(a.runs):
        for name, (cmd, _, want, _) in vmms.items():
            first, ms, rc = run_once(cmd, env)
            if rc != want or first is None:
                sys.exit(f"vm-startup: {name} run {i} ended with status {rc}, guest output "
                         f"{'seen' if first else 'missing'}")
            times[name].append(ms)
            firsts[name].append(first)

    print(f"VMM start-up: a guest that writes one byte and ends at once; {a.runs} runs each "
          f"(round-robin), guest RAM {a.memory} MiB, host {os.uname().release}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("  to-output: exec -> the guest's byte on stdout; to-exit: exec -> VMM reaped (medians; "
          "min/p90 of to-exit); RSS: peak while an idle guest halts, and the part beyond guest RAM, "
          f"at {a.memory} MiB and at 1 GiB of guest RAM")
    print(f"{'VMM':<14} {'to-output':>10} {'to-exit':>8} {'min':>7} {'p90':>7} {'RSS MiB':>8} "
          f"{'beyond':>7} {'@1GiB':>6}  guest")
    med, med_first = {}, {}
    for name in vmms:
        t = sorted(times[name])
        med[name] = statistics.median(t)
        med_first[name] = statistics.median(firsts[name])
        p90 = t[min(len(t) - 1, int(len(t) * 0.9))]
        print(f"{name:<14} {med_first[name]:>8.2f}ms {med[name]:>6.2f}ms {t[0]:>7.2f} {p90:>7.2f} "
              f"{mib(rss[name][0]):>8} {mib(rss[name][1]):>7} {mib(rss_big[name][1]):>6}  {vmms[name][3]}")
    for name, why in skipped.items():
        print(f"{name:<14} skipped: {why}")
    s = med["strata-vm"]
    s_rss = rss["strata-vm"][1] / 1024
    for name in vmms:
        if name != "strata-vm":
            r = f"{rss[name][1] / 1024 / s_rss:.2f}x" if rss[name][1] and s_rss else "n/a"
            print(f"ratio {name} / strata-vm: to-output {med_first[name] / med_first['strata-vm']:.2f}x, "
                  f"to-exit {med[name] / s:.2f}x, RSS beyond guest RAM {r}")
    rss_verdict = ("not measured (the idle guest did not stay up)" if not s_rss else
                   f"{'met' if s_rss <= TARGET_RSS_MIB else 'NOT met'} ({s_rss:.2f} MiB beyond guest RAM)")
    print(f"strata-vm target <= {TARGET_MS:g} ms exec -> exit: {'met' if s <= TARGET_MS else 'NOT met'} "
          f"({s:.2f} ms; to guest output {med_first['strata-vm']:.2f} ms); "
          f"RSS overhead <= {TARGET_RSS_MIB:g} MiB: {rss_verdict}")
    if a.breakdown:
        for name, (cmd, _, _, _) in vmms.items():
            breakdown(name, cmd, env)
    print("peers measured on this machine kind (../shared/docs/peers-here.md): "
          "QEMU microvm 43.8 ms / 38.9 MiB, kvmtool 24.0 ms / 2.1 MiB")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
