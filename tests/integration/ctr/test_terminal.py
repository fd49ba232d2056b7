"""process.terminal: the pty master goes to --console-socket (SCM_RIGHTS), or a
foreground run proxies it; the process has a controlling terminal."""
import array
import os
import socket
import threading

from ctrlib import ctr  # noqa: F401  (fixture)


def test_foreground_run_proxies_the_terminal(ctr):
    ctr.config["process"]["terminal"] = True
    ctr.config["process"]["consoleSize"] = {"height": 33, "width": 111}
    r = ctr.run("/bin/sh", "-c", "tty; [ -t 0 ] && echo stdin-is-a-tty; stty size; exit 3")
    assert r.returncode == 3, r.stderr
    out = r.stdout.replace("\r", "")
    assert "/dev/pts/0" in out and "stdin-is-a-tty" in out
    assert "33 111" in out  # process.consoleSize


def test_console_socket_receives_the_master(ctr, tmp_path):
    path = str(tmp_path / "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    got = {}

    def accept():
        conn, _ = srv.accept()
        fds = array.array("i")
        msg, anc, _, _ = conn.recvmsg(16, socket.CMSG_SPACE(fds.itemsize))
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[: fds.itemsize])
        got["fd"] = fds[0] if fds else None
        conn.close()

    t = threading.Thread(target=accept)
    t.start()
    ctr.config["process"]["terminal"] = True
    ctr.args("/bin/sh", "-c", "echo console-$((6*7)); tty")
    cid = ctr.new_id()
    r = ctr("create", "--console-socket", path, cid)
    t.join(10)
    srv.close()
    assert r.returncode == 0, r.stderr
    master = got.get("fd")
    assert master is not None
    ctr("start", cid, check=True)
    data = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO once the container's side is closed
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    text = data.decode().replace("\r", "")
    assert "console-42" in text and "/dev/pts/0" in text
    ctr("delete", "--force", cid, check=True)
    ctr.assert_clean(cid)


def test_create_with_terminal_needs_console_socket(ctr):
    ctr.config["process"]["terminal"] = True
    ctr.args("/bin/true")
    cid = ctr.new_id()
    r = ctr("create", cid)
    assert r.returncode != 0 and "--console-socket" in r.stderr
    ctr.assert_clean(cid)


def test_exec_tty_is_proxied(ctr):
    ctr.args("/bin/sleep", "300")
    cid = ctr.new_id()
    ctr("run", "-d", cid, check=True)
    r = ctr("exec", "--tty", cid, "/bin/sh", "-c", "tty; exit 2")
    assert r.returncode == 2, r.stderr
    assert "/dev/pts/" in r.stdout
    r = ctr("exec", "--tty", "-d", cid, "/bin/true")
    assert r.returncode != 0 and "--console-socket" in r.stderr
    ctr("delete", "--force", cid, check=True)
    ctr.assert_clean(cid)
