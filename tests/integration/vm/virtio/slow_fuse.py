"""A slow disk the test controls: a FUSE file system (fusepy, multithreaded)
serving one image file, disk.img, backed by a plain file. A read or a write
that touches the held sector does not return until the test releases it:
the Nth such request (from 1) creates CONTROL/held-N (holding "read" or
"write") when it arrives, waits for CONTROL/release-N, is served, then
creates CONTROL/done-N. A hold lasts at most HOLD_LIMIT seconds (then the
request fails with EIO), so nothing hangs forever.
Every other request is served at once. MODE direct_io: each request
reaches the server as it was made; cached: through the kernel's page cache
(readahead, write-through). Usage:
slow_fuse.py BACKING MOUNTPOINT CONTROL HELD_OFFSET direct_io|cached"""
import errno
import os
import stat
import sys
import threading
import time

from fusepy import FUSE, FuseOSError, Operations  # python3-fusepy (Debian names it fusepy)

HOLD_LIMIT = 120
SECTOR = 512


class SlowImage(Operations):
    def __init__(self, backing, control, held):
        self.fd = os.open(backing, os.O_RDWR)
        self.size = os.fstat(self.fd).st_size
        self.control, self.held = control, held
        self.count, self.lock = 0, threading.Lock()

    def _flag(self, name):
        return os.path.join(self.control, name)

    def _touches(self, offset, length):
        return offset < self.held + SECTOR and offset + length > self.held

    def _held(self, kind, offset, length, serve):
        """serve(), after the test's release if the request touches the held sector."""
        if not self._touches(offset, length):
            return serve()
        with self.lock:
            self.count += 1
            n = self.count
        with open(self._flag(f"held-{n}"), "w") as f:
            f.write(kind)
        deadline = time.monotonic() + HOLD_LIMIT
        while not os.path.exists(self._flag(f"release-{n}")):
            if time.monotonic() > deadline:
                raise FuseOSError(errno.EIO)
            time.sleep(0.02)
        result = serve()
        open(self._flag(f"done-{n}"), "w").close()
        return result

    def getattr(self, path, fh=None):
        if path == "/":
            return {"st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2}
        if path != "/disk.img":
            raise FuseOSError(errno.ENOENT)
        return {"st_mode": stat.S_IFREG | 0o644, "st_nlink": 1, "st_size": self.size}

    def readdir(self, path, fh):
        return [".", "..", "disk.img"]

    def open(self, path, flags):
        if path != "/disk.img":
            raise FuseOSError(errno.ENOENT)
        return 0

    def read(self, path, size, offset, fh):
        return self._held("read", offset, size, lambda: os.pread(self.fd, size, offset))

    def write(self, path, data, offset, fh):
        return self._held("write", offset, len(data), lambda: os.pwrite(self.fd, data, offset))

    def truncate(self, path, length, fh=None):
        raise FuseOSError(errno.EPERM)

    def fsync(self, path, datasync, fh):
        os.fsync(self.fd)
        return 0

    def flush(self, path, fh):
        return 0


def main():
    backing, mountpoint, control, held, mode = sys.argv[1:6]
    FUSE(SlowImage(backing, control, int(held)), mountpoint, foreground=True, nothreads=False,
         direct_io=mode == "direct_io")


if __name__ == "__main__":
    main()
