"""A small WebSocket (RFC 6455) client written from the RFC for the tests:
the handshake byte for byte (so a test can send a forged Origin or a bad
key), masked frames out, frames in."""
import base64
import hashlib
import os
import socket
import struct
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Refused(Exception):
    def __init__(self, status, head, body):
        super().__init__(f"HTTP {status}: {body[:200]!r}")
        self.status, self.head, self.body = status, head, body


class WS:
    def __init__(self, port, path, headers=None, key=None, version="13"):
        self.key = key or base64.b64encode(os.urandom(16)).decode()
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        hdrs = {"Host": f"127.0.0.1:{port}", "Upgrade": "websocket", "Connection": "Upgrade",
                "Sec-WebSocket-Key": self.key, "Sec-WebSocket-Version": version}
        hdrs.update(headers or {})
        req = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items() if v is not None)
        self.sock.sendall(req.encode() + b"\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            buf += chunk
        head, _, self.buf = buf.partition(b"\r\n\r\n")
        lines = head.decode(errors="replace").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        if self.status != 101:
            body = self.buf
            n = int(self.headers.get("content-length", "0"))
            while len(body) < n:
                chunk = self.sock.recv(4096)
                if not chunk:
                    break
                body += chunk
            self.sock.close()
            raise Refused(self.status, head.decode(errors="replace"), body)
        want = base64.b64encode(hashlib.sha1(self.key.encode() + GUID).digest()).decode()
        assert self.headers.get("sec-websocket-accept") == want, self.headers

    def send(self, data, opcode=0x2, mask=True, fin=True):
        if isinstance(data, str):
            data = data.encode()
        head = bytes([(0x80 if fin else 0) | opcode])
        n = len(data)
        mbit = 0x80 if mask else 0
        if n < 126:
            head += bytes([mbit | n])
        elif n < 65536:
            head += bytes([mbit | 126]) + struct.pack("!H", n)
        else:
            head += bytes([mbit | 127]) + struct.pack("!Q", n)
        if mask:
            k = os.urandom(4)
            head += k
            data = bytes(b ^ k[i % 4] for i, b in enumerate(data))
        self.sock.sendall(head + data)

    def _need(self, n, deadline):
        while len(self.buf) < n:
            self.sock.settimeout(max(0.01, deadline - time.time()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the server closed the connection")
            self.buf += chunk

    def frame(self, timeout=30):
        """(opcode, payload) of the next frame."""
        deadline = time.time() + timeout
        self._need(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        assert not b1 & 0x80, "a server frame must not be masked"
        n, off = b1 & 0x7F, 2
        if n == 126:
            self._need(4, deadline)
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10, deadline)
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(off + n, deadline)
        payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
        return b0 & 0x0F, payload

    def read_until(self, text, timeout=30):
        """Console output (binary frames) until it holds text; text frames are collected in .notices."""
        deadline = time.time() + timeout
        out = b""
        self.notices = getattr(self, "notices", [])
        while text.encode() not in out:
            op, payload = self.frame(timeout=max(0.01, deadline - time.time()))
            if op == 0x2:
                out += payload
            elif op == 0x1:
                self.notices.append(payload.decode())
            elif op == 0x8:
                raise EOFError(f"closed: {payload!r} after {out!r}")
        return out

    def close(self):
        try:
            self.send(struct.pack("!H", 1000), opcode=0x8)
        except OSError:
            pass
        self.sock.close()
