"""The test guests themselves, checked on Debian's QEMU (TCG, -M pc): they must
pass there, so a guest failing under strata-vm points at strata-vm, not at the
guest. QEMU's isa-debug-exit ends with status (v << 1) | 1; its reset and ACPI
power-off (with -no-reboot) end with status 0."""
import re
import shutil
import subprocess

import pytest

import vmtest as vt
from conftest import skip_loudly

QEMU = shutil.which("qemu-system-x86_64")


def qemu(guest_name, *args, input=None, timeout=60):
    if not QEMU:
        skip_loudly("qemu-system-x86_64 is not installed (scripts/deps/guest.txt lists it)")
    cmd = [QEMU, "-M", "pc", "-accel", "tcg", "-cpu", "qemu64", "-m", "64", "-display", "none",
           "-no-reboot", "-nodefaults", "-serial", "stdio",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
           "-kernel", str(vt.guest(guest_name)), *args]
    return vt.run(cmd, input=input, timeout=timeout)


PASS = 1  # debug exit 0 under QEMU


@pytest.mark.parametrize("name,args,status,text", [
    ("hello", ["-append", "x=1"], PASS, "hello: PASS"),
    ("multiboot32", ["-append", "mb=1"], PASS, "multiboot: PASS"),
    ("exitcode", ["-append", "code=42"], (42 << 1) | 1, "writing 42"),
    ("acpi", ["-smp", "3"], PASS, "madt: 3 cpus"),
    ("smp", ["-smp", "4"], PASS, "smp: 4 of 4 cpus up"),
    ("rtc", [], PASS, "rtc: PASS"),
    ("rtc-modes", [], PASS, "rtc-modes: PASS"),
    ("rtc-modes", ["-rtc", "base=2026-11-22T13:05:00"], PASS, "hour 13 in 24h mode, raw 81 in 12h mode"),
    ("rtc-modes", ["-rtc", "base=2026-11-22T00:30:00"], PASS, "hour 0 in 24h mode, raw c in 12h mode"),
    ("rtc", ["-rtc", "base=2031-02-03T04:05:06"], PASS, "rtc: 2031-02-03 04:05:0"),
    ("reset", [], 0, "reset: writing 0xfe"),
    ("poweroff", [], 0, "poweroff: SLP_TYP"),
    ("triple-fault", [], 0, "triple-fault: ud2 at"),
    ("int3", [], PASS, "int3: PASS"),
    ("fwait", [], PASS, "fwait: PASS"),
    ("sse", ["-append", "op=movd"], PASS, "sse: PASS"),
    ("sse", ["-append", "op=ldmxcsr"], PASS, "sse: PASS"),
    ("sse", ["-append", "op=popcnt"], PASS, "sse: PASS"),
    ("sse", ["-append", "op=movbe"], PASS, "sse: PASS"),
    ("sse", ["-append", "op=cmpxchg16b"], PASS, "sse: PASS"),
    ("timer", [], PASS, "timer: PASS"),
    ("serial-tx", [], PASS, "serial-tx: PASS"),
    # SeaBIOS's MP table lists one CPU here whatever -smp says: one CPU only
    ("mptable", [], PASS, "mptable: PASS"),
    ("syscall0", ["-append", "rounds=4"], PASS, "syscall0: 4 SYSCALLs from ring 0 completed"),
    ("rtc-irq", [], PASS, "rtc-irq: PASS"),
    ("fw-cfg", ["-smp", "2", "-fw_cfg", "name=opt/strata/test,string=hello-fw-cfg-0123", "-append",
                "file=opt/strata/test expect=hello-fw-cfg-0123 ram_mib=64"], PASS, "fw-cfg: PASS"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_guest_on_qemu(name, args, status, text):
    r = qemu(name, *args)
    assert text in r.out, str(r)
    assert r.rc == status, str(r)
    assert "FAIL" not in r.out, str(r)


def test_acpi_reset_register_on_qemu_q35():
    """q35, because the pc machine's FADT (revision 1) has no reset register."""
    if not QEMU:
        skip_loudly("qemu-system-x86_64 is not installed")
    r = vt.run([QEMU, "-M", "q35", "-accel", "tcg", "-cpu", "qemu64", "-m", "64", "-display", "none",
                "-no-reboot", "-nodefaults", "-serial", "stdio",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                "-kernel", str(vt.guest("reset")), "-append", "via=acpi"], timeout=60)
    assert "reset: writing" in r.out and r.rc == 0, str(r)


def test_smp_x2apic_on_qemu_kvm(kvm):
    """QEMU 7.2's TCG has no x2APIC: this one runs QEMU on KVM."""
    if not QEMU:
        skip_loudly("qemu-system-x86_64 is not installed")
    r = vt.run([QEMU, "-M", "pc", "-accel", "kvm", "-cpu", "qemu64,+x2apic", "-m", "64", "-smp", "4",
                "-display", "none", "-no-reboot", "-nodefaults", "-serial", "stdio",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                "-kernel", str(vt.guest("smp")), "-append", "apic=x2"], timeout=60)
    assert "smp: x2APIC mode" in r.out and "smp: 4 of 4 cpus up" in r.out and r.rc == PASS, str(r)


def test_unassigned_on_qemu_microvm():
    """microvm, because QEMU's pc has a floppy and IDE controller on the probed ports."""
    if not QEMU:
        skip_loudly("qemu-system-x86_64 is not installed")
    r = vt.run([QEMU, "-M", "microvm", "-accel", "tcg", "-cpu", "qemu64", "-m", "64", "-display", "none",
                "-no-reboot", "-nodefaults", "-serial", "stdio",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                "-kernel", str(vt.guest("unassigned"))], timeout=60)
    assert "unassigned: PASS" in r.out and r.rc == PASS, str(r)


def test_kvmclock_on_qemu_kvm(kvm):
    """TCG has no KVM clock: this one runs QEMU on KVM (-cpu qemu64 works here)."""
    if not QEMU:
        skip_loudly("qemu-system-x86_64 is not installed")
    r = vt.run([QEMU, "-M", "pc", "-accel", "kvm", "-cpu", "qemu64", "-m", "64", "-display", "none",
                "-no-reboot", "-nodefaults", "-serial", "stdio",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                "-kernel", str(vt.guest("kvmclock"))], timeout=60)
    assert "kvmclock: PASS" in r.out and r.rc == PASS, str(r)


def test_serial_echo_on_qemu():
    """Interrupt-driven input, typed once the guest is ready (it clears its
    receive FIFO at start-up)."""
    if not QEMU:
        skip_loudly("qemu-system-x86_64 is not installed")
    cmd = [QEMU, "-M", "pc", "-accel", "tcg", "-cpu", "qemu64", "-m", "64", "-display", "none",
           "-no-reboot", "-nodefaults", "-serial", "stdio",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", str(vt.guest("serial-echo"))]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out = b""
        while b"serial-echo: ready" not in out:
            line = p.stdout.readline()
            assert line, f"QEMU ended before the guest was ready: {out!r}"
            out += line
        p.stdin.write(b"hello qemu\n")
        p.stdin.flush()
        rest, _ = p.communicate(timeout=60)
        out = vt.decode(out + rest)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert "serial-echo: line 'hello qemu'" in out, out
    m = re.search(r"(\d+) interrupts", out)
    assert m and int(m.group(1)) >= 1 and p.returncode == PASS, f"status {p.returncode}\n{out}"
