"""The host side of the virtio-net test guest, run inside the test's network
namespace: brings the tap up, says hello until the guest answers, checks the
guest's three frames byte by byte, sends three frames and checks the echoes.
Usage: net_peer.py TAP GUEST_MAC; exit 0 on success, one line on failure."""
import os
import socket
import subprocess
import sys
import time

ETHERTYPE = 0x88b5


def pat(i, length):
    return (i * 31 + length) & 0xff


def frame(dst, src, length):
    body = bytes(pat(i, length) for i in range(14, length))
    return dst + src + ETHERTYPE.to_bytes(2, "big") + body


def main():
    tap, guest_mac = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", ""))
    deadline = time.monotonic() + 60
    while not os.path.exists(f"/sys/class/net/{tap}"):
        if time.monotonic() > deadline:
            sys.exit(f"net_peer: tap {tap} never appeared")
        time.sleep(0.05)
    subprocess.run(["ip", "link", "set", tap, "up"], check=True)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETHERTYPE))
    s.bind((tap, ETHERTYPE))
    me = s.getsockname()[4][:6]
    s.settimeout(0.5)
    got = []
    while len(got) < 3:
        if time.monotonic() > deadline:
            sys.exit(f"net_peer: only {len(got)} guest frames in 60 s")
        if not got:
            s.send(b"\xff" * 6 + me + ETHERTYPE.to_bytes(2, "big") + b"strata-hello" + bytes(34))
        try:
            f = s.recv(4096)
        except socket.timeout:
            continue
        if f[6:12] != guest_mac:
            continue
        got.append(f)
    for f, length in zip(got, (60, 1000, 1514)):
        if f != frame(me, guest_mac, length):
            sys.exit(f"net_peer: guest frame of {len(f)} bytes (expected {length}) differs")
    print("net_peer: guest frames of 60, 1000 and 1514 bytes checked", flush=True)
    sizes = (64, 1200, 1514)
    for length in sizes:
        s.send(frame(guest_mac, me, length))
    echoes = []
    s.settimeout(30)
    while len(echoes) < 3:
        f = s.recv(4096)
        if f[6:12] == guest_mac:
            echoes.append(f)
    for f, length in zip(echoes, sizes):
        want = bytearray(frame(me, guest_mac, length))
        want[14] ^= 0xff
        if f != bytes(want):
            sys.exit(f"net_peer: echo of the {length}-byte frame differs")
    print("net_peer: 3 echoes checked", flush=True)


if __name__ == "__main__":
    main()
