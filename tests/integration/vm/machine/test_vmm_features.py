"""strata-vm features beyond the guests' own checks: the CPU model seen from
inside a guest, query-cpus, and a supervisor's SIGTERM."""
import os
import re
import signal
import subprocess

import pytest

import vmtest as vt


def cpuid_words(out):
    words = {}
    for leaf, sub, a, b, c, d in re.findall(r"cpuid (\w+)\.(\w+): (\w+) (\w+) (\w+) (\w+)", out):
        words[(int(leaf, 16), int(sub, 16))] = [int(x, 16) for x in (a, b, c, d)]
    return words


def run_cpuid(*args):
    r = vt.run_guest("cpuid", *args)
    assert r.rc == 0 and "cpuid: PASS" in r.out, str(r)
    return cpuid_words(r.out)


def bit(words, leaf, reg, n):
    return bool(words[(leaf, 0)][reg] >> n & 1)


EAX, EBX, ECX, EDX = range(4)


@pytest.mark.needs_kvm
def test_cpu_features_minus_clears_bits_in_the_guest():
    # Bits KVM itself defines follow the table on every host (on kvm_pvm, hardware
    # feature bits such as popcnt always show the host's: docs/nested-kvm.md).
    base = run_cpuid("--cpu-template", "host")
    assert bit(base, 1, ECX, 21) and bit(base, 0x80000001, EDX, 20), "host lacks x2apic/nx"
    w = run_cpuid("--cpu-template", "host", "--cpu-features", "-x2apic,-nx,-hypervisor")
    assert not bit(w, 1, ECX, 21)          # x2apic
    assert not bit(w, 0x80000001, EDX, 20)  # nx
    assert not bit(w, 1, ECX, 31)          # hypervisor
    assert bit(w, 1, EDX, 0)               # fpu untouched


@pytest.mark.needs_kvm
def test_nested_template_hides_kvm_hypercall_features():
    host = run_cpuid("--cpu-template", "host")
    nested = run_cpuid("--cpu-template", "nested")
    pv_host, pv_nested = host[(0x40000001, 0)][EAX], nested[(0x40000001, 0)][EAX]
    for b in (7, 11, 13):  # pv_unhalt, pv_send_ipi, pv_sched_yield: hypercalls
        assert not pv_nested >> b & 1, hex(pv_nested)
    assert pv_nested & 1 << 3 and pv_host & 1 << 3  # kvm-clock stays
    assert not bit(nested, 1, ECX, 13)  # cx16: lock cmpxchg16b is refused there
    for b in (4, 14):  # async_pf, async_pf_int: lost guest writes after ballooning there
        assert not pv_nested >> b & 1, hex(pv_nested)


@pytest.mark.needs_kvm
def test_topology_reports_vcpu_count():
    w = run_cpuid("--cpus", "3")
    assert (w[(1, 0)][EBX] >> 16) & 0xff == 3


@pytest.mark.needs_kvm
def test_unknown_cpu_feature_is_one_clear_error():
    r = vt.run_guest("cpuid", "--cpu-features", "-frobnicate")
    assert r.rc == 1
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and "unknown cpu feature 'frobnicate'" in lines[0], str(r)
    r = vt.run_guest("cpuid", "--cpu-features", "x2apic")
    assert r.rc == 1 and "needs a + or - prefix" in r.err, str(r)
    r = vt.run_guest("cpuid", "--cpu-template", "pentium")
    assert r.rc == 1 and "unknown cpu template" in r.err, str(r)


def test_cpu_features_help_lists_names():
    r = vt.run([vt.vm_binary(), "--cpu-features", "help"])
    assert r.rc == 0 and "cx16" in r.out and "kvm_pv_unhalt" in r.out, str(r)


@pytest.mark.needs_kvm
def test_query_cpus_reports_every_vcpu(tmp_path):
    with vt.LiveVM("serial-echo", "--cpus", "2", tmp_path=tmp_path) as vm:
        vm.wait_for("serial-echo: ready (irq)")
        with vm.connect() as c:
            r = c.execute("query-cpus")
        cpus = r["return"]["cpus"]
        assert [c["cpu"] for c in cpus] == [0, 1], r
        assert all(c["answered"] for c in cpus), r
        assert cpus[0]["long_mode"] and cpus[0]["rip"].startswith("0x"), r
        # the AP was never started by this guest: it waits for INIT/SIPI
        assert cpus[1]["mp_state"] == "uninitialized", r


@pytest.mark.needs_kvm
def test_sigterm_stops_cleanly_and_removes_sockets(tmp_path):
    with vt.LiveVM("serial-echo", "--console", f"socket:{tmp_path}/console.sock",
                   tmp_path=tmp_path) as vm:
        with vm.connect() as c:
            assert c.execute("status")["return"]["status"] == "running"
        vm.proc.send_signal(signal.SIGTERM)
        rc = vm.proc.wait(10)
        for t in vm._readers:
            t.join(5)
        err = b"".join(vm.err).decode()
        assert rc == 128 + signal.SIGTERM, vm.describe()
        assert "terminated by signal 15" in err, vm.describe()
        assert not os.path.exists(vm.control_path)
        assert not os.path.exists(tmp_path / "console.sock")


@pytest.mark.needs_kvm
@pytest.mark.parametrize("cpus", [1, 2])
def test_guest_user_space_syscall_and_sysret(cpus):
    """Ring 3 code makes SYSCALLs and gets back with SYSRETQ. On kvm_pvm this only
    works through strata-vm's SYSCALL trampoline (docs/nested-kvm.md); the guest
    fails with the #PF at the entry that Linux's /init dies of when it does not."""
    r = vt.run_guest("usermode", "--cpus", str(cpus), "--cmdline",
                     f"smp={cpus - 1} tls_rounds=3000 tls_spin=100000 tls_timer=20000 "
                     "mem_mib=32 dp_mib=4 mem_rounds=4", timeout=120, memory=128)
    assert r.rc == 0, str(r)
    assert "usermode: syscall 7 in ring 0" in r.out, str(r)
    assert "usermode: syscall 60 in ring 0" in r.out, str(r)
    # The TLS word read through %fs after each arch_prctl-like SYSCALL, while
    # timer interrupts come from ring 3 and check what the kernel sees there.
    m = re.search(r"usermode: (\d+) timer interrupts, (\d+) from ring 3, (\d+) saw a wrong FS", r.out)
    assert m, str(r)
    assert int(m.group(2)) > 0 and int(m.group(3)) == 0, str(r)
    # Ring-3 memory: 2 MiB pages written and read back, and 4 KiB pages demand-
    # paged by the guest's #PF handler as Linux does (the zero page for a read,
    # copy-on-write with INVLPG for the write after it), onto other pages each
    # round (munmap-like).
    assert "usermode: 32 MiB of user memory written and read back 4 times" in r.out, str(r)
    assert ("usermode: 4 MiB demand-paged 4 times (4096 pages from ring-3 faults, 2048 zero-page "
            "maps, 2048 copy-on-write breaks)") in r.out, str(r)
    # cpus=2: both run the program at once on one page table, each with its own
    # FS base, interleaved demand-paged pages swapped every round
    assert f"usermode: {cpus} cpu(s) ran the program in ring 3" in r.out, str(r)
    assert "usermode: PASS" in r.out, str(r)


@pytest.mark.needs_kvm
def test_sse_instructions_the_emulator_refuses_are_carried_out():
    """paddq/pxor/pshufd/psubq (register, memory and immediate operands): on
    kvm_pvm KVM's emulator refuses them and strata-vm runs them natively on the
    guest's XMM state; elsewhere the CPU runs them. The guest checks each result."""
    r = vt.run_guest("simd")
    assert r.rc == 0, str(r)
    for what in ("paddq xmm14, xmm15", "pxor xmm14, m128", "pshufd xmm12, xmm13, 0x4e",
                 "psubq xmm3, m128"):
        assert f"simd: {what} =" in r.out, str(r)
    assert "simd: PASS" in r.out, str(r)


@pytest.mark.needs_kvm
@pytest.mark.parametrize("prealloc", [False, True])
def test_mem_prealloc_backs_all_guest_ram(tmp_path, prealloc):
    """--mem-prealloc (QEMU's -mem-prealloc): every page of guest RAM is backed
    before the guest runs, so the VMM's resident set covers it; without it,
    RAM the guest never touched costs nothing."""
    extra = ["--mem-prealloc"] if prealloc else []
    with vt.LiveVM("serial-echo", *extra, tmp_path=tmp_path, control=False,
                   memory=192) as vm:
        vm.wait_for("serial-echo: ready (irq)", timeout=60)
        with open(f"/proc/{vm.proc.pid}/status") as f:
            rss_kib = int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))
        vm.proc.kill()
    if prealloc:
        assert rss_kib >= 192 << 10, f"RSS {rss_kib} KiB with 192 MiB preallocated"
    else:
        assert rss_kib < 64 << 10, f"RSS {rss_kib} KiB for a guest that touches little of 192 MiB"


def seccomp_of_tasks(pid):
    """{task id: (comm, Seccomp mode)} for every thread of pid and of its
    children that share its memory (the guardian, src/vm/kvm_worker.c)."""
    out = {}
    pids = [pid] + [int(c) for t in os.listdir(f"/proc/{pid}/task")
                    for c in open(f"/proc/{pid}/task/{t}/children").read().split()]
    for p in pids:
        for t in os.listdir(f"/proc/{p}/task"):
            try:
                comm = open(f"/proc/{p}/task/{t}/comm").read().strip()
                mode = re.search(r"^Seccomp:\s+(\d+)", open(f"/proc/{p}/task/{t}/status").read(), re.M)
            except OSError:
                continue
            if comm.startswith("kvm-nx"):  # KVM's own worker: a kernel thread's
                continue
            out[int(t)] = (comm, int(mode.group(1)))
    return out


@pytest.mark.needs_kvm
@pytest.mark.parametrize("mode,expect", [(None, 2), ("log", 2), ("off", 0)])
def test_seccomp_filter_on_every_task(mode, expect, tmp_path):
    """Once set up, strata-vm's main thread, I/O thread, vCPUs and the guardian
    sharing its memory all run under the seccomp filter (mode 2), unless
    --seccomp off; what the filter refuses is in tests/unit/vm/test_sandbox.c,
    and every other test runs strata-vm with the filter on."""
    args = ["--cpus", "2"] + (["--seccomp", mode] if mode else [])
    with vt.LiveVM("serial-echo", *args, tmp_path=tmp_path) as vm:
        vm.wait_for("serial-echo: ready", timeout=30)
        tasks = seccomp_of_tasks(vm.proc.pid)
        comms = sorted(c for c, _ in tasks.values())
        assert "iothread" in comms and comms.count("vcpu0") + comms.count("vcpu1") == 2, tasks
        assert all(m == expect for _, m in tasks.values()), tasks
        with vm.connect() as c:
            assert "return" in c.execute("quit"), vm.describe()
        assert vm.wait() == 0, vm.describe()
