"""Real stratad hosts for the cloud's compute tests (test_compute_hosts.py,
test_compute_servers_hosts.py): daemons on loopback TCP sharing one token,
started side by side, stopped and removed after."""
import sys
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "host"))
from hostlib import Stratad, cleanup, free_port, short_tmpdir  # noqa: E402

TOKEN = "host-token-0123456789abcdef"


def token_file(tmp_path):
    """tmp_path/token holding TOKEN (what `strata-cloud host-add` is given)."""
    tok = tmp_path / "token"
    tok.write_text(TOKEN + "\n")
    return tok


def distinct_ports(count):
    """count loopback ports free now, no two alike (the daemons bind them
    only once all are spawned)."""
    ports = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


@contextmanager
def stratad_hosts(tmp_path, count=3, pool=None):
    """count stratad with tmp_path/token's TOKEN: [(daemon, url)]. pool: a
    "dir" pool of that name in each (in its state directory)."""
    tok = token_file(tmp_path)
    out = []
    try:
        for port in distinct_ports(count):
            d = Stratad(short_tmpdir(), extra_args=["--listen-tcp", f"127.0.0.1:{port}",
                                                    "--token-file", str(tok)])
            out.append((d.spawn(), f"http://127.0.0.1:{port}"))
        for d, _ in out:
            d.wait_up()
            if pool:
                path = Path(d.state_dir) / "pool"
                path.mkdir()
                d.ok("POST", "/v1/pools", {"name": pool, "type": "dir", "path": str(path)})
        yield out
    finally:
        for d, _ in out:
            cleanup(d)
