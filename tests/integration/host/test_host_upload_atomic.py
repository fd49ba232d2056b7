"""Issue 13, item 3: an upload goes to a hidden file and replaces the volume
only once complete. A full disk (a small tmpfs here) is a 507 with a clear
message; a failed or interrupted upload leaves the old volume byte for byte
and nothing else (no file, no space used)."""
import os
import socket
import subprocess

import pytest

from conftest import skip_loudly, wait_for
from hostlib import stratad  # noqa: F401  (fixture)

FS_BYTES = 8 << 20


@pytest.fixture
def small_pool(stratad, tmp_path):
    if os.geteuid() != 0:
        skip_loudly("mounting a small tmpfs needs root")
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={FS_BYTES}", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        skip_loudly(f"cannot mount a tmpfs: {r.stderr.strip()}")
    try:
        stratad.ok("POST", "/v1/pools", {"name": "small", "type": "dir", "path": str(mnt)})
        yield stratad, mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def free_blocks(path):
    return os.statvfs(path).f_bfree


def test_full_disk_leaves_the_volume_as_it_was(small_pool):
    d, mnt = small_pool
    old = os.urandom(4 << 20)
    st, info = d.call("PUT", "/v1/pools/small/volumes/v/data", raw=old)
    assert st == 200 and info["capacity"] == 4 << 20, info
    free = free_blocks(mnt)

    # 10 MiB do not fit on an 8 MiB file system
    st, reply = d.call("PUT", "/v1/pools/small/volumes/v/data", raw=os.urandom(10 << 20))
    assert st == 507, (st, reply)
    msg = reply["error"]["message"]
    assert "No space left on device" in msg and "unchanged" in msg and "\n" not in msg, msg
    assert (mnt / "v").read_bytes() == old
    assert os.listdir(mnt) == ["v"]
    wait_for("the failed upload's blocks freed", lambda: free_blocks(mnt) == free)

    # a new volume that does not fit: nothing is left behind
    st, reply = d.call("PUT", "/v1/pools/small/volumes/w/data", raw=os.urandom(6 << 20))
    assert st == 507, (st, reply)
    assert os.listdir(mnt) == ["v"] and d.call("GET", "/v1/pools/small/volumes/w")[0] == 404
    wait_for("the failed upload's blocks freed", lambda: free_blocks(mnt) == free)

    # an upload that fits still replaces the volume
    new = os.urandom(1 << 20)
    assert d.call("PUT", "/v1/pools/small/volumes/v/data", raw=new)[0] == 200
    assert (mnt / "v").read_bytes() == new and os.listdir(mnt) == ["v"]


def test_interrupted_upload_leaves_the_volume_as_it_was(small_pool):
    d, mnt = small_pool
    old = os.urandom(1 << 20)
    assert d.call("PUT", "/v1/pools/small/volumes/v/data", raw=old)[0] == 200
    free = free_blocks(mnt)
    for vol in ("v", "fresh"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(d.sock)
        s.sendall(f"PUT /v1/pools/small/volumes/{vol}/data HTTP/1.1\r\nHost: x\r\n"
                  f"Content-Length: {2 << 20}\r\n\r\n".encode())
        s.sendall(os.urandom(1 << 20))
        # the half-sent body takes space until the connection goes (or, in
        # place, changes the volume)
        wait_for("the upload's first half written",
                 lambda: free_blocks(mnt) < free - 128 or (mnt / "v").read_bytes() != old)
        s.close()
        wait_for("the interrupted upload's blocks freed", lambda: free_blocks(mnt) == free)
        assert (mnt / "v").read_bytes() == old
        assert os.listdir(mnt) == ["v"]
    assert d.call("GET", "/v1/pools/small/volumes/fresh")[0] == 404
