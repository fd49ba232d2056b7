"""A slow disk the test controls: a FUSE file system (fusepy, multithreaded)
serving one image file, disk.img, backed by a plain file. A read or a write
that touches the held sector does not return until the test releases it:
the server creates CONTROL/held-read (or held-write) when the request
arrives, waits for CONTROL/release-read (or release-write), serves it, then
creates CONTROL/done-read (done-write). A hold lasts at most HOLD_LIMIT
seconds (then the request fails with EIO), so nothing hangs forever.
Every other request is served at once. direct_io: each request of the
kernel reaches the server as it was made, with no page cache or readahead
between. Usage: slow_fuse.py BACKING MOUNTPOINT CONTROL HELD_OFFSET."""
import errno
import os
import stat
import sys
import time

from fusepy import FUSE, FuseOSError, Operations  # python3-fusepy (Debian names it fusepy)

HOLD_LIMIT = 120
SECTOR = 512


class SlowImage(Operations):
    def __init__(self, backing, control, held):
        self.fd = os.open(backing, os.O_RDWR)
        self.size = os.fstat(self.fd).st_size
        self.control, self.held = control, held

    def _flag(self, name):
        return os.path.join(self.control, name)

    def _touches(self, offset, length):
        return offset < self.held + SECTOR and offset + length > self.held

    def _hold(self, kind, offset, length):
        """Blocks a request touching the held sector until the test releases it."""
        if not self._touches(offset, length):
            return
        open(self._flag(f"held-{kind}"), "w").close()
        deadline = time.monotonic() + HOLD_LIMIT
        while not os.path.exists(self._flag(f"release-{kind}")):
            if time.monotonic() > deadline:
                raise FuseOSError(errno.EIO)
            time.sleep(0.02)

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
        self._hold("read", offset, size)
        data = os.pread(self.fd, size, offset)
        if self._touches(offset, size):
            open(self._flag("done-read"), "w").close()
        return data

    def write(self, path, data, offset, fh):
        self._hold("write", offset, len(data))
        n = os.pwrite(self.fd, data, offset)
        if self._touches(offset, len(data)):
            open(self._flag("done-write"), "w").close()
        return n

    def truncate(self, path, length, fh=None):
        raise FuseOSError(errno.EPERM)

    def fsync(self, path, datasync, fh):
        os.fsync(self.fd)
        return 0

    def flush(self, path, fh):
        return 0


def main():
    backing, mountpoint, control, held = sys.argv[1:5]
    FUSE(SlowImage(backing, control, int(held)), mountpoint, foreground=True, nothreads=False,
         direct_io=True)


if __name__ == "__main__":
    main()
