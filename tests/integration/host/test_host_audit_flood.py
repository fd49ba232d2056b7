"""Issue 13 item 5: a flood of refused requests from a local user must not fill
the disk through the audit table nor drown the log: per uid, a burst is
written, then one a second, and summary rows count what was left out."""
import json
import os
import re
import subprocess
import textwrap
import time

from hostlib import Stratad, cleanup, short_tmpdir

NOBODY = 65534
FLOOD = 500

# As another uid: FLOOD refused writes (read-only users may not define), one
# connection each; prints how long it took.
FLOODER = textwrap.dedent("""
    import socket, sys, time
    path, n = sys.argv[1], int(sys.argv[2])
    t0 = time.monotonic()
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.sendall(b"POST /v1/domains HTTP/1.0\\r\\nContent-Type: application/json\\r\\n"
                  b"Content-Length: 2\\r\\n\\r\\n{}")
        reply = b""
        while True:
            more = s.recv(4096)
            if not more:
                break
            reply += more
        assert b" 403 " in reply.split(b"\\r\\n")[0], reply
        s.close()
    print(time.monotonic() - t0, flush=True)
""")


def test_refused_flood_is_rate_limited_with_a_summary():
    """Failed before the fix: all 500 refused requests became audit rows."""
    d = short_tmpdir()
    os.chmod(d, 0o711)
    daemon = Stratad(d).start()
    try:
        r = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                            "/usr/bin/python3", "-c", FLOODER, daemon.sock, str(FLOOD)],
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
        took = float(r.stdout)
        rows = [a for a in daemon.ok("GET", f"/v1/audit?limit={FLOOD * 2}") if a["uid"] == NOBODY]
        written = [a for a in rows if a["method"] == "POST"]
        # a burst of 20, then one a second
        assert len(written) <= 20 + took + 2, (len(written), took)
        assert len(written) < FLOOD

        # every refused request is accounted for: written, or counted in a summary row
        # (a summary comes with the next audited request once its period is over)
        def accounted():
            rows = [a for a in daemon.ok("GET", f"/v1/audit?limit={FLOOD * 2}") if a["uid"] == NOBODY]
            counted = sum(int(re.match(r"\((\d+) refused requests not recorded", a["path"]).group(1))
                          for a in rows if a["method"] == "-")
            return len([a for a in rows if a["method"] == "POST"]) + counted, rows

        deadline = time.time() + 120
        while time.time() < deadline:
            total, rows = accounted()
            if total >= FLOOD:
                break
            daemon.call("POST", "/v1/domains", raw=b"not json")  # root's own audited request
            time.sleep(0.2)
        assert total == FLOOD, (total, rows[-5:])
        summaries = [a for a in rows if a["method"] == "-"]
        assert summaries and all(a["status"] == 429 for a in summaries), summaries
        assert "refused requests not recorded" in daemon.log()
        # root's own refused requests were not held back by uid 65534's flood
        mine = [a for a in daemon.ok("GET", "/v1/audit?limit=50") if a["uid"] == 0]
        assert mine and mine[-1]["status"] == 400
    finally:
        cleanup(daemon)


def test_refused_connections_do_not_drown_the_log():
    d = short_tmpdir()
    os.chmod(d, 0o711)
    daemon = Stratad(d, extra_args=["--max-connections-per-client", "1"]).start()
    try:
        script = textwrap.dedent("""
            import socket, sys
            held = socket.socket(socket.AF_UNIX); held.connect(sys.argv[1])
            for _ in range(300):
                s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
                s.settimeout(30)
                while s.recv(4096):
                    pass
                s.close()
        """)
        r = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                            "/usr/bin/python3", "-c", script, daemon.sock],
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
        lines = [ln for ln in daemon.log().splitlines() if "refusing a connection" in ln]
        assert 0 < len(lines) < 300, len(lines)
    finally:
        cleanup(daemon)
