#!/usr/bin/env python3
"""What creating and destroying an empty KVM VM costs on this host, by which
in-kernel devices it has (irqchip, PIT) - the kernel's share of a VMM's
exec -> exit that no VMM code can shorten, except by not waiting for it.
Each variant: KVM_CREATE_VM, the devices and a 128 MiB memory slot (in either
order), one vCPU; then the time to close the vCPU and VM fds (the VM is
destroyed there).

usage: bench/vm-teardown.py [--runs N]"""
import argparse
import fcntl
import mmap
import os
import statistics
import struct
import time

KVM_CREATE_VM = 0xAE01
KVM_CREATE_VCPU = 0xAE41
KVM_CREATE_IRQCHIP = 0xAE60
KVM_CREATE_PIT2 = 0x4040AE77           # _IOW(KVMIO, 0x77, struct kvm_pit_config), 64 bytes
KVM_SET_USER_MEMORY_REGION = 0x4020AE46  # _IOW(KVMIO, 0x46, struct kvm_userspace_memory_region)
RAM = 128 << 20


def one(irqchip, pit, slot_first):
    kvm = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    ram = mmap.mmap(-1, RAM, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    region = struct.pack("IIQQQ", 0, 0, 0, RAM, ctypes_addr(ram))
    t = [time.perf_counter()]
    vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
    if slot_first:
        fcntl.ioctl(vm, KVM_SET_USER_MEMORY_REGION, region)
    if irqchip:
        fcntl.ioctl(vm, KVM_CREATE_IRQCHIP, 0)
    if pit:
        fcntl.ioctl(vm, KVM_CREATE_PIT2, bytes(64))
    if not slot_first:
        fcntl.ioctl(vm, KVM_SET_USER_MEMORY_REGION, region)
    t.append(time.perf_counter())
    vcpu = fcntl.ioctl(vm, KVM_CREATE_VCPU, 0)
    t.append(time.perf_counter())
    os.close(vcpu)
    os.close(vm)
    t.append(time.perf_counter())
    ram.close()
    os.close(kvm)
    return [(b - a) * 1000 for a, b in zip(t, t[1:])]


def ctypes_addr(m):
    import ctypes
    c = ctypes.c_char.from_buffer(m)
    addr = ctypes.addressof(c)
    del c  # release the buffer export, so the mapping can be closed later
    return addr


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    # a PIT needs the irqchip; "slot first": the memory slot before the devices
    variants = {"no devices": (0, 0, 0), "irqchip": (1, 0, 0), "irqchip + PIT": (1, 1, 0),
                "slot first": (1, 1, 1)}
    res = {v: [] for v in variants}
    for _ in range(a.runs):  # round-robin, so load hits every variant alike
        for v, args in variants.items():
            res[v].append(one(*args))
    print(f"KVM VM set-up and destruction, median of {a.runs} runs, ms "
          f"(host {os.uname().release}, load average {os.getloadavg()[0]:.1f})")
    print(f"{'devices':<14} {'VM+devices+slot':>15} {'vcpu':>6} {'destroy':>8}")
    for v, rows in res.items():
        cols = [statistics.median(c) for c in zip(*rows)]
        print(f"{v:<14} {cols[0]:>15.2f} {cols[1]:>6.2f} {cols[2]:>8.2f}")


if __name__ == "__main__":
    main()
