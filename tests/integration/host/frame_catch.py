"""Prints the frames of one ethertype seen on an interface: run inside the
test's network namespace (nsenter). Prints "ready" once bound, then one line
per frame: "SRCMAC PAYLOAD-AS-TEXT", until COUNT frames or TIMEOUT seconds.
Usage: frame_catch.py IFACE ETHERTYPE COUNT TIMEOUT"""
import socket
import sys
import time

iface, ethertype, count, timeout = sys.argv[1], int(sys.argv[2], 0), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ethertype))
s.bind((iface, 0))
print("ready", flush=True)
deadline = time.time() + timeout
seen = 0
while seen < count and time.time() < deadline:
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        frame = s.recv(4096)
    except OSError:  # timeout, or the namespace going away
        break
    if len(frame) < 14 or int.from_bytes(frame[12:14], "big") != ethertype:
        continue
    src = ":".join(f"{b:02x}" for b in frame[6:12])
    print(src, frame[14:].split(b"\0", 1)[0].decode(errors="replace"), flush=True)
    seen += 1
