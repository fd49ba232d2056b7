#!/usr/bin/python3
"""A stand-in for strata-vm that runs no guest, for testing stratad's console
path on a host without /dev/kvm: it serves the same two sockets stratad uses,
--console socket:PATH (one client at a time, a new one replaces the old and
gets the history, as strata-vm's console.c) and --control PATH (JSON lines:
{"execute": CMD} -> {"return": {...}}). Its "guest" prints a banner and echoes
every byte it is sent, upper-cased after the marker "ECHO:" so a test can
tell the echo from its own input ("!flood LINES SIZE RATE" instead writes
timestamped lines: flood()). "powerdown" or "quit" ends it (exit 0).

For stratad's own tests it also writes its command line to
STATE/fake-vmm-UUID.argv (JSON; STATE is stratad's state directory, UUID the
domain's, both from --control STATE/run/UUID.ctl), and while a file
STATE/fake-vmm-UUID.hold exists it does not come up: it writes
STATE/fake-vmm-UUID.waiting and waits until the test removes the hold file,
so a test can keep a start in progress for as long as it wants."""
import json
import os
import selectors
import socket
import sys
import time


def arg(name):
    return sys.argv[sys.argv.index(name) + 1]


def listen(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(16)
    return s


def hold_while_asked():
    """The command line for the test, then the hold (see above)."""
    ctl = arg("--control")
    state = os.path.dirname(os.path.dirname(ctl))
    base = os.path.join(state, "fake-vmm-" + os.path.basename(ctl).rsplit(".", 1)[0])
    with open(base + ".argv.tmp", "w") as f:
        json.dump(sys.argv[1:], f)
    os.rename(base + ".argv.tmp", base + ".argv")
    if os.path.exists(base + ".hold"):
        open(base + ".waiting", "w").close()
        while os.path.exists(base + ".hold"):
            time.sleep(0.05)


def flood(sock, lines, size, rate):
    """For the console bench: lines of size bytes ("T" + CLOCK_MONOTONIC ns
    when written, padding, CRLF), rate a second (0: as fast as stratad takes
    them), then "END-FLOOD". Not kept in the history."""
    pad = b"x" * max(0, size - 23)
    start = time.monotonic()
    for i in range(lines):
        if rate:
            ahead = start + i / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        sock.sendall(b"T%019d " % time.monotonic_ns() + pad + b"\r\n")
    sock.sendall(b"END-FLOOD\r\n")


def main():
    hold_while_asked()
    console = listen(arg("--console").split(":", 1)[1])
    control = listen(arg("--control"))
    sel = selectors.DefaultSelector()
    sel.register(console, selectors.EVENT_READ, "console-listen")
    sel.register(control, selectors.EVENT_READ, "control-listen")
    history = bytearray(b"fake-vmm: guest console ready\r\n")
    client = None
    while True:
        for key, _ in sel.select():
            what, sock = key.data, key.fileobj
            if what == "console-listen":
                if client:
                    sel.unregister(client)
                    client.close()
                client, _ = console.accept()
                client.sendall(bytes(history))
                sel.register(client, selectors.EVENT_READ, "console")
            elif what == "console":
                data = sock.recv(4096)
                if not data:
                    sel.unregister(sock)
                    sock.close()
                    client = None
                    continue
                if data.startswith(b"!flood "):  # bench/web-console-viewers.py
                    flood(sock, *(int(x) for x in data.split()[1:4]))
                    continue
                out = b"ECHO:" + data.upper() + b"\r\n"
                history += out
                sock.sendall(out)
            elif what == "control-listen":
                conn, _ = control.accept()
                line = b""
                while not line.endswith(b"\n"):
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    line += chunk
                cmd = json.loads(line or b"{}").get("execute")
                reply = {"return": {"status": "running"}}
                if cmd == "query-devices":
                    reply = {"return": []}
                conn.sendall(json.dumps(reply).encode() + b"\n")
                conn.close()
                if cmd in ("powerdown", "quit"):
                    return 0


if __name__ == "__main__":
    sys.exit(main())
