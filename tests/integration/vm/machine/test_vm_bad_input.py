"""Bad input to strata-vm: each case must end with one clear line on stderr
and a nonzero exit status, never a crash, a core dump or a running guest."""
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

import linux_guest
import vmtest as vt
from conftest import skip_loudly


@pytest.fixture(autouse=True)
def _kvm(kvm):
    """Every check below must be reached on a host where KVM itself works."""
    return kvm


def bad(args, tmp_path, timeout=30):
    """Runs strata-vm in tmp_path; checks the contract; returns the error line."""
    return _bad_cmd([vt.vm_binary(), *args], tmp_path, timeout)


def _bad_cmd(cmd, tmp_path, timeout=30):
    r = vt.run(cmd, cwd=tmp_path, timeout=timeout)
    line = vt.one_error_line(r)
    cores = [p.name for p in Path(tmp_path).iterdir() if p.name.startswith("core")]
    assert not cores, f"core dump(s) {cores}\n{r}"
    return line


def kernel_args(kernel, *more):
    return ["--kernel", str(kernel), "--memory", "64", *more]


# --- command line ------------------------------------------------------------

def test_no_kernel(tmp_path):
    line = bad(["--memory", "64"], tmp_path)
    assert "kernel" in line, line


def test_unknown_option(tmp_path):
    line = bad([*kernel_args(vt.guest("hello")), "--frobnicate"], tmp_path)
    assert "frobnicate" in line, line


@pytest.mark.parametrize("value", ["0", "-1", "abc", "12x", "99999999999999",
                                   "18446744073709551616", ""])
def test_bad_memory_size(value, tmp_path):
    line = bad(["--kernel", str(vt.guest("hello")), "--memory", value], tmp_path)
    assert "memory" in line.lower(), line


@pytest.mark.parametrize("value", ["0", "-1", "two", "100000", "5000"])
def test_bad_cpu_count(value, tmp_path):
    line = bad([*kernel_args(vt.guest("hello")), "--cpus", value], tmp_path)
    assert "cpu" in line.lower(), line


@pytest.mark.parametrize("opt,value", [("--on-reboot", "explode"), ("--console", "tty:/nope"),
                                       ("--cpu-features", "-no-such-feature"),
                                       ("--rtc-base", "2026-13-22"), ("--rtc-base", "yesterday"),
                                       ("--rtc-base", "2026-11-22T25:00:00"), ("--seccomp", "yes")])
def test_bad_option_values(opt, value, tmp_path):
    bad([*kernel_args(vt.guest("hello")), opt, value], tmp_path)


# --- kernel files --------------------------------------------------------------

def test_missing_kernel(tmp_path):
    line = bad(kernel_args(tmp_path / "no-such-kernel"), tmp_path)
    assert "no-such-kernel" in line, line


def test_kernel_is_a_directory(tmp_path):
    d = tmp_path / "a-directory"
    d.mkdir()
    line = bad(kernel_args(d), tmp_path)
    assert "a-directory" in line, line


@pytest.mark.parametrize("content", [b"", b"hello, I am not a kernel\n" * 40,
                                     bytes(range(256)) * 64],
                         ids=["empty", "text", "binary"])
def test_not_a_kernel(content, tmp_path):
    k = tmp_path / "not-a-kernel"
    k.write_bytes(content)
    bad(kernel_args(k), tmp_path)


def test_elf_for_another_machine(tmp_path):
    elf = bytearray(vt.guest("hello").read_bytes())
    elf[18:20] = (183).to_bytes(2, "little")  # e_machine = EM_AARCH64
    k = tmp_path / "aarch64.elf"
    k.write_bytes(bytes(elf))
    bad(kernel_args(k), tmp_path)


def test_elf_truncated(tmp_path):
    k = tmp_path / "cut.elf"
    k.write_bytes(vt.guest("hello").read_bytes()[:200])
    bad(kernel_args(k), tmp_path)


def test_user_program_is_not_a_kernel(tmp_path):
    """A dynamically linked host program (ET_DYN, no PVH note) is not bootable."""
    bad(kernel_args(shutil.which("true")), tmp_path)


def linux_bzimage():
    p = linux_guest.asset("debian-cloud.bzImage")
    if p is None:
        boots = sorted(Path("/boot").glob("vmlinuz-*"))
        p = boots[-1] if boots else None
    if p is None:
        skip_loudly("no bzImage to truncate: run scripts/fetch-assets.sh (Debian's "
                    "linux-image-cloud-amd64) or install a kernel in /boot")
    return p


@pytest.mark.parametrize("keep", ["512", "1024", "8192", "half", "all-but-4k"])
def test_truncated_bzimage(keep, tmp_path):
    data = linux_bzimage().read_bytes()
    assert data[0x202:0x206] == b"HdrS", "the asset is not a bzImage"
    n = {"half": len(data) // 2, "all-but-4k": len(data) - 4096}.get(keep) or int(keep)
    k = tmp_path / f"bzImage-{keep}"
    k.write_bytes(data[:n])
    bad(kernel_args(k), tmp_path, timeout=30)


# --- initrd ----------------------------------------------------------------------

def test_missing_initrd(tmp_path):
    line = bad([*kernel_args(vt.guest("hello")), "--initrd", str(tmp_path / "no-initrd")], tmp_path)
    assert "no-initrd" in line, line


def test_initrd_larger_than_memory(tmp_path):
    big = tmp_path / "huge-initrd"
    with open(big, "wb") as f:
        f.truncate(100 << 20)  # sparse: 100 MiB for a 64 MiB guest
    line = bad([*kernel_args(vt.guest("hello")), "--initrd", str(big)], tmp_path)
    assert "initrd" in line.lower(), line


# --- /dev/kvm ----------------------------------------------------------------------

def test_kvm_device_missing_option(tmp_path):
    line = bad([*kernel_args(vt.guest("hello")), "--kvm-device", str(tmp_path / "no-kvm")], tmp_path)
    assert "no-kvm" in line, line


def in_mount_namespace(setup, args, tmp_path):
    """Runs strata-vm in a private mount namespace after the shell commands in setup."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        skip_loudly("needs root and unshare(1) for a private mount namespace")
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"], capture_output=True)
    if probe.returncode != 0:
        skip_loudly(f"cannot make a mount namespace here: {probe.stderr.decode().strip()}")
    script = f'{setup} && exec "$@"'
    return _bad_cmd(["unshare", "-m", "--propagation", "private", "sh", "-c", script,
                     "sh", str(vt.vm_binary()), *args], tmp_path)



def test_dev_kvm_missing(tmp_path):
    # an empty /dev: no kvm node at all
    guest = tmp_path / "hello.elf"
    shutil.copy(vt.guest("hello"), guest)
    line = in_mount_namespace("mount -t tmpfs none /dev", kernel_args(guest), tmp_path)
    assert "kvm" in line.lower(), line


def test_dev_kvm_is_not_kvm(tmp_path):
    line = in_mount_namespace("mount --bind /dev/null /dev/kvm", kernel_args(vt.guest("hello")),
                              tmp_path)
    assert "kvm" in line.lower(), line


def test_dev_kvm_not_permitted(tmp_path):
    """An unprivileged user who may not open /dev/kvm (it is 0600 root here)."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        skip_loudly("needs root and setpriv(1) to run strata-vm as an unprivileged user")
    st = os.stat("/dev/kvm")
    if st.st_mode & stat.S_IROTH and st.st_mode & stat.S_IWOTH:
        skip_loudly("/dev/kvm is open to every user on this host")
    share = Path(tmp_path) / "share"
    share.mkdir()
    guest = share / "hello.elf"
    shutil.copy(vt.guest("hello"), guest)
    for p in (tmp_path, share, guest):
        os.chmod(p, 0o755)
    line = _bad_cmd(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                     str(vt.vm_binary()), *kernel_args(guest)], tmp_path)
    assert "kvm" in line.lower(), line
