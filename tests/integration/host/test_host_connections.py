"""Issue 13 item 4: a hostile local user cannot starve stratad (connection
limits per uid and in all, with a reserve for root; deadlines that trickled
bytes cannot stretch), and item 10: protocol errors that libmicrohttpd finds
itself get the JSON error body, not its HTML page."""
import json
import os
import socket
import subprocess
import textwrap
import time

import pytest

from hostlib import Stratad, cleanup, free_port, short_tmpdir

NOBODY = 65534

# Run as another uid: opens N connections that send nothing and reports what
# each got back, holding them until its stdin closes. The first K are expected
# to be accepted (nothing comes back: a short look); the others refused (the
# refusal comes at once: waited for with a generous deadline).
HOLDER = textwrap.dedent("""
    import json, socket, sys, time
    path, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        socks.append(s)
    got = []
    for i, s in enumerate(socks):
        s.settimeout(0.5 if i < k else 30)
        data = b""
        try:
            while True:
                more = s.recv(4096)
                if not more:
                    break
                data += more
        except OSError:
            pass
        got.append(data.decode(errors="replace") or None)
    print(json.dumps(got), flush=True)
    sys.stdin.read()
""")


def start(*args):
    d = short_tmpdir()
    os.chmod(d, 0o711)  # mkdtemp made it 0700; stratad's own default is 0711
    return Stratad(d, extra_args=list(args)).start()


@pytest.fixture
def daemons():
    started = []
    yield lambda *args: started.append(start(*args)) or started[-1]
    for d in started:
        cleanup(d)


def hold(d, n, k, uid=NOBODY):
    """n connections from uid, held open, the first k expected accepted;
    returns (process, what each got)."""
    p = subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                          "/usr/bin/python3", "-c", HOLDER, d.sock, str(n), str(k)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    assert line, "the connection holder failed"
    return p, json.loads(line)


def release(p):
    p.stdin.close()
    p.wait(timeout=30)


def status_of(reply):
    return int(reply.split(" ", 2)[1]) if reply else None


def body_of(reply):
    return json.loads(reply.split("\r\n\r\n", 1)[1])


def test_one_uid_cannot_take_every_connection(daemons):
    """1,435 half-open connections from one user took stratad to 1,023
    threads (failed before the fix: all 10 were accepted)."""
    d = daemons("--max-connections-per-client", "4")
    p, got = hold(d, 10, 4)
    try:
        assert [g for g in got[:4]] == [None] * 4, got
        for reply in got[4:]:
            assert status_of(reply) == 429, got
            err = body_of(reply)["error"]
            assert err["code"] == 429 and "uid 65534" in err["message"], err
        # root and another unprivileged uid are still served
        assert d.ok("GET", "/v1/host")["version"]
        r = d.cli("list", "--all", user=NOBODY - 1)
        assert r.returncode == 0, r.stderr
        # the same uid gets one clear line from strata
        r = d.cli("list", user=NOBODY, check=False)
        assert r.returncode != 0 and "too many connections" in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    finally:
        release(p)
    # the places come back once the holder lets go
    deadline = time.time() + 60
    while time.time() < deadline:
        if d.cli("list", user=NOBODY, check=False).returncode == 0:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("uid 65534 was never served again")


def test_total_limit_keeps_a_reserve_for_root(daemons):
    """Over the total limit: 503; the last places are root's."""
    d = daemons("--max-connections", "8", "--max-connections-per-client", "100")
    p, got = hold(d, 8, 6)
    try:
        # 6 for everyone, 2 kept for root (a connection of root's that is still
        # being cleaned up may take one of the 6: only the last two are checked)
        for reply in got[6:]:
            assert status_of(reply) == 503 and body_of(reply)["error"]["code"] == 503, reply
        assert d.ok("GET", "/v1/host")["version"]
    finally:
        release(p)


def raw_exchange(path_or_addr, chunks, pause=0.0, deadline_s=60):
    """Sends chunks (pausing between them) until the server closes; returns
    (what came back, whether the server closed before every chunk was sent)."""
    family = socket.AF_UNIX if isinstance(path_or_addr, str) else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.connect(path_or_addr)
    s.settimeout(0.01)
    got, closed, deadline = b"", False, time.time() + deadline_s
    for chunk in chunks:
        if time.time() > deadline:
            break
        try:
            s.sendall(chunk)
        except OSError:
            closed = True
            break
        try:
            data = s.recv(65536)
            if not data:
                closed = True
                break
            got += data
        except socket.timeout:
            pass
        except OSError:
            closed = True
            break
        time.sleep(pause)
    s.settimeout(30)
    try:
        while True:
            data = s.recv(65536)
            if not data:
                break
            got += data
    except OSError:
        pass
    s.close()
    return got.decode(errors="replace"), closed


def forever(chunk):
    while True:
        yield chunk


def test_trickled_headers_are_cut_off(daemons):
    """Slowloris: a header line every 0.2 s kept MHD's idle timeout from ever
    firing (failed before the fix: still open after 60 s)."""
    d = daemons("--request-timeout", "2")
    start_chunks = [b"GET /v1/host HTTP/1.1\r\nHost: x\r\n"]

    def chunks():
        yield from start_chunks
        yield from forever(b"X-Slow: y\r\n")

    t0 = time.time()
    _, closed = raw_exchange(d.sock, chunks(), pause=0.2)
    assert closed, "a trickling client kept its connection for 60 s"
    assert time.time() - t0 >= 2
    assert d.ok("GET", "/v1/host")["version"]
    assert "no complete request line and headers" in d.log()


def test_trickled_body_is_cut_off(daemons):
    d = daemons("--request-timeout", "2")

    def chunks():
        yield (b"POST /v1/domains HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: 100000\r\n\r\n")
        yield from forever(b" ")

    _, closed = raw_exchange(d.sock, chunks(), pause=0.2)
    assert closed, "a client trickling its body kept its connection for 60 s"
    assert "the request body comes too slowly" in d.log()
    assert d.ok("GET", "/v1/host")["version"]


def test_a_request_at_normal_speed_is_served(daemons):
    """The deadlines do not cut off a client that sends its request at once
    and then takes its time to read (an event stream)."""
    d = daemons("--request-timeout", "1")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(d.sock)
    s.sendall(b"GET /v1/events HTTP/1.0\r\nHost: x\r\n\r\n")
    s.settimeout(30)
    assert b"200" in s.recv(4096)
    # well past the request timeout, the stream still delivers events
    deadline = time.time() + 3
    while time.time() < deadline:
        time.sleep(0.2)
    d.ok("POST", "/v1/pools", {"name": "p1", "type": "dir", "path": str(d.state_dir)})
    buf = b""
    while b"pool" not in buf:
        data = s.recv(4096)
        assert data, "the event stream was closed"
        buf += data
    s.close()


BAD_REQUESTS = [
    (b"GET /v1/host\r\n\r\n", 400),
    (b"GET /v1/host HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", 400),
    (b"GET /v1/host HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n", 431),
    (b"GET /v1/host HTTP/3.7\r\nHost: x\r\n\r\n", 505),
    (b"POST /v1/domains HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n", 400),
    (b"POST /v1/domains HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
]


def check_json_error(reply, status):
    # libmicrohttpd 0.9.75 sends the head twice for a bad Content-Length: the body follows the last
    head, body = reply.partition("\r\n\r\n")[0], reply.rpartition("\r\n\r\n")[2]
    assert head.startswith("HTTP/1.1 %d" % status), reply[:300]
    assert "content-type: application/json" in head.lower(), head
    err = json.loads(body)["error"]
    assert err["code"] == status and err["message"] and "\n" not in err["message"], err


@pytest.mark.parametrize("raw,status", BAD_REQUESTS, ids=["no-version", "no-colon", "huge-header", "version",
                                                          "bad-length", "bad-chunk"])
def test_protocol_errors_are_json(daemons, raw, status):
    """libmicrohttpd's own error replies were HTML pages (failed before the
    fix: text/html)."""
    d = daemons()
    reply, _ = raw_exchange(d.sock, [raw])
    check_json_error(reply, status)


def test_protocol_errors_are_json_on_tcp(daemons, tmp_path):
    tok = tmp_path / "token"
    tok.write_text("0123456789abcdef0123\n")
    port = free_port()
    d = daemons("--listen-tcp", f"127.0.0.1:{port}", "--token-file", str(tok))
    reply, _ = raw_exchange(("127.0.0.1", port), [b"GET /v1/host\r\n\r\n"])
    check_json_error(reply, 400)
    assert d.ok("GET", "/v1/host")["version"]


def test_refusal_reaches_a_client_still_sending(daemons, tmp_path):
    """A client that writes its whole 16 MiB upload before it reads (more
    than loopback's socket buffers hold) and has no token gets the 401 with
    its JSON body. Before, stratad answered right after the headers and
    closed with the body unread: the client's write met a reset (EPIPE) and
    it never saw the answer."""
    tok = tmp_path / "token"
    tok.write_text("0123456789abcdef0123\n")
    port = free_port()
    daemons("--listen-tcp", f"127.0.0.1:{port}", "--token-file", str(tok))
    body = b"\0" * (16 << 20)
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        s.sendall(b"PUT /v1/pools/default/volumes/x/data HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    check_json_error(reply.decode(errors="replace"), 401)
