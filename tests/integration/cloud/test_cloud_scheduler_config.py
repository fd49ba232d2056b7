"""`strata-cloud serve --scheduler-config F`: a good file is taken and the
daemon serves; a bad or missing one stops it before it serves, with one
error line naming the file and the line, and a nonzero exit."""
import subprocess
import urllib.request

from cloudlib import Cloud
from conftest import program

GOOD = """# the scheduler, nova.conf style
[filter_scheduler]
enabled_filters = ComputeFilter, AvailabilityZoneFilter, RamFilter, ComputeCapabilitiesFilter
weight_classes = RAMWeigher, UtilisationWeigher
utilisation_weight_multiplier = 2.0
max_attempts = 4
"""


def serve(state, *args):
    return subprocess.run([str(program("src", "cloud", "strata-cloud")), "serve", "-d", str(state),
                           "--listen", "127.0.0.1:1", *args],
                          capture_output=True, text=True, timeout=300)


def test_good_config_serves(tmp_path):
    cfg = tmp_path / "scheduler.conf"
    cfg.write_text(GOOD)
    c = Cloud()
    try:
        c.bootstrap()
        c.start("--scheduler-config", str(cfg))
        assert urllib.request.urlopen(c.url + "/identity/v3", timeout=30).status == 200
    finally:
        assert c.stop() == 0


def test_bad_config_one_line_and_nonzero(tmp_path):
    cases = [
        ("colour = blue\n", "line 1: unknown key \"colour\""),
        ("enabled_filters = ComputeFilter\nweight_classes = RAMWeigher, NoSuchWeigher\n",
         "line 2: unknown name \"NoSuchWeigher\""),
        ("max_attempts = 0\n", "line 1: max_attempts must be an integer in [1, 10]"),
        ("[DEFAULT]\n", "line 1: unknown section [DEFAULT]"),
    ]
    for text, says in cases:
        cfg = tmp_path / "bad.conf"
        cfg.write_text(text)
        r = serve(tmp_path / "s", "--scheduler-config", str(cfg))
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 1, (text, r.stderr)
        assert len(lines) == 1 and lines[0].startswith("strata-cloud: error: --scheduler-config: "), r.stderr
        assert str(cfg) in lines[0] and says in lines[0], r.stderr
    r = serve(tmp_path / "s", "--scheduler-config", str(tmp_path / "missing.conf"))
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert "missing.conf" in r.stderr
