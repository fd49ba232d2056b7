"""GET /v2/images with several values for one name (Glance ANDs repeated
`tag=`) and filters on extra properties, through raw HTTP and the
`openstack image list` CLI; a page of the list read in a fixed number of
queries whatever its size (PostgreSQL's statement log counts them); the byte
quota held by two uploads streaming at the same time. SQLite and
PostgreSQL."""
import os
import time

import pytest

from cloudlib import started
from imagelib import api, create, start_upload, store_files, token


@pytest.fixture(params=["sqlite", "postgresql"])
def cloud(request):
    c = started(request, "--image-quota-bytes", "1000000")
    try:
        yield c
    finally:
        assert c.stop() == 0, f"serve did not stop cleanly on SIGTERM:\n{c.log.read_text()}"


def names(cloud, tok, query):
    status, _, body = api(cloud, tok, "GET", "/images" + query)
    assert status == 200, body
    return sorted(i["name"] for i in body["images"])


def test_repeated_tags_and_property_filters(cloud):
    tok = token(cloud)
    create(cloud, tok, name="a", tags=["x"], distro="debian")
    b = create(cloud, tok, name="b", tags=["x", "y"], distro="debian", os_type="linux")
    create(cloud, tok, name="c", tags=["y"], distro="ubuntu")
    assert names(cloud, tok, "?tag=x") == ["a", "b"]
    assert names(cloud, tok, "?tag=x&tag=y") == ["b"]  # ANDed, not the first only
    assert names(cloud, tok, "?tag=x&tag=y&tag=z") == []
    assert names(cloud, tok, "?distro=debian") == ["a", "b"]
    assert names(cloud, tok, "?distro=debian&os_type=linux") == ["b"]
    assert names(cloud, tok, "?distro=ubuntu&tag=x") == []
    assert names(cloud, tok, "?distro=arch") == []
    assert names(cloud, tok, "?checksum=nothing&tag=x") == []
    # the next page repeats every value of every name
    status, _, page = api(cloud, tok, "GET", "/images?tag=y&tag=x&distro=debian&limit=0")
    assert status == 200 and page["images"] == []
    status, _, page = api(cloud, tok, "GET", "/images?tag=x&distro=debian&limit=1&sort=name:asc")
    assert [i["name"] for i in page["images"]] == ["a"]
    nxt = page["next"]
    assert "tag=x" in nxt and "distro=debian" in nxt and "limit=1" in nxt, nxt
    status, _, page2 = api(cloud, tok, "GET", nxt[len("/v2"):])
    assert [i["name"] for i in page2["images"]] == ["b"] and "next" not in page2
    # the listed records carry their tags and properties (one query for the page)
    listed = {i["name"]: i for i in api(cloud, tok, "GET", "/images")[2]["images"]}
    assert sorted(listed["b"]["tags"]) == ["x", "y"] and listed["b"]["os_type"] == "linux"
    assert listed["a"]["distro"] == "debian" and "os_type" not in listed["a"]
    assert listed["b"]["id"] == b["id"] and listed["c"]["tags"] == ["y"]
    # the CLI: --tag twice and --property
    rows = cloud.openstack("image", "list", "--tag", "x", "--tag", "y")
    assert [r["Name"] for r in rows] == ["b"]
    rows = cloud.openstack("image", "list", "--property", "distro=ubuntu")
    assert [r["Name"] for r in rows] == ["c"]


def test_page_in_a_fixed_number_of_queries(cloud, request):
    """PostgreSQL logs every statement of the cloud's database: a page of 40
    images costs as many image queries as a page of 2 (it was one query per
    image before, plus two for its extras)."""
    if cloud.db_url is None:
        pytest.skip("counted on PostgreSQL's statement log")
    pg = request.getfixturevalue("postgres")
    dbname = cloud.db_url.split("dbname=")[1]
    tok = token(cloud)
    for i in range(40):
        create(cloud, tok, name=f"img{i:02d}", tags=["t"], n=str(i))
    pg.psql(dbname, f"ALTER DATABASE {dbname} SET log_statement = 'all'")
    cloud.stop()
    cloud.start()  # new connections take the setting
    tok = token(cloud)

    def statements(query):
        mark = pg.log.stat().st_size
        status, _, body = api(cloud, tok, "GET", "/images" + query)
        assert status == 200
        with open(pg.log, "rb") as f:
            f.seek(mark)
            text = f.read().decode(errors="replace")
        return len(body["images"]), sum(1 for line in text.splitlines()
                                        if ("statement:" in line or "execute" in line)
                                        and ("images" in line or "image_" in line))

    small, big = statements("?limit=2"), statements("?limit=40")
    assert small[0] == 2 and big[0] == 40
    assert big[1] == small[1] and big[1] <= 3, (small, big)
    pg.psql(dbname, f"ALTER DATABASE {dbname} RESET log_statement")


def test_two_parallel_uploads_cannot_pass_the_quota_together(cloud):
    """Each upload alone fits the 1,000,000-byte quota, both together do not:
    they stream at the same time and exactly one becomes active."""
    tok = token(cloud)
    imgs = [create(cloud, tok, name=n) for n in ("p1", "p2")]
    size, half = 600000, 300000
    datas = [os.urandom(size) for _ in imgs]
    conns = [start_upload(cloud, tok, img["id"], size, data[:half])
             for img, data in zip(imgs, datas)]
    # both are under way (saving: past the quota check of their start) before either ends
    deadline = time.monotonic() + 120
    while any(api(cloud, tok, "GET", f"/images/{img['id']}")[2]["status"] != "saving"
              for img in imgs):
        assert time.monotonic() < deadline, "the two uploads did not both start"
        time.sleep(0.1)
    for conn, data in zip(conns, datas):
        conn.send(data[half:])
    statuses = []
    for conn in conns:
        r = conn.getresponse()
        r.read()
        statuses.append(r.status)
        conn.close()
    assert sorted(statuses) == [204, 413], statuses
    shown = [api(cloud, tok, "GET", f"/images/{img['id']}")[2] for img in imgs]
    assert sorted(i["status"] for i in shown) == ["active", "queued"], shown
    active = next(i for i in shown if i["status"] == "active")
    assert store_files(cloud) == [active["id"]]
    assert sum(i["size"] or 0 for i in shown) <= 1000000
