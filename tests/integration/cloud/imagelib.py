"""Helpers for the Image service's tests: a token per user, raw requests to
/image/v2 with it, uploads over a raw connection (to stop half-way), and a
look at the store directory."""
import http.client
import json

from cloudlib import ADMIN_PASSWORD


def token(cloud, user="admin", password=ADMIN_PASSWORD, project="admin"):
    return cloud.token(user, password, project)


def api(cloud, tok, method, path, body=None, headers=None, raw=None):
    """(status, headers, JSON or None) of one request to /image/v2 + path."""
    return cloud.api(method, "/image/v2" + path, tok, body, headers=headers, raw=raw)


def create(cloud, tok, **fields):
    status, _, img = api(cloud, tok, "POST", "/images",
                         {"disk_format": "raw", "container_format": "bare", **fields})
    assert status == 201, (status, img)
    return img


def connect(cloud):
    return http.client.HTTPConnection("127.0.0.1", cloud.port, timeout=600)


def upload(cloud, tok, image_id, data, headers=None):
    """PUT the data as the image's file: (status, parsed body or None). Bytes
    go with a Content-Length, an iterable of bytes chunked."""
    conn = connect(cloud)
    conn.request("PUT", f"/image/v2/images/{image_id}/file", body=data, headers={
        "X-Auth-Token": tok, "Content-Type": "application/octet-stream", **(headers or {})},
        encode_chunked=not isinstance(data, bytes))
    r = conn.getresponse()
    text = r.read()
    conn.close()
    return r.status, json.loads(text) if text else None


def start_upload(cloud, tok, image_id, declared, first, what="file"):
    """An upload (what="stage": glance-direct's stage) that declares
    `declared` bytes and sends only `first`: the open connection (close it
    to interrupt the upload)."""
    conn = connect(cloud)
    conn.putrequest("PUT", f"/image/v2/images/{image_id}/{what}")
    conn.putheader("X-Auth-Token", tok)
    conn.putheader("Content-Type", "application/octet-stream")
    conn.putheader("Content-Length", str(declared))
    conn.endheaders()
    conn.send(first)
    return conn


def store_files(cloud, hidden=True, under="images"):
    """The files of the store (under="images/staging": glance-direct's staged data)."""
    d = cloud.state / under
    if not d.exists():
        return []
    return sorted(p.name for p in d.iterdir()
                  if p.is_file() and (hidden or not p.name.startswith(".")))


def add_user(cloud, name, project):
    """A project with a user holding the member role on it: the user's token."""
    cloud.openstack("project", "create", project, fmt_json=False)
    cloud.openstack("user", "create", "--password", name + "-pw", name, fmt_json=False)
    cloud.openstack("role", "add", "--user", name, "--project", project, "member",
                    fmt_json=False)
    return token(cloud, name, name + "-pw", project)
