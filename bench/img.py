#!/usr/bin/env python3
"""strata-img vs qemu-img, side by side in one run, on the same files.

convert raw->qcow2, qcow2->raw (cold and warm page cache) and compressed (-c)
of a 2 GiB image (1 GiB random data, then 1 GiB of zero bytes), with a plain
copy (dd conv=sparse) as the physical limit; then 4 KiB I/O on a fully
allocated 1 GiB qcow2, qemu-img bench against strata-img bench with the same
flags: sequential and scattered (a large -S stride), through the page cache
and with O_DIRECT; strata-img's random mode for reference. Prints each figure
and the ratios.

usage: bench/img.py [--build DIR] [--dir SCRATCH] [--quick]"""
import argparse
import mmap
import os
import re
import shutil
import subprocess
import sys
import time

STRIDE = 4096 * 1009   # 1009 is prime: coprime with the 262143 blocks a 1 GiB image wraps at
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(*args, **kw):
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True, **kw)


def drop_caches():
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError:
        print("  (cannot drop the page cache: not root; figures are warm-cache)")


def warm(path):
    with open(path, "rb") as f:
        while f.read(16 << 20):
            pass


def populate_memory(mib=2560):
    """Touches mib of fresh memory and frees it. This machine is itself a VM
    whose balloon reports free pages back to its hypervisor (virtio-balloon
    free page reporting): after drop_caches, memory freed a few seconds
    earlier costs ~2 s per GiB to touch again, for any program, and runs
    alternated between ~0.5 and ~2.2 s for both tools. Touching it right
    before each timed run makes the figures measure the tools."""
    m = mmap.mmap(-1, mib << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    for off in range(0, mib << 20, 4096):
        m[off] = 1
    m.close()


def timed(*args, cache_src=None):
    drop_caches()
    if cache_src:
        warm(cache_src)
    populate_memory()
    t0 = time.monotonic()
    sh(*args)
    return time.monotonic() - t0


def make_source(path, size):
    if os.path.exists(path) and os.path.getsize(path) == size:
        return
    half = size // 2
    with open(path, "wb") as f:
        left = half
        while left:
            n = min(left, 64 << 20)
            f.write(os.urandom(n))
            left -= n
        zeros = bytes(64 << 20)
        left = size - half
        while left:
            n = min(left, len(zeros))
            f.write(zeros[:n])
            left -= n


def wall(*args):
    t0 = time.monotonic()
    sh(*args)
    return time.monotonic() - t0


def median(v):
    return sorted(v)[len(v) // 2]


def bench_iops(tool, img, write, extra=()):
    args = [tool, "bench", "-c", "200000", "-d", "32", "-s", "4096", "-f", "qcow2", *extra]
    if write:
        args.append("-w")
    out = sh(*args, img).stdout
    secs = float(re.search(r"Run completed in ([0-9.]+) seconds", out).group(1))
    return 200000 / secs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--dir", default="/var/tmp/strata-img-bench")
    ap.add_argument("--quick", action="store_true", help="256 MiB instead of 2 GiB")
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    strata = os.path.join(a.build, "src", "img", "strata-img")
    qemu = shutil.which("qemu-img")
    if not qemu or not os.path.exists(strata):
        sys.exit("bench/img.py: needs qemu-img (qemu-utils) and a built strata-img (scripts/build.sh)")
    os.makedirs(a.dir, exist_ok=True)
    size = (256 << 20) if a.quick else (2 << 30)
    src = os.path.join(a.dir, "src.raw")
    make_source(src, size)
    d = lambda name: os.path.join(a.dir, name)
    rows = []

    # convert does not fdatasync its target (qemu-img's default cache=unsafe, ours
    # too), so the limit to hold it against is a copy without fsync; the fsync'd
    # copy is shown as the figure peers-here.md quotes.
    copy_sync = timed("dd", f"if={src}", f"of={d('copy.raw')}", "bs=4M", "conv=sparse,fsync", "status=none")
    copy = {m: median([timed("dd", f"if={src}", f"of={d('copy.raw')}", "bs=4M", "conv=sparse", "status=none",
                             cache_src=src if m == "warm" else None) for _ in range(a.reps)])
            for m in ("cold", "warm")}
    rows.append(("plain copy (dd conv=sparse,fsync)", copy_sync, None, None))
    for m in ("cold", "warm"):
        rows.append((f"copy (dd conv=sparse, {m}): limit", copy[m], None, None))

    def pair(label, qargs, sargs, reps, cache_src=None):
        tq, ts = [], []
        for _ in range(reps):   # alternated, medians: the disk is shared and noisy
            tq.append(timed(qemu, *qargs, cache_src=cache_src))
            ts.append(timed(strata, *sargs, cache_src=cache_src))
        rows.append((label, median(tq), median(ts), copy["warm" if cache_src else "cold"]))

    # cold: page cache dropped before each run; warm: the source read into it first
    for mode, warm_src in (("cold", False), ("warm", True)):
        pair(f"convert raw->qcow2 ({mode})", ["convert", "-O", "qcow2", src, d("q.qcow2")],
             ["convert", "-O", "qcow2", src, d("s.qcow2")], a.reps, src if warm_src else None)
        pair(f"convert qcow2->raw ({mode})", ["convert", "-O", "raw", d("q.qcow2"), d("q.raw")],
             ["convert", "-O", "raw", d("q.qcow2"), d("s.raw")], a.reps, d("q.qcow2") if warm_src else None)
    pair("convert -c raw->qcow2 (zlib, cold)", ["convert", "-c", "-O", "qcow2", src, d("qc.qcow2")],
         ["convert", "-c", "-O", "qcow2", src, d("sc.qcow2")], 1)

    print(f"\nconvert, {size >> 20} MiB image (half random, half zero bytes), "
          f"median of {a.reps} (compressed: 1)")
    print(f"  {'':38} {'qemu-img':>10} {'strata-img':>11} {'speedup':>8} {'limit/ours':>10}")
    for label, tq, ts, limit in rows:
        if ts is None:
            print(f"  {label:38} {tq:9.3f}s")
            continue
        print(f"  {label:38} {tq:9.3f}s {ts:10.3f}s {tq / ts:7.2f}x {100 * limit / ts:9.0f}%")

    print("\nmetadata commands on the converted 2 GiB qcow2 (warm, median of 21 runs)")
    print(f"  {'':38} {'qemu-img':>10} {'strata-img':>11} {'speedup':>8}")
    for cmd in ("check", "info"):
        q = median([wall(qemu, cmd, d("q.qcow2")) for _ in range(21)])
        s_ = median([wall(strata, cmd, d("q.qcow2")) for _ in range(21)])
        print(f"  {cmd:38} {q * 1000:8.1f}ms {s_ * 1000:9.1f}ms {q / s_:7.2f}x")

    big = d("iops.qcow2")
    sh(qemu, "create", "-q", "-f", "qcow2", big, "1G")
    sh("qemu-io", "-c", "write -P 0x5a 0 1G", big)
    print("\n4 KiB requests on a fully allocated 1 GiB qcow2 (200000 requests, 32 in flight)")
    print("  writeback: page cache (qemu-img bench's default); none: O_DIRECT (-t none).")
    print(f"  scattered: -S {STRIDE >> 10} KiB, a stride coprime with the image's blocks, so")
    print("  consecutive requests land 4 MiB apart and every block is visited (qemu-img bench")
    print("  has no random mode; this is the nearest both tools run the same way).")
    print(f"  {'':38} {'qemu-img':>10} {'strata-img':>11} {'ratio':>8}")
    for cache in ("writeback", "none"):
        for pattern, extra in (("sequential", ()), ("scattered", ("-S", str(STRIDE)))):
            for op, write in (("read", False), ("write", True)):
                args = ("-t", cache, *extra)
                q, s = [], []
                for _ in range(a.reps):   # alternated, as the converts
                    q.append(bench_iops(qemu, big, write, args))
                    s.append(bench_iops(strata, big, write, args))
                q, s = median(q), median(s)
                label = f"{pattern} {op} IOPS ({cache})"
                print(f"  {label:38} {q:10.0f} {s:11.0f} {s / q:7.2f}x")
        for op, write in (("read", False), ("write", True)):
            s = bench_iops(strata, big, write, ("-t", cache, "--random"))
            label = f"random {op} IOPS ({cache})"
            print(f"  {label:38} {'-':>10} {s:11.0f}   (strata-img --random; qemu-img has none)")
    sh(qemu, "check", big)
    for f in os.listdir(a.dir):
        if f != "src.raw":
            os.unlink(d(f))


if __name__ == "__main__":
    main()
