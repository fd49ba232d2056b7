#!/usr/bin/env python3
"""Where a guest kernel spends its time on a host whose KVM emulates guest
kernel code (kvm_pvm: one kvm_emulate_insn trace event per instruction).
Samples the event for a few seconds and prints, per vCPU thread, the functions
of the instructions emulated, symbolised with a vmlinux that has debug info
(for Debian's kernel: the linux-image-<version>-dbg package's
/usr/lib/debug/boot/vmlinux-<version>). Instructions whose bytes differ from
that vmlinux are counted apart: the event computes the RIP as the RIP after
emulation minus the length, which is wrong for every taken branch, call and
return (and code patched at run time differs too).

usage: scripts/guest-hotspots.py VMLINUX [--seconds S] [--top N]   (root)"""
import argparse
import collections
import os
import re
import subprocess
import sys
import time

TRACEFS = "/sys/kernel/tracing"
EVENT = f"{TRACEFS}/events/kvm/kvm_emulate_insn/enable"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def sample(seconds):
    if not os.path.exists(EVENT):
        subprocess.run(["mount", "-t", "tracefs", "nodev", TRACEFS], check=False)
    if not os.path.exists(EVENT):
        sys.exit("guest-hotspots: no kvm_emulate_insn trace event (tracefs, KVM tracepoints)")
    write(f"{TRACEFS}/trace", "")
    write(EVENT, "1")
    write(f"{TRACEFS}/tracing_on", "1")
    time.sleep(seconds)
    write(f"{TRACEFS}/tracing_on", "0")
    write(EVENT, "0")
    with open(f"{TRACEFS}/trace") as f:
        return f.read().splitlines()


def text_segments(vmlinux):
    """(vaddr, file offset, size) of the loadable segments, from readelf."""
    out = subprocess.run(["readelf", "-lW", vmlinux], capture_output=True, text=True).stdout
    segs = []
    for m in re.finditer(r"LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)", out):
        segs.append((int(m.group(2), 16), int(m.group(1), 16), int(m.group(3), 16)))
    return segs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("vmlinux")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--top", type=int, default=15)
    a = ap.parse_args()
    segs = text_segments(a.vmlinux)
    with open(a.vmlinux, "rb") as f:
        image = f.read()

    def image_bytes(addr, n):
        for vaddr, off, size in segs:
            if vaddr <= addr < vaddr + size:
                return image[off + addr - vaddr: off + addr - vaddr + n]
        return None

    rx = re.compile(r"\s(\S+)-\d+\s.*kvm_emulate_insn: [0-9a-f]+:([0-9a-f]+):([0-9a-f ]+) \(")
    hits = collections.defaultdict(collections.Counter)
    patched = collections.Counter()
    for line in sample(a.seconds):
        m = rx.search(line)
        if not m:
            continue
        thread, addr = m.group(1), int(m.group(2), 16)
        code = bytes.fromhex(m.group(3).replace(" ", ""))
        if image_bytes(addr, len(code)) == code:
            hits[thread][addr] += 1
        else:
            patched[thread] += 1
    for thread in sorted(set(hits) | set(patched)):
        addrs = list(hits[thread])
        names = subprocess.run(["addr2line", "-f", "-e", a.vmlinux] + [hex(x) for x in addrs],
                               capture_output=True, text=True).stdout.splitlines()[0::2]
        per_fn = collections.Counter()
        for addr, name in zip(addrs, names):
            per_fn[name] += hits[thread][addr]
        total = sum(hits[thread].values()) + patched[thread]
        print(f"{thread}: {total / a.seconds:.0f} instructions/s emulated, "
              f"{patched[thread]} not matching the vmlinux (taken branches, patched code)")
        for name, n in per_fn.most_common(a.top):
            print(f"  {n:8d}  {name}")


if __name__ == "__main__":
    main()
