"""Faults (issue 17): kill -9 of strata-cloud while servers build, and the
reconciliation pass that ends every interrupted task after the restart
(src/cloud/compute/servers_reconcile*.c); orphan domains and volumes reaped
from the hosts, the power state synced from them; host_status (2.16) as
Nova defines it. Real stratad hosts on loopback, the real `openstack` CLI,
SQLite and PostgreSQL.

This machine has no usable /dev/kvm, so no build reaches ACTIVE here: the
interrupted build is held deterministically at its first step on the host,
the image fetch, by pointing the hosts at a tarpit (serve --host-url) that
accepts their fetch and never answers until the test lets it go."""
import socket
import sqlite3
import sys
import threading
import uuid as uuidlib
from pathlib import Path

import pytest

from cloudlib import started
from conftest import free_port, wait_for
from hostslib import stratad_hosts
from test_compute_servers import SERVERS, bootable_image, flavor, wait_gone
from test_compute_servers_hosts import POOL, add_hosts, claims_used, host_is_clean

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "host"))
from hostlib import guest  # noqa: E402

MV = "2.60"


class Tarpit:
    """A TCP listener that accepts and holds every connection, saying
    nothing, until release() closes them all."""

    def __init__(self):
        self.port = free_port()
        self.sock = socket.create_server(("127.0.0.1", self.port))
        self.held = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.held.append(conn)

    def count(self):
        with self.lock:
            return len(self.held)

    def release(self):
        self.sock.close()
        with self.lock:
            for c in self.held:
                c.close()
            self.held.clear()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    """The request whose param started() reads: each test starts its own
    cloud with its own options (and kills it)."""
    return request


@pytest.fixture
def hosts(tmp_path):
    with stratad_hosts(tmp_path, pool=POOL) as out:
        yield out


def sql(backend, cloud, statement):
    """One statement on the cloud's database, whichever backend."""
    if cloud.db_url:
        pg = backend.getfixturevalue("postgres")
        return pg.psql(cloud.db_url.split("dbname=")[1], statement)
    with sqlite3.connect(cloud.state / "cloud.db") as db:
        rows = db.execute(statement).fetchall()
    db.close()
    return "\n".join("|".join(str(c) for c in r) for r in rows)


def show(cloud, token, sid):
    status, _, body = cloud.api("GET", f"{SERVERS}/{sid}", token, version=MV)
    assert status == 200, body
    return body["server"]


def wait_status(cloud, token, sid, *statuses):
    """The server's view once its status is one of statuses."""
    def check():
        v = show(cloud, token, sid)
        return v if v["status"] in statuses else None
    return wait_for(f"server {sid} {' or '.join(statuses)}", check, seconds=300)


def test_kill_9_while_building_then_restart_ends_every_server(backend, hosts, tmp_path):
    """Two servers of one request: the first held at its image fetch on its
    host, the second waiting its turn (scheduling). kill -9, restart on the
    same state: the restarted controller knows its earlier self dead (the
    state directory's lock) and ends both builds: ERROR with a fault, the
    host cleaned, the claim released; no domain or volume left anywhere."""
    tarpit = Tarpit()
    cloud = started(backend, "--host-poll-interval", "1", "--service-down-time", "600",
                    "--host-url", f"http://127.0.0.1:{tarpit.port}")
    try:
        add_hosts(cloud, hosts, tmp_path)
        token = cloud.admin_token()
        image = bootable_image(cloud, token)
        fl = flavor(cloud, token)
        status, _, made = cloud.api("POST", SERVERS, token, {"server": {
            "name": "doomed", "imageRef": image, "flavorRef": fl, "min_count": 2, "max_count": 2,
            "return_reservation_id": True}})
        assert status == 202, made
        rid = made["reservation_id"]
        _, _, listed = cloud.api("GET", f"{SERVERS}/detail?reservation_id={rid}", token, version=MV)
        sids = [s["id"] for s in listed["servers"]]
        assert len(sids) == 2
        # the build is at the image fetch: a host connected to the tarpit
        wait_for("a host fetching the image", tarpit.count, seconds=300)
        def tasks():
            return sorted((v["OS-EXT-STS:task_state"], v["OS-EXT-SRV-ATTR:host"] is not None)
                          for v in (show(cloud, token, sid) for sid in sids))
        wait_for("one server spawning on a host, one scheduling",
                 lambda: tasks() == [("scheduling", False), ("spawning", True)], seconds=120)
        assert sorted(claims_used(cloud, token).values()).count((0, 0)) == 2  # one host claimed

        cloud.proc.kill()
        cloud.proc.wait()
        tarpit.release()  # the host's fetch fails; what it made the restart removes
        cloud.start()

        token = cloud.admin_token()
        for sid in sids:
            s = wait_status(cloud, token, sid, "ERROR")
            assert s["OS-EXT-STS:task_state"] is None and s["OS-EXT-SRV-ATTR:host"] is None
            assert s["fault"]["code"] == 500
            assert "was interrupted" in s["fault"]["message"], s["fault"]
        # the CLI sees the same
        shown = cloud.openstack("server", "show", sids[0])
        assert shown["status"] == "ERROR" and "interrupted" in str(shown["fault"])
        log = cloud.log.read_text()
        assert "restarted; its earlier self's tasks are taken over now" in log, log[-3000:]
        wait_for("every claim released", lambda: set(claims_used(cloud, token).values()) == {(0, 0)},
                 seconds=120)
        for d, _ in hosts:
            wait_for(f"host {d.state_dir} clean", lambda d=d: host_is_clean(d), seconds=120)
        for sid in sids:
            cloud.openstack("server", "delete", sid, fmt_json=False)
        for sid in sids:
            wait_gone(cloud, token, sid)
    finally:
        tarpit.release()
        assert cloud.stop() == 0, cloud.log.read_text()[-3000:]


def test_reap_power_sync_and_host_status(backend, hosts, tmp_path):
    """On live hosts: a server-like domain and volume that no server owns
    are reaped, a bystander domain stays; a server whose domain stopped is
    SHUTOFF, one whose domain is gone is ERROR; host_status UP, MAINTENANCE,
    DOWN (forced), and UNKNOWN once a stopped stratad misses the down time.
    The servers' rows are put on a host by SQL: without /dev/kvm no build
    gets there."""
    cloud = started(backend, "--host-poll-interval", "1", "--service-down-time", "5")
    try:
        add_hosts(cloud, hosts, tmp_path)
        token = cloud.admin_token()
        h0 = hosts[0][0]
        # behind the cloud's back: an orphan that looks like a server's, and a bystander
        ghost = str(uuidlib.uuid4())
        h0.ok("POST", "/v1/domains", {"name": "instance-0000beef", "uuid": ghost, "memory_mib": 16,
                                      "os": {"kernel": guest("pwrbtn")}})
        h0.ok("POST", "/v1/domains", {"name": "bystander", "memory_mib": 16,
                                      "os": {"kernel": guest("pwrbtn")}})
        h0.ok("POST", f"/v1/pools/{POOL}/volumes", {"name": f"{ghost}-disk", "capacity": "1M",
                                                    "format": "raw"})
        wait_for("the orphan domain and volume reaped", lambda: (
            [d["name"] for d in h0.ok("GET", "/v1/domains")] == ["bystander"]
            and h0.ok("GET", f"/v1/pools/{POOL}/volumes") == []), seconds=120)
        assert "instance-0000beef (uuid %s) belongs to no server" % ghost in cloud.log.read_text()

        # two servers (their builds fail here: ERROR, no host), then put on h0
        image = bootable_image(cloud, token)
        fl = flavor(cloud, token)
        sids = []
        for name in ("stopped-by-itself", "lost"):
            status, _, made = cloud.api("POST", SERVERS, token, {"server": {
                "name": name, "imageRef": image, "flavorRef": fl}})
            assert status == 202, made
            sids.append(made["server"]["id"])
        for sid in sids:
            wait_status(cloud, token, sid, "ERROR", "ACTIVE")
        alive = sql(backend, cloud, "SELECT id FROM compute_controller").split()[0]
        keep, lost = sids
        # "keep": a task of the live controller in flight while its domain is defined
        sql(backend, cloud, "UPDATE compute_server SET vm_state = 'active', task_state = 'powering-on',"
            f" power_state = 1, host = 'h0', node = 'h0', controller = '{alive}', fault_code = NULL"
            f" WHERE uuid = '{keep}'")
        name = show(cloud, token, keep)["OS-EXT-SRV-ATTR:instance_name"]
        h0.ok("POST", "/v1/domains", {"name": name, "uuid": keep, "memory_mib": 16,
                                      "os": {"kernel": guest("pwrbtn")}})
        sql(backend, cloud, "UPDATE compute_server SET task_state = NULL WHERE uuid = " f"'{keep}'")
        sql(backend, cloud, "UPDATE compute_server SET vm_state = 'active', task_state = NULL,"
            " power_state = 1, host = 'h0', node = 'h0', fault_code = NULL" f" WHERE uuid = '{lost}'")
        s = wait_status(cloud, token, keep, "SHUTOFF")
        assert s["OS-EXT-STS:power_state"] == 4
        s = wait_status(cloud, token, lost, "ERROR")
        assert s["OS-EXT-STS:power_state"] == 0
        assert "is gone from host h0" in s["fault"]["message"], s["fault"]
        # the domain of a server on h0 is not an orphan
        assert sorted(d["name"] for d in h0.ok("GET", "/v1/domains")) == sorted(["bystander", name])

        # host_status (admins' from 2.16; the CLI's server show prints it)
        assert cloud.openstack("--os-compute-api-version", "2.16", "server", "show", keep)["host_status"] == "UP"
        status, _, body = cloud.api("GET", f"{SERVERS}/{keep}", token, version="2.15")
        assert "host_status" not in body["server"]
        cloud.openstack("compute", "service", "set", "--disable", "h0", "nova-compute", fmt_json=False)
        assert show(cloud, token, keep)["host_status"] == "MAINTENANCE"
        cloud.openstack("compute", "service", "set", "--enable", "h0", "nova-compute", fmt_json=False)
        cloud.openstack("--os-compute-api-version", "2.11", "compute", "service", "set", "--down", "h0",
                        "nova-compute", fmt_json=False)
        assert show(cloud, token, keep)["host_status"] == "DOWN"
        cloud.openstack("--os-compute-api-version", "2.11", "compute", "service", "set", "--up", "h0",
                        "nova-compute", fmt_json=False)
        wait_for("h0 UP again", lambda: show(cloud, token, keep)["host_status"] == "UP", seconds=120)
        h0.stop()
        wait_for("h0's servers UNKNOWN after the down time", lambda: (
            show(cloud, token, keep)["host_status"] == "UNKNOWN"), seconds=120)
        _, _, detail = cloud.api("GET", f"{SERVERS}/detail", token, version=MV)
        assert {s["id"]: s["host_status"] for s in detail["servers"]} == {keep: "UNKNOWN", lost: "UNKNOWN"}
        assert [s["State"] for s in cloud.openstack("compute", "service", "list", "--host", "h0")] == ["down"]
    finally:
        assert cloud.stop() == 0, cloud.log.read_text()[-3000:]


def test_another_controller_takes_over_a_dead_ones_build(postgres, hosts, tmp_path):  # noqa: F811
    """Two controllers on one PostgreSQL (and one state directory, as
    test_cloud_two_nodes.py's: only the first holds its lock). The build of
    the one killed is ended by the other once the dead one's lease runs out
    (the service down time), not by a restart."""
    from cloudlib import Cloud
    tarpit = Tarpit()
    url = postgres.new_database()
    opts = ["--host-poll-interval", "1", "--service-down-time", "6"]
    a = Cloud(db_url=url, extra_args=[*opts, "--host-url", f"http://127.0.0.1:{tarpit.port}"])
    b = Cloud(db_url=url, extra_args=opts)
    a.bootstrap()
    b.state = a.state
    a.start()
    b.start()
    try:
        add_hosts(a, hosts, tmp_path)
        token = a.admin_token()
        image = bootable_image(a, token)
        fl = flavor(a, token)
        status, _, made = a.api("POST", SERVERS, token, {"server": {
            "name": "orphaned", "imageRef": image, "flavorRef": fl}})
        assert status == 202, made
        sid = made["server"]["id"]
        wait_for("the build at the image fetch", tarpit.count, seconds=300)
        assert show(b, token, sid)["OS-EXT-STS:task_state"] == "spawning"
        dead = sql_pg(postgres, url, f"SELECT controller FROM compute_server WHERE uuid = '{sid}'").strip()
        a.proc.kill()
        a.proc.wait()
        tarpit.release()
        s = wait_status(b, token, sid, "ERROR")
        assert f"the controller that drove it ({dead}) stopped" in s["fault"]["message"], s["fault"]
        assert f"its controller {dead} is gone" in b.log.read_text()
        assert sql_pg(postgres, url, f"SELECT controller FROM compute_server WHERE uuid = '{sid}'").strip() != dead
        wait_for("every claim released", lambda: set(claims_used(b, token).values()) == {(0, 0)}, seconds=120)
        for d, _ in hosts:
            wait_for(f"host {d.state_dir} clean", lambda d=d: host_is_clean(d), seconds=120)
    finally:
        tarpit.release()
        a.stop()
        assert b.stop() == 0, b.log.read_text()[-3000:]
        postgres.drop_database(url)


def sql_pg(postgres, url, statement):
    return postgres.psql(url.split("dbname=")[1], statement)
