"""A source truncated by another process during convert: convert reads cached
source data through a read-only mapping, where a page past the new end of the
file raises SIGBUS. It must fail with one clear error line, never crash.

How the race is made deterministic: convert runs with -p (progress on a pipe),
one worker and compression of compressible data, so it takes seconds and
spends them reading the mapping. The test waits for the first progress line
(the source is mapped and being read), stops the process with SIGSTOP, checks
it is stopped before the end, truncates the source, and lets it continue: the
truncation happens mid-convert every time (a convert that ended before it could
be stopped, on a loaded machine, is run again)."""
import os
import signal
import subprocess
import time

import pytest

from imgutil import strata

SIZE = 128 << 20


def compressible_source(path):
    line = b"".join(b"strata block %08d compressible but never zero\n" % i for i in range(1 << 12))
    with open(path, "wb") as f:
        for _ in range(SIZE // len(line) + 1):
            f.write(line)
        f.truncate(SIZE)
    with open(path, "rb") as f:  # in the page cache: convert works on the mapping
        while f.read(1 << 24):
            pass


def state(pid):
    """'T' once stopped, 'Z' when it ended first."""
    for _ in range(2000):
        with open(f"/proc/{pid}/stat") as f:
            s = f.read().rsplit(")", 1)[1].split()[0]
        if s in "TZ":
            return s
        time.sleep(0.005)
    raise AssertionError("convert neither stopped on SIGSTOP nor ended")


def convert_and_truncate(src, dst, args, new_size):
    """The convert's exit code and stderr, or None when it ended before it
    could be stopped (a loaded machine: the caller tries again)."""
    p = subprocess.Popen([strata(), "convert", "-p", *args, str(src), str(dst)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # the first progress figure above zero: the workers are reading the mapping
        buf = b""
        while True:
            ch = p.stdout.read(1)
            if not ch:
                p.wait()
                return None
            buf += ch
            if ch == b"\r" and b"(0.00/100%)" not in buf.rsplit(b"\r", 2)[-2]:
                break
        os.kill(p.pid, signal.SIGSTOP)
        if state(p.pid) == "Z":
            return None
        os.truncate(src, new_size)
        os.kill(p.pid, signal.SIGCONT)
        out, err = p.communicate(timeout=300)
        return p.returncode, err.decode()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


@pytest.mark.parametrize("target", [["-O", "qcow2", "-c"], ["-O", "raw"]])
@pytest.mark.parametrize("new_size", [0, 4 << 20])
def test_source_truncated_during_convert_fails_cleanly(tmp_path, target, new_size):
    src, dst = tmp_path / "src.raw", tmp_path / "dst.img"
    workers = ["-m", "1"] if "-c" in target else ["-m", "2", "-S", "0"]
    for _ in range(5):
        compressible_source(src)
        r = convert_and_truncate(src, dst, ["-f", "raw", *target, *workers], new_size)
        if r:
            break
    else:
        pytest.fail("convert ended five times before it could be stopped mid-way")
    code, err = r
    if code == 0:
        pytest.fail(f"convert succeeded although its source shrank mid-way: {err}")
    assert code == 1, f"convert died with {code} (signal {-code}): {err}"
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "shrank" in lines[0] and str(src) in lines[0], err
