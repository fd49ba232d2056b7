"""Bad input to identity, each a 4xx with Keystone's error body and nothing
changed (issue 15's list): wrong types, unknown auth methods, oversized
bodies, names of 10 k characters, duplicate names, expired, truncated
tokens, tokens of a disabled user or a deleted project, and a scope to a
project the user has no role on. On SQLite and PostgreSQL."""
import json
import time

import pytest

from cloudlib import ADMIN_PASSWORD, Cloud, cloud  # noqa: F401  (fixture: SQLite and PostgreSQL)


@pytest.fixture
def short_lived():
    """Tokens live 5 s here (--token-expiration), so one can expire (the
    expiry is in the token: one backend is enough)."""
    c = Cloud(extra_args=["--token-expiration", "5"])
    c.bootstrap()
    c.start()
    try:
        yield c
    finally:
        assert c.stop() == 0, c.log.read_text()[-3000:]


def error(status, body, *codes):
    assert status in codes, (status, body)
    assert set(body) == {"error"} and body["error"]["code"] == status, body
    assert body["error"]["message"] and body["error"]["title"], body


def auth(name, password, project=None, methods=("password",)):
    body = {"auth": {"identity": {"methods": list(methods), "password": {"user": {
        "name": name, "domain": {"name": "Default"}, "password": password}}}}}
    if project:
        body["auth"]["scope"] = {"project": {"name": project, "domain": {"name": "Default"}}}
    return body


def names(cloud, admin, kind):
    return sorted(o["name"] for o in cloud.api("GET", f"/identity/v3/{kind}", admin)[2][kind])


def test_bad_requests_change_nothing(cloud):
    admin = cloud.admin_token()
    before = {k: names(cloud, admin, k) for k in ("projects", "users", "groups", "domains")}
    bad = [
        # wrong types, malformed and unknown
        ("POST", "/identity/v3/auth/tokens", {"auth": {"identity": {"methods": "password"}}}),
        ("POST", "/identity/v3/auth/tokens", {"auth": []}),
        ("POST", "/identity/v3/projects", {"project": {"name": 5}}),
        ("POST", "/identity/v3/projects", {"project": "demo"}),
        ("POST", "/identity/v3/users", {"user": {"name": "u", "enabled": "yes"}}),
        ("POST", "/identity/v3/groups", {"group": {"name": ["g"]}}),
        # names of 10 k characters
        ("POST", "/identity/v3/projects", {"project": {"name": "p" * 10000}}),
        ("POST", "/identity/v3/users", {"user": {"name": "u" * 10000}}),
        ("POST", "/identity/v3/domains", {"domain": {"name": "d" * 10000}}),
    ]
    for method, path, body in bad:
        status, _, out = cloud.api(method, path, admin, body)
        error(status, out, 400)
    status, _, out = cloud.api("POST", "/identity/v3/projects", admin, raw=b'{"project": {"name": ')
    error(status, out, 400)
    # a body over the limit (1 MiB)
    status, _, out = cloud.api("POST", "/identity/v3/projects", admin,
                               {"project": {"name": "big", "description": "x" * (2 << 20)}})
    error(status, out, 413)
    # unknown auth methods, and a 10 k user name, are not authenticated
    status, _, out = cloud.request("POST", "/identity/v3/auth/tokens",
                                   auth("admin", "x", methods=("kerberos",)))
    error(status, out, 400, 401)
    status, _, out = cloud.request("POST", "/identity/v3/auth/tokens", auth("a" * 10000, "x"))
    error(status, out, 401)
    # duplicate names
    status, _, out = cloud.api("POST", "/identity/v3/projects", admin, {"project": {"name": "admin"}})
    error(status, out, 409)
    status, _, out = cloud.api("POST", "/identity/v3/users", admin, {"user": {"name": "admin"}})
    error(status, out, 409)
    after = {k: names(cloud, admin, k) for k in before}
    assert after == before


def test_tokens_that_no_longer_hold(cloud):
    token, project, user = cloud.member_token("demo", "bob", "bob-pw")
    admin = cloud.admin_token()

    def caller_status(tok):
        return cloud.api("GET", f"/identity/v3/users/{user}", tok)[:3:2]

    assert caller_status(token)[0] == 200
    # truncated and garbage tokens
    for bad in (token[:-8], token[: len(token) // 2], "gAAAAA", "not-a-token"):
        status, out = caller_status(bad)
        error(status, out, 401)
    # a scope on a project the user has no role on
    cloud.api("POST", "/identity/v3/projects", admin, {"project": {"name": "elsewhere"}})
    status, _, out = cloud.request("POST", "/identity/v3/auth/tokens",
                                   auth("bob", "bob-pw", project="elsewhere"))
    error(status, out, 401)
    # a disabled user's token, then (enabled again) a deleted project's
    assert cloud.api("PATCH", f"/identity/v3/users/{user}", admin,
                     {"user": {"enabled": False}})[0] == 200
    error(*caller_status(token), 401)
    assert cloud.api("PATCH", f"/identity/v3/users/{user}", admin,
                     {"user": {"enabled": True}})[0] == 200
    token = cloud.token("bob", "bob-pw", "demo")
    assert caller_status(token)[0] == 200
    assert cloud.api("DELETE", f"/identity/v3/projects/{project}", admin)[0] == 204
    error(*caller_status(token), 401)
    status, _, out = cloud.request("POST", "/identity/v3/auth/tokens", auth("bob", "bob-pw", "demo"))
    error(status, out, 401)


def test_expired_token_refused(short_lived):
    cloud = short_lived
    status, headers, body = cloud.request(
        "POST", "/identity/v3/auth/tokens", auth("admin", ADMIN_PASSWORD, "admin"))
    assert status == 201
    token = headers["X-Subject-Token"]
    issued = time.strptime(body["token"]["issued_at"][:19], "%Y-%m-%dT%H:%M:%S")
    expires = time.strptime(body["token"]["expires_at"][:19], "%Y-%m-%dT%H:%M:%S")
    # --token-expiration 5, counted from the issue (the clock may tick once
    # between the expiry's computation and the issue)
    assert 4 <= time.mktime(expires) - time.mktime(issued) <= 5
    # wait for the expiry (polling: the machine may be slow), then it is refused
    deadline = time.monotonic() + 120
    while True:
        status, _, out = cloud.api("GET", "/identity/v3/projects", token)
        if status != 200:
            break
        assert time.monotonic() < deadline, "the token never expired"
        time.sleep(0.5)
    error(status, out, 401)
    fresh = cloud.admin_token()
    status, _, out = cloud.request("GET", "/identity/v3/auth/tokens", headers={
        "X-Auth-Token": fresh, "X-Subject-Token": token})
    error(status, out, 404)



def raw_post(cloud, path, body, headers):
    """Sends a whole request on one socket, then reads the whole answer: a
    client that writes its body before it reads, as urllib and requests do."""
    import socket
    from urllib.parse import urlsplit
    u = urlsplit(cloud.url)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    with socket.create_connection((u.hostname, u.port), timeout=120) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: {u.netloc}\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(body)}\r\nConnection: close\r\n{head}\r\n".encode() + body)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    head, _, text = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(text)


def test_refusal_reaches_a_client_still_sending(cloud):
    """A 16 MiB body (more than the loopback socket buffers hold) over the
    1 MiB limit, and one with a bad token: the client writes all of it and
    then reads a 413 / 401 with the JSON body. Before the server read and
    dropped such bodies it answered after the headers and closed with the
    body unread, and the client got a reset (EPIPE) instead of the answer."""
    admin = cloud.admin_token()
    big = json.dumps({"project": {"name": "huge", "description": "x" * (16 << 20)}}).encode()
    status, body = raw_post(cloud, "/identity/v3/projects", big, {"X-Auth-Token": admin})
    error(status, body, 413)
    status, body = raw_post(cloud, "/identity/v3/projects", big[:(1 << 20) - 64] + b'"}}',
                            {"X-Auth-Token": "not-a-token"})
    error(status, body, 401)
    status, _, out = cloud.api("GET", "/identity/v3/projects?name=huge", admin)
    assert status == 200 and out["projects"] == [], out
