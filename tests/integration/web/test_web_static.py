"""stratad serves the web UI's files at / beside the API at /v1, on TCP and
on the unix socket: content types, caching headers, traversal refused."""
import os
from pathlib import Path

from weblib import TOKEN, WebStratad, cleanup, short_tmpdir, webd  # noqa: F401


def test_index_and_modules(webd):
    status, hdrs, body = webd.tcp("GET", "/")
    assert status == 200 and hdrs["content-type"] == "text/html; charset=utf-8"
    assert b'<script type="module" src="/js/main.js">' in body
    assert hdrs["cache-control"] == "no-cache" and hdrs["etag"]
    assert hdrs["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in hdrs["content-security-policy"]
    assert "frame-ancestors 'none'" in hdrs["content-security-policy"]
    status, hdrs, body = webd.tcp("GET", "/js/main.js")
    assert status == 200 and hdrs["content-type"] == "text/javascript; charset=utf-8" and b"import" in body
    status, hdrs, _ = webd.tcp("GET", "/app.css")
    assert status == 200 and hdrs["content-type"] == "text/css; charset=utf-8"
    # the same files on the unix socket, without any token
    status, body = webd.call("GET", "/index.html")
    assert status == 200 and b"<title>Strata</title>" in body


def test_revalidation_304(webd):
    status, hdrs, body = webd.tcp("GET", "/js/api.js")
    assert status == 200 and int(hdrs["content-length"]) == len(body) > 0
    status, hdrs2, body = webd.tcp("GET", "/js/api.js", headers={"If-None-Match": hdrs["etag"]})
    assert status == 304 and body == b"" and hdrs2["etag"] == hdrs["etag"]
    status, _, _ = webd.tcp("GET", "/js/api.js", headers={"If-None-Match": '"other"'})
    assert status == 200


def test_unknown_file_is_a_json_404(webd):
    status, hdrs, body = webd.tcp("GET", "/nothing-here.js")
    assert status == 404 and body["error"]["code"] == 404
    assert "no such file" in body["error"]["message"]
    status, _, body = webd.tcp("GET", "/js/")  # a directory without index.html
    assert status == 404
    status, _, body = webd.tcp("GET", "/v1/nothing")  # the API's own 404 stays
    assert status == 401  # on TCP the API needs a token or a login first
    status, _, body = webd.tcp("GET", "/v1/nothing", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 404 and body["error"]["message"] == "no such endpoint"
    status, _, body = webd.tcp("POST", "/index.html")
    assert status == 405


def test_traversal_refused(webd, tmp_path):
    secret = Path(webd.state_dir) / "secret.txt"
    secret.write_text("secret\n")
    for path in ["/../secret.txt", "/js/../../secret.txt", "/%2e%2e/secret.txt", "/js/%2E%2E/%2e%2e/secret.txt",
                 "/..%2fsecret.txt", "/js%2f..%2f..%2fsecret.txt", "/%2e%2e%2fetc%2fpasswd", "/..%5csecret.txt",
                 "/.hidden", "/js/./main.js", "/index.html%00.js", "/%2e/index.html"]:
        code, head, body = webd.raw_tcp(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        assert code in (400, 404), (path, code, head)
        assert b"secret" not in body and b"root:" not in body, path


def test_symlink_out_of_the_tree_refused(tmp_path):
    """A web directory with a symbolic link to a file outside it: 404, while
    a link inside the tree is followed."""
    from conftest import BUILD
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<title>mine</title>\n")
    (web / "inside.html").symlink_to("index.html")
    outside = tmp_path / "outside.txt"
    outside.write_text("outside secret\n")
    (web / "out.txt").symlink_to(outside)
    (web / "abs.txt").symlink_to("/etc/passwd")
    (web / "dir").symlink_to(tmp_path)
    os.mkfifo(web / "fifo.html")
    d = WebStratad(short_tmpdir(), ["--web-dir", str(web)]).start()
    try:
        status, _, body = d.tcp("GET", "/")
        assert status == 200 and body == b"<title>mine</title>\n"
        status, _, body = d.tcp("GET", "/inside.html")
        assert status == 200 and body == b"<title>mine</title>\n"
        for path in ["/out.txt", "/abs.txt", "/dir/outside.txt", "/fifo.html"]:
            status, _, body = d.tcp("GET", path)
            assert status == 404, path
            assert b"secret" not in body and b"root:" not in body
    finally:
        cleanup(d)
    assert BUILD.exists()


def test_missing_web_dir_is_a_clear_404(tmp_path):
    d = WebStratad(short_tmpdir(), ["--web-dir", str(tmp_path / "none")]).start()
    try:
        status, _, body = d.tcp("GET", "/")
        assert status == 404 and "the web UI is not installed" in body["error"]["message"]
        assert d.ok("GET", "/v1/host")["version"]  # the API works all the same
    finally:
        cleanup(d)


def test_vendored_files_served(webd):
    """xterm.js and uPlot from npm (src/web/vendor.lock, checked by hash) are in
    the build tree and served with their licences."""
    from conftest import BUILD
    from weblib import skip_loudly
    if (BUILD / "src" / "web" / "vendor" / "MISSING").exists():
        skip_loudly("the vendored npm packages are not cached: run scripts/install-web.sh")
    for path, ctype in [("/vendor/uplot/uPlot.esm.js", "text/javascript; charset=utf-8"),
                        ("/vendor/xterm/xterm.mjs", "text/javascript; charset=utf-8"),
                        ("/vendor/xterm/xterm.css", "text/css; charset=utf-8")]:
        status, hdrs, body = webd.tcp("GET", path)
        assert status == 200 and hdrs["content-type"] == ctype and len(body) > 1000, path
    for name in ("uplot", "xterm"):
        status, _, body = webd.tcp("GET", f"/vendor/{name}/LICENSE")
        assert status == 200 and b"MIT License" in body or b"Permission is hereby granted" in body
