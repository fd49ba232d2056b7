"""Crash safety: a writer killed with SIGKILL at random moments (25 per
refcount mode, 50 in all). After each kill qemu-img finds no corruption
(leaks are allowed), every write acknowledged before the last completed
flush reads back unless a later write covered it, and a final check -r all
leaves an image qemu-img finds clean."""
import json
import os
import random
import signal
import subprocess
import time

import pytest

from conftest import program
from imgutil import qemu_check_clean, qi, st

SIZE = 32 << 20
KILLS = 25


def writer():
    return str(program("tests", "unit", "block", "crash-writer"))


def parse_log(text):
    writes, flushed = [], 0
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] == "W":
            writes.append(tuple(int(x) for x in parts[1:]))
        elif len(parts) == 2 and parts[0] == "F":
            flushed = int(parts[1])
    return writes, flushed


@pytest.mark.parametrize("opts", ["lazy_refcounts=off,cluster_size=4096", "lazy_refcounts=on"])
def test_sigkill_during_random_writes(tmp_path, opts):
    img = tmp_path / "crash.qcow2"
    st("create", "-f", "qcow2", "-o", opts, img, str(SIZE))
    model = bytearray(SIZE)
    rnd = random.Random(opts)
    leaked_runs = acknowledged = dirty_seen = 0
    for k in range(KILLS):
        p = subprocess.Popen([writer(), str(img), str(rnd.randrange(1 << 30))], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(rnd.uniform(0.02, 0.4))
        p.send_signal(signal.SIGKILL)
        out, errs = p.communicate()
        assert p.returncode == -signal.SIGKILL, f"writer ended on its own: {errs}"
        writes, flushed = parse_log(out)
        acknowledged += flushed
        # the state every flushed write promises, and what later writes may have touched
        maybe = bytearray(SIZE)
        for wid, off, ln, byte in writes:
            if wid <= flushed:
                model[off:off + ln] = bytes([byte]) * ln
            else:
                maybe[off:off + ln] = b"\x01" * ln
        chk = qi("check", "--output=json", img, ok=None)
        verdict = json.loads(chk.stdout)
        dirty_seen += json.loads(qi("info", "--output=json", img).stdout)["dirty-flag"]
        assert verdict.get("corruptions", 0) == 0 and chk.returncode in (0, 3), chk.stdout + chk.stderr
        leaked_runs += chk.returncode == 3
        raw = tmp_path / "now.raw"
        st("convert", "-f", "qcow2", "-O", "raw", img, raw)
        now = open(raw, "rb").read()
        for i in range(0, SIZE, 4096):
            a, b, m = model[i:i + 4096], now[i:i + 4096], maybe[i:i + 4096]
            if a != b:
                bad = [j for j in range(4096) if a[j] != b[j] and not m[j]]
                assert not bad, f"kill {k}: acknowledged data lost at offset {i + bad[0]}"
        model = bytearray(now)   # what landed after the flush is the new baseline
    assert acknowledged > 10 * KILLS, "the writer barely wrote anything before each kill"
    # lazy refcounts: killed writers leave the dirty bit, the next read-write open repairs and clears it
    assert (dirty_seen > 0) == ("lazy_refcounts=on" in opts)
    st("check", "-r", "all", img, ok=(0,))
    qemu_check_clean(img)
