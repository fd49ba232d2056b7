"""strata-cloud serve over HTTPS (GnuTLS through libmicrohttpd): a throwaway
CA and server certificate made with openssl, the real `openstack` CLI trusting
that CA (and refusing another), plain HTTP refused off loopback, and bad
certificate or key files refused at start with one error line."""
import subprocess

import pytest

from cloudlib import Cloud, free_port
from conftest import program
from pkilib import make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def start_tls_cloud(pki, listen_host="127.0.0.1"):
    c = Cloud(tls=(pki["cert"], pki["key"], pki["ca"]), listen_host=listen_host)
    c.bootstrap()
    c.start()
    return c


def test_openstack_cli_over_https(pki):
    c = start_tls_cloud(pki)
    try:
        tok = c.openstack("token", "issue")
        assert tok["id"].startswith("gAAAAA") and tok["project_id"]
        catalog = c.openstack("catalog", "list")
        identity = next(e for e in catalog if e["Type"] == "identity")
        assert {e["url"] for e in identity["Endpoints"]} == {f"{c.url}/identity"}
        # a client trusting another CA refuses the server
        bad = c.openstack("token", "issue", check=False, cacert=pki["other_ca"])
        assert bad.returncode != 0
        assert "CERTIFICATE_VERIFY_FAILED" in bad.stderr or "certificate verify failed" in bad.stderr, \
            bad.stderr
        # a 401 says where to authenticate, as Keystone does
        status, headers, body = c.request("GET", "/identity/v3/projects",
                                          headers={"X-Auth-Token": "not-a-token"})
        assert status == 401 and body["error"]["code"] == 401
        assert headers["WWW-Authenticate"] == f'Keystone uri="{c.url}/identity"'
        # plain HTTP on the HTTPS port gets no API answer
        plain = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                f"http://127.0.0.1:{c.port}/identity/v3"],
                               capture_output=True, text=True, timeout=60)
        assert plain.stdout != "200"
    finally:
        assert c.stop() == 0, c.log.read_text()


def test_https_on_every_address(pki):
    """With a certificate, a non-loopback listen address is allowed."""
    c = start_tls_cloud(pki, listen_host="0.0.0.0")
    try:
        assert c.openstack("token", "issue")["id"]
    finally:
        assert c.stop() == 0, c.log.read_text()


def serve_fails(args, expect):
    """serve exits at once, nonzero, with one error line containing expect."""
    r = subprocess.run([str(program("src", "cloud", "strata-cloud")), *args],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0, (args, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("strata-cloud: "), (args, r.stderr)
    assert expect in lines[0], (args, lines[0])


def test_bad_tls_setups_refused(pki, tmp_path):
    c = Cloud()
    c.bootstrap()
    state, port = str(c.state), free_port()
    serve = ["serve", "-d", state]
    d = pki["dir"]
    garbage = tmp_path / "garbage.key"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n-----END PRIVATE KEY-----\n")
    not_pem = tmp_path / "not-pem"
    not_pem.write_text("hello\n")
    other_key = d / "other-ca.key"  # a valid key, but not the certificate's
    # plain HTTP off loopback
    serve_fails([*serve, "--listen", f"0.0.0.0:{port}"], "not a loopback address")
    # a key without a certificate, and the reverse
    serve_fails([*serve, "--listen", f"127.0.0.1:{port}", "--tls-key", str(pki["key"])],
                "--tls-cert and --tls-key go together")
    serve_fails([*serve, "--listen", f"127.0.0.1:{port}", "--tls-cert", str(pki["cert"])],
                "--tls-cert and --tls-key go together")
    for key, expect in [(garbage, "TLS certificate"), (not_pem, "not a PEM file"),
                        (other_key, "TLS certificate"), (tmp_path / "missing", "TLS key")]:
        serve_fails([*serve, "--listen", f"127.0.0.1:{port}", "--tls-cert", str(pki["cert"]),
                     "--tls-key", str(key)], expect)
    serve_fails([*serve, "--listen", f"127.0.0.1:{port}", "--tls-cert", str(pki["key"]),
                 "--tls-key", str(pki["key"])], "TLS certificate")
