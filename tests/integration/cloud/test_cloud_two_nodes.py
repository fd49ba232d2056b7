"""Two strata-cloud processes on one PostgreSQL and one Fernet key repository,
as stateless API nodes: concurrent writers on both, tokens crossing nodes, and
key rotation while tokens are in use. Every assertion is on outcomes (status
codes, rows), never on timing."""
import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from cloudlib import Cloud

CLIENTS = 16
SHARED_NAMES = 6  # every client tries these: exactly one wins each
OWN_NAMES = 3     # each client's own: all must be created


@pytest.fixture
def two_nodes(postgres):  # noqa: F811
    url = postgres.new_database()
    a, b = Cloud(db_url=url), Cloud(db_url=url)
    a.bootstrap()
    b.state = a.state  # one key repository, as a deployment shares it
    a.start()
    b.start()
    try:
        yield a, b
    finally:
        assert a.stop() == 0, a.log.read_text()[-3000:]
        assert b.stop() == 0, b.log.read_text()[-3000:]


def status_of(node, method, path, token, body=None, subject=None):
    headers = {"X-Auth-Token": token}
    if subject:
        headers["X-Subject-Token"] = subject
    status, _, reply = node.request(method, path, body, headers=headers)
    return status, reply


def test_concurrent_user_creation_on_two_nodes(two_nodes):
    a, b = two_nodes
    token = a.admin_token()
    start = threading.Barrier(CLIENTS)

    def client(i):
        node = (a, b)[i % 2]
        names = [f"shared-{k}" for k in range(SHARED_NAMES)]
        names += [f"own-{i}-{k}" for k in range(OWN_NAMES)]
        # each client goes through the shared names in its own order
        names = names[i % len(names):] + names[:i % len(names)]
        start.wait(timeout=300)
        out = []
        for name in names:
            status, reply = status_of(node, "POST", "/identity/v3/users", token,
                                      {"user": {"name": name, "domain_id": "default"}})
            out.append((name, status, reply))
        return out

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = [r for rs in pool.map(client, range(CLIENTS)) for r in rs]

    created = Counter(name for name, status, _ in results if status == 201)
    refused = [(name, reply) for name, status, reply in results if status == 409]
    others = [(name, status, reply) for name, status, reply in results if status not in (201, 409)]
    assert not others, others[:5]
    for name, reply in refused:
        assert reply["error"]["code"] == 409 and name.startswith("shared-"), (name, reply)
    expected = {f"shared-{k}" for k in range(SHARED_NAMES)} | {
        f"own-{i}-{k}" for i in range(CLIENTS) for k in range(OWN_NAMES)}
    assert set(created) == expected and set(created.values()) == {1}
    assert len(refused) == SHARED_NAMES * (CLIENTS - 1)

    # both nodes list every row exactly once, with the id its creator returned
    ids = {reply["user"]["name"]: reply["user"]["id"]
           for _, status, reply in results if status == 201}
    for node in (a, b):
        status, reply = status_of(node, "GET", "/identity/v3/users", token)
        assert status == 200
        listed = Counter(u["name"] for u in reply["users"])
        assert all(n == 1 for n in listed.values()), listed
        assert {u["name"]: u["id"] for u in reply["users"] if u["name"] != "admin"} == ids


def rotate(cloud):
    r = cloud.cloud("fernet-rotate", "-d", str(cloud.state))
    return r.stdout.strip()


def test_tokens_cross_nodes_and_survive_rotation(two_nodes):
    a, b = two_nodes
    t1 = a.admin_token()
    assert status_of(b, "GET", "/identity/v3/auth/tokens", t1, subject=t1)[0] == 200

    # rotate while both nodes validate t1 without pause: every answer is 200,
    # before, during and after the rotation (each loop goes on for a few
    # answers after the rotation finished)
    rotated = threading.Event()

    def validate_loop(node):
        answers, after = Counter(), 0
        while after < 5:
            done = rotated.is_set()
            answers[status_of(node, "GET", "/identity/v3/auth/tokens", t1, subject=t1)[0]] += 1
            after += done
        return answers

    with ThreadPoolExecutor(4) as pool:
        loops = [pool.submit(validate_loop, n) for n in (a, b, a, b)]
        try:
            assert rotate(a) == "primary key 2, 3 keys"
        finally:
            rotated.set()
        answers = sum((f.result(timeout=300) for f in loops), Counter())
    assert set(answers) == {200}, answers

    # new tokens are signed with the new primary; both nodes take both tokens
    t2 = b.admin_token()
    for node in (a, b):
        for tok in (t1, t2):
            assert status_of(node, "GET", "/identity/v3/auth/tokens", t2, subject=tok)[0] == 200

    # the second rotation drops key 1, t1's key: t1 is refused on both, t2 still good
    assert rotate(b) == "primary key 3, 3 keys"
    for node in (a, b):
        status, reply = status_of(node, "GET", "/identity/v3/auth/tokens", t2, subject=t1)
        assert status == 404 and reply["error"]["code"] == 404
        status, reply = status_of(node, "GET", "/identity/v3/projects", t1)
        assert status == 401 and reply["error"]["code"] == 401
        assert status_of(node, "GET", "/identity/v3/auth/tokens", t2, subject=t2)[0] == 200
