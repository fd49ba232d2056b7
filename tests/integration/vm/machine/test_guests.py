"""strata-vm against the project's freestanding test guests (tests/guest/):
each guest checks one part of the machine (docs/vm-machine.md) and reports its
verdict as strata-vm's exit status; the console shows what it saw."""
import datetime
import os
import re
import socket
import time
from pathlib import Path

import pytest

import vmtest as vt
from conftest import skip_loudly

pytestmark = pytest.mark.needs_kvm


@pytest.fixture(autouse=True)
def _kvm(kvm):
    return kvm


def test_hello_serial_output_and_start_info():
    r = vt.run_guest("hello", "--cmdline", "alpha=1 beta=two")
    assert r.rc == 0, str(r)
    assert "hello: strata test guest" in r.out, str(r)
    # the nested host profile may put its kernel options first
    assert re.search(r"hello: cmdline '(.* )?alpha=1 beta=two'", r.out), str(r)
    assert "hello: PASS" in r.out, str(r)


def test_console_output_volume_is_not_lost():
    """400 numbered lines (~27 KiB, more than a pipe buffer when the reader is slow)."""
    r = vt.run_guest("hello", "--cmdline", "lines=400", timeout=120)
    assert r.rc == 0, str(r)
    got = [int(n) for n in re.findall(r"^hello: line (\d{5}) of 400 abcdefghijklmnopqrstuvwxyz0123456789$",
                                       r.out, re.M)]
    assert got == list(range(400)), f"lines lost or garbled: {len(got)} of 400 intact\n{r.out[-2000:]}"


def test_console_output_survives_a_slow_reader():
    """1200 lines (~80 KiB, more than a pipe holds) to a reader that starts 2 s late."""
    cmd = ["bash", "-c", 'set -o pipefail; "$@" | (sleep 2; cat)', "bash",
           *vt.vm_args("hello", "--cmdline", "lines=1200")]
    r = vt.run(cmd, timeout=180)
    assert r.rc == 0, str(r)
    got = re.findall(r"^hello: line (\d{5}) of 1200 ", r.out, re.M)
    assert len(got) == 1200 and "hello: PASS" in r.out, f"{len(got)} of 1200 lines\n{r.out[-1500:]}"


@pytest.mark.parametrize("mib", [32, 200, 5000])
def test_memory_map_matches_memory_size(mib):
    """All of --memory is RAM in the map, less at most what the machine keeps
    below 1 MiB; nothing in the MMIO gap below 4 GiB (RAM above 3 GiB moves up)."""
    r = vt.run_guest("hello", memory=mib)
    assert r.rc == 0, str(r)
    ram = [(int(a, 16), int(b, 16)) for a, b in
           re.findall(r"hello: memmap ([0-9a-f]+)-([0-9a-f]+) type 1\b", r.out)]
    total = sum(b - a + 1 for a, b in ram)
    assert (mib - 1) << 20 <= total <= mib << 20, f"RAM {total >> 10} KiB for --memory {mib}\n{r}"
    for a, b in ram:
        assert b < 0xc0000000 or a >= 1 << 32, f"RAM {a:#x}-{b:#x} in the MMIO gap\n{r}"
    if mib > 3072:
        assert any(a == 1 << 32 for a, _ in ram), f"no RAM from 4 GiB up\n{r}"


@pytest.mark.parametrize("code,status", [(0, 0), (1, 1), (16, 16), (42, 42), (255, 255),
                                         (0x12a, 0x2a)])
def test_debug_exit_code(code, status):
    r = vt.run_guest("exitcode", "--cmdline", f"code={code}")
    assert f"exitcode: writing {code} to port 0xf4" in r.out, str(r)
    assert r.rc == status, str(r)


@pytest.mark.parametrize("cpus", [1, 3])
def test_acpi_tables(cpus):
    r = vt.run_guest("acpi", "--cpus", str(cpus))
    assert r.rc == 0, str(r)
    assert f"madt: {cpus} cpus" in r.out, str(r)
    assert "dsdt: _S5 SLP_TYPa" in r.out, str(r)
    assert "acpi: PASS" in r.out, str(r)


@pytest.mark.parametrize("cpus,apic", [(1, "x"), (2, "x"), (4, "x"), (64, "x"), (2, "x2"), (64, "x2")])
def test_smp_all_vcpus_come_up(cpus, apic):
    """INIT/SIPI/SIPI to a real-mode trampoline; every AP reports in from long
    mode; IPIs both ways. apic=x2: all through x2APIC MSRs, as Linux does."""
    r = vt.run_guest("smp", "--cpus", str(cpus), "--cmdline", f"apic={apic}", timeout=90)
    if apic == "x2":
        assert "smp: x2APIC mode" in r.out, str(r)
    assert f"smp: MADT lists {cpus} cpus" in r.out, str(r)
    assert f"smp: {cpus} of {cpus} cpus up" in r.out, str(r)
    assert r.rc == 0, str(r)
    ids = sorted(int(x) for x in re.findall(r"smp: ap \d+ reports apic id (\d+)", r.out))
    assert len(ids) == cpus - 1 and len(set(ids)) == cpus - 1, str(r)
    k = cpus - 1
    assert f"smp: IPIs: {k} of {k} APs took one, {k} answered" in r.out, str(r)


def test_rtc_matches_host_clock():
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    r = vt.run_guest("rtc")
    after = datetime.datetime.now(datetime.timezone.utc)
    assert r.rc == 0, str(r)
    m = re.search(r"rtc: (\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)", r.out)
    assert m, str(r)
    t = datetime.datetime(*map(int, m.groups()), tzinfo=datetime.timezone.utc)
    # the RTC holds UTC; one second either side for the RTC's whole-second steps
    assert before - datetime.timedelta(seconds=1) <= t <= after + datetime.timedelta(seconds=1), \
        f"guest RTC {t} is not host UTC between {before} and {after}\n{r}"
    assert "rtc: ticked" in r.out, str(r)


def test_reset_through_i8042_exits_3():
    r = vt.run_guest("reset")
    assert "reset: writing 0xfe to port 0x64" in r.out, str(r)
    assert r.rc == 3, str(r)


def test_reset_through_the_fadt_reset_register_exits_3():
    """Linux reboots through the FADT's reset register first (reboot=acpi)."""
    r = vt.run_guest("reset", "--cmdline", "via=acpi")
    if r.rc == 77:
        skip_loudly(f"the FADT advertises no reset register: {r.out.strip()}")
    assert "reset: writing" in r.out, str(r)
    assert r.rc == 3, str(r)


def zombie_children(pid):
    n = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        n += fields[0] == "Z" and int(fields[1]) == pid
    return n


def test_reset_with_on_reboot_restart_boots_again(tmp_path):
    """The guest resets at once, again and again: each reset must boot it anew,
    and a control connection made before a reboot must still work after it
    (a supervisor keeps one connection for the VM's life)."""
    with vt.LiveVM("reset", "--on-reboot", "restart", tmp_path=tmp_path) as vm:
        vm.wait_for("reset: writing", timeout=30)
        with vm.connect() as c:
            boots = vm.console.count("reset: writing")
            end = time.monotonic() + 30
            while vm.console.count("reset: writing") < boots + 3:
                assert vm.alive(), f"strata-vm ended instead of restarting\n{vm.describe()}"
                assert time.monotonic() < end, f"no new boots in 30 s\n{vm.describe()}"
                time.sleep(0.02)
            try:
                reply = c.execute("status")
            except OSError as e:
                reply = f"{type(e).__name__}: {e}"
            assert isinstance(reply, dict) and "return" in reply, \
                f"the control connection did not survive a guest reboot: {reply}\n{vm.describe()}"
        # Each machine's first KVM_RUN is made by a short-lived helper process
        # (src/vm/kvm_worker.c); an earlier machine's helper is reaped once
        # that machine is gone: not one zombie per reboot.
        # (the guest keeps rebooting, and each new machine reaps what it can: a
        # loaded host may need a few more boots for the teardowns to finish)
        end = time.monotonic() + 10
        while (zombies := zombie_children(vm.proc.pid)) > 2 and time.monotonic() < end:
            time.sleep(0.1)
        assert zombies <= 2, f"{zombies} zombie children after {vm.console.count('reset: writing')} boots"
        with vm.connect() as c:
            assert "return" in c.execute("quit"), vm.describe()
        assert vm.wait() == 0, vm.describe()


def test_acpi_poweroff_exits_0():
    r = vt.run_guest("poweroff")
    assert "poweroff: SLP_TYP" in r.out, str(r)
    assert "no \\_S5" not in r.out, f"the DSDT has no \\_S5 package\n{r}"
    assert r.rc == 0, str(r)


def test_triple_fault_exits_2_with_rip():
    r = vt.run_guest("triple-fault")
    m = re.search(r"ud2 at 0x([0-9a-f]+)", r.out)
    assert m, str(r)
    assert r.rc == 2, str(r)
    assert m.group(1) in r.err.lower(), f"stderr does not name the guest RIP {m.group(1)}\n{r}"


def test_int3_assist_delivers_breakpoints():
    """This nested KVM's emulator refuses int3: the VMM must inject #BP past it."""
    r = vt.run_guest("int3")
    assert r.rc == 0, str(r)
    assert "int3: 3 breakpoints handled" in r.out, str(r)


def test_fwait_assist_steps_over():
    r = vt.run_guest("fwait")
    assert r.rc == 0, str(r)
    assert "fwait: 3 fwaits done" in r.out, str(r)


@pytest.mark.parametrize("op,insn", [
    ("movd", "66440f6ef9"), ("ldmxcsr", "0fae"), ("popcnt", "f3480fb8"), ("lzcnt", "f3480fbd"),
    ("tzcnt", "f3480fbc"), ("movbe", "0f38f0"), ("crc32", "f20f38f0"), ("cmpxchg16b", "f0480fc7")])
def test_refused_instruction_is_assisted_or_reported(op, insn):
    """Either the VMM performs the instruction faithfully (the guest checks the
    result; #UD passes only where the guest's CPUID hides the feature) or it
    stops with status 2 naming the instruction bytes; a wrong result, a crash
    or a silent skip fails."""
    r = vt.run_guest("sse", "--cmdline", f"op={op}")
    if r.rc == vt.RT_FAIL and Path("/sys/module/kvm_pvm").exists():
        known = {"movbe": "#UD for movbe at", "lzcnt": "sse: lzcnt(10) = 4"}
        if op in known and known[op] in r.out and "CPUID advertises" in r.out:
            skip_loudly(f"{op}: on kvm_pvm, KVM's emulator gets it wrong without any exit to the "
                        f"VMM (movbe: #UD; lzcnt: computed as bsr) although CPUID lists it "
                        f"(docs/nested-kvm.md); console: {r.out.strip().splitlines()[-2]}")
    if r.rc == 0:
        assert "sse: PASS" in r.out, str(r)
        return
    assert r.rc == 2, str(r)
    hexed = re.sub(r"[^0-9a-f]", "", r.err.lower())
    assert insn in hexed, f"stderr does not show the instruction bytes {insn}\n{r}"


@pytest.mark.parametrize("mode", ["irq", "poll"])
def test_serial_input_echo(mode, tmp_path):
    with vt.LiveVM("serial-echo", "--cmdline", f"mode={mode}", tmp_path=tmp_path,
                   control=False) as vm:
        vm.wait_for(f"serial-echo: ready ({mode})")
        vm.send(b"hello strata\n")
        rc = vm.wait(30)
        out = vm.console
        assert "serial-echo: line 'hello strata' (12 bytes" in out, vm.describe()
        assert rc == 0, vm.describe()
        if mode == "irq":
            n = int(re.search(r"(\d+) interrupts", out).group(1))
            assert n >= 1, vm.describe()


def test_serial_input_longer_than_the_fifo(tmp_path):
    """More bytes than a 16550's 16-byte FIFO, sent at once: none may be lost."""
    text = "the quick brown fox jumps over the lazy dog 0123456789"
    with vt.LiveVM("serial-echo", tmp_path=tmp_path, control=False) as vm:
        vm.wait_for("serial-echo: ready (irq)")
        vm.send(text.encode() + b"\n")
        rc = vm.wait(60)
        assert f"serial-echo: line '{text}' ({len(text)} bytes" in vm.console, vm.describe()
        assert rc == 0, vm.describe()


def test_console_on_unix_socket(tmp_path):
    path = str(tmp_path / "console.sock")
    with vt.LiveVM("serial-echo", "--console", f"socket:{path}", tmp_path=tmp_path,
                   control=False) as vm:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        end = time.monotonic() + 20
        while True:
            try:
                s.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                assert vm.alive(), vm.describe()
                assert time.monotonic() < end, f"no console socket at {path}\n{vm.describe()}"
                time.sleep(0.05)
        s.settimeout(30)
        got = b""
        # the guest clears its receive FIFO at start-up: type only once it is ready
        while b"serial-echo: ready" not in got:
            chunk = s.recv(4096)
            assert chunk, f"console socket closed early: {got!r}\n{vm.describe()}"
            got += chunk
        s.sendall(b"via socket\n")
        while b"serial-echo: PASS" not in got:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        s.close()
        text = vt.decode(got)
        assert "serial-echo: line 'via socket'" in text, f"socket console got:\n{text}\n{vm.describe()}"
        assert vm.wait(30) == 0, vm.describe()


def test_timer_interrupts_pit_and_lapic():
    # The guest waits for 10 of each; one more may arrive before it prints the count.
    r = vt.run_guest("timer")
    pit = re.search(r"timer: (\d+) PIT interrupts", r.out)
    lapic = re.search(r"timer: (\d+) LAPIC timer interrupts", r.out)
    assert pit and int(pit.group(1)) >= 10, str(r)
    assert lapic and int(lapic.group(1)) >= 10, str(r)
    assert r.rc == 0, str(r)


def test_serial_output_interrupt_driven():
    r = vt.run_guest("serial-tx")
    text = ("serial-tx: the quick brown fox jumps over the lazy dog; pack my box with five dozen "
            "liquor jugs; 0123456789 abcdefghijklmnopqrstuvwxyz\n")
    assert text in r.out, str(r)
    assert r.rc == 0, str(r)


def test_kvmclock_system_and_wall_time():
    before = time.time()
    r = vt.run_guest("kvmclock")
    after = time.time()
    assert r.rc == 0, str(r)
    m = re.search(r"kvmclock: wall clock (\d+) s since the epoch", r.out)
    assert m, str(r)
    assert int(before) - 1 <= int(m.group(1)) <= int(after) + 1, \
        f"kvmclock wall time {m.group(1)} is not host time {before:.0f}..{after:.0f}\n{r}"


@pytest.mark.parametrize("cpus", [1, 3])
def test_mp_table(cpus):
    r = vt.run_guest("mptable", "--cpus", str(cpus))
    assert f"mptable: {cpus} cpus" in r.out, str(r)
    assert r.rc == 0, str(r)


def test_unassigned_ports_and_mmio_do_not_end_the_vm():
    r = vt.run_guest("unassigned")
    assert "unassigned: mmio fed00000 reads" in r.out, str(r)
    assert r.rc == 0, str(r)


@pytest.mark.parametrize("kind", ["file", "none"])
def test_console_file_and_none(kind, tmp_path):
    out = tmp_path / "console.txt"
    spec = f"file:{out}" if kind == "file" else "none"
    r = vt.run_guest("hello", "--console", spec)
    assert r.rc == 0, str(r)
    assert "hello:" not in r.out, f"console output on stdout with --console {spec}\n{r}"
    if kind == "file":
        assert "hello: PASS" in out.read_text().replace("\r", ""), str(r)


@pytest.mark.parametrize("seed", [1, 0xdecafbad])
def test_random_device_accesses_leave_the_vmm_standing(seed, tmp_path):
    """20000 random port reads/writes of every size on the machine's devices;
    in the sanitizer build this also checks the device models' memory safety.
    A virtio disk sits in a hotplug slot: the random B0EJ writes (ejects
    nobody asked for) must leave it in place, with one warning at most."""
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * (1 << 20))
    r = vt.run_guest("devpoke", "--disk", str(disk), "--cmdline", f"seed={seed}", timeout=120)
    assert "devpoke: PASS" in r.out, str(r)
    assert r.rc == 0, str(r)
    assert "Sanitizer" not in r.err and "runtime error" not in r.err, str(r)
    assert r.err.count("was not asked") <= 1, str(r)


# (--rtc-base, hour in 24h mode, raw hour register in binary 12h mode): PM sets
# bit 7, 00:xx reads as 12 AM and 12:xx as 12 PM; None runs at the host's time.
RTC_BASES = [(None, None, None), ("2026-11-22T13:05:00", 13, "81"),
             ("2026-11-22T00:30:00", 0, "c"), ("2026-11-22T12:10:00", 12, "8c"),
             ("2026-11-22T09:00:00", 9, "9")]


@pytest.mark.parametrize("base,h24,raw12", RTC_BASES, ids=lambda v: str(v))
def test_rtc_binary_and_12_hour_modes_and_nvram(base, h24, raw12):
    r = vt.run_guest("rtc-modes", *(["--rtc-base", base] if base else []))
    assert "rtc-modes: PASS" in r.out, str(r)
    assert r.rc == 0, str(r)
    if base:
        assert f"hour {h24} in 24h mode, raw {raw12} in 12h mode" in r.out, str(r)


def test_rtc_base_sets_the_clock_linux_reads():
    """The rtc guest reads the date a Linux guest would set its clock from."""
    r = vt.run_guest("rtc", "--rtc-base", "2031-02-03T04:05:06")
    assert r.rc == 0, str(r)
    assert "2031-02-03" in r.out, str(r)


def test_multiboot_entry():
    """docs/vm-machine.md: multiboot (v1) ELF test guests get EAX = 0x2badb002 and
    EBX = the multiboot info (memory fields, command line, memory map)."""
    r = vt.run_guest("multiboot", "--cmdline", "mb=1")
    assert "multiboot: PASS" in r.out, str(r)
    assert r.rc == 0, str(r)
    assert "multiboot: cmdline '" in r.out and "mb=1'" in r.out, str(r)


def nx_recovery_workers():
    """KVM's per-VM NX huge page recovery tasks (Linux >= 6.13), by task id."""
    tids = set()
    for comm in Path("/proc").glob("[0-9]*/task/[0-9]*/comm"):
        try:
            if comm.read_text().startswith("kvm-nx-lpage"):
                tids.add(comm.parent.name)
        except OSError:
            pass
    return tids


def test_every_vm_is_destroyed_after_exit(tmp_path):
    """A VM must not outlive strata-vm, however it ends: KVM's NX-recovery worker
    holds the VMM's address space, and with it the VM, until strata-vm's
    guardian (src/vm/kvm_worker.c) breaks that cycle. Each VM's worker must be
    gone after a quit, a guest power-off and a SIGKILL."""
    before = nx_recovery_workers()
    mine = set()
    for how in ("quit", "SIGKILL"):
        with vt.LiveVM("serial-echo", tmp_path=tmp_path) as vm:
            vm.wait_for("serial-echo: ready", timeout=30)
            mine |= nx_recovery_workers() - before
            if how == "quit":
                with vm.connect() as c:
                    assert "return" in c.execute("quit"), vm.describe()
                assert vm.wait() == 0, vm.describe()
            else:
                vm.proc.kill()
                assert vm.wait() == -9, vm.describe()
    r = vt.run_guest("poweroff")
    assert r.rc == 0, str(r)
    if not mine:
        skip_loudly("this kernel starts no NX huge page recovery worker per VM (before "
                    "Linux 6.13, or nx_huge_pages off): nothing to outlive the VMM")
    end = time.monotonic() + 10
    while (left := nx_recovery_workers() - before) and time.monotonic() < end:
        time.sleep(0.1)
    assert not left, f"{len(left)} VM(s) still alive after strata-vm exited (their NX " \
                     f"recovery tasks: {sorted(left)}; {len(mine)} seen while one ran)"
