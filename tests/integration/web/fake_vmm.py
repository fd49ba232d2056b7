#!/usr/bin/python3
"""A stand-in for strata-vm that runs no guest, for testing stratad's console
path on a host without /dev/kvm: it serves the same two sockets stratad uses,
--console socket:PATH (one client at a time, a new one replaces the old and
gets the history, as strata-vm's console.c) and --control PATH (JSON lines:
{"execute": CMD} -> {"return": {...}}). Its "guest" prints a banner and echoes
every byte it is sent, upper-cased after the marker "ECHO:" so a test can
tell the echo from its own input. "powerdown" or "quit" ends it (exit 0)."""
import json
import os
import selectors
import socket
import sys


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


def main():
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
