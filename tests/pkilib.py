"""Throwaway certificates for the TLS tests: a CA and a server certificate
for 127.0.0.1/localhost signed by it, made with openssl."""
import shutil
import subprocess

from conftest import skip_loudly


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=120)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}",
            cwd=d)
    return d / f"{name}.pem"


def make_server_cert(d, ca):
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1", cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", ca.name, "-CAkey", ca.stem + ".key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext", cwd=d)
    return d / "server.pem", d / "server.key"


def make_pki(d):
    """{dir, ca, other_ca, cert, key} in directory d."""
    if shutil.which("openssl") is None:
        skip_loudly("openssl is not installed: no throwaway certificates for the TLS tests")
    ca = make_ca(d, "ca")
    other = make_ca(d, "other-ca")
    cert, key = make_server_cert(d, ca)
    return {"dir": d, "ca": ca, "other_ca": other, "cert": cert, "key": key}
