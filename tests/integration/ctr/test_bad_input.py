"""Bad input: one clear error line, a nonzero exit, and nothing left behind
(no state directory, cgroup or mount)."""
import json
import os

import pytest

from ctrlib import ctr  # noqa: F401  (fixture)


def one_error(r, *words):
    assert r.returncode != 0
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("strata-ctr: error: ")
    for w in words:
        assert w in lines[0], lines[0]


def create_fails(ctr, *words):
    cid = ctr.new_id()
    r = ctr("create", cid)
    one_error(r, *words)
    ctr.assert_clean(cid)
    assert not ctr.root.exists() or not any(ctr.root.iterdir())


def test_malformed_json(ctr):
    (ctr.bundle / "config.json").write_text('{"ociVersion": "1.0.2", "process": ')
    create_fails(ctr, "config.json", "malformed JSON")


def test_missing_rootfs(ctr):
    ctr.config["root"]["path"] = "no-such-rootfs"
    ctr.write_config()
    create_fails(ctr, "rootfs", "No such file")


def test_unknown_namespace(ctr):
    ctr.config["linux"]["namespaces"].append({"type": "teleport"})
    ctr.write_config()
    create_fails(ctr, "unknown namespace type 'teleport'")


def test_duplicate_namespace(ctr):
    ctr.config["linux"]["namespaces"].append({"type": "pid"})
    ctr.write_config()
    create_fails(ctr, "duplicate namespace 'pid'")


@pytest.mark.parametrize("user", [{"uid": -1, "gid": 0}, {"uid": "root", "gid": 0}, {"uid": 0, "gid": 2**40}])
def test_invalid_ids(ctr, user):
    ctr.config["process"]["user"] = user
    ctr.write_config()
    create_fails(ctr, "process.user")


def test_invalid_id_mapping(ctr):
    ctr.config["linux"]["namespaces"].append({"type": "user"})
    ctr.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 0}]
    ctr.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 1}]
    ctr.write_config()
    create_fails(ctr, "uidMappings")


@pytest.mark.parametrize("cid", ["../escape", "a/b", "..", "has space"])
def test_invalid_container_id(ctr, cid):
    r = ctr("create", cid)
    one_error(r, "invalid container id")
    assert not ctr.root.exists() or not any(ctr.root.iterdir())


def test_missing_executable(ctr):
    ctr.config["process"]["args"] = ["/bin/does-not-exist"]
    ctr.write_config()
    create_fails(ctr, "/bin/does-not-exist")


def test_id_already_in_use(ctr):
    ctr.args("/bin/sleep", "300")
    cid = ctr.new_id()
    ctr("create", cid, check=True)
    r = ctr("create", cid)
    one_error(r, "already exists")
    assert ctr.state(cid)["status"] == "created"  # the first one is untouched
    ctr("delete", "--force", cid, check=True)
    ctr.assert_clean(cid)


def test_kill_stopped_container(ctr):
    ctr.args("/bin/true")
    cid = ctr.new_id()
    ctr("run", "-d", cid, check=True)
    for _ in range(100):
        if ctr.state(cid)["status"] == "stopped":
            break
    r = ctr("kill", cid, "KILL")
    one_error(r, "not running")
    ctr("delete", cid, check=True)
    ctr.assert_clean(cid)


def test_unknown_container_and_signal(ctr):
    one_error(ctr("kill", "nosuch", "KILL"), "does not exist")
    one_error(ctr("delete", "nosuch"), "does not exist")
    ctr.args("/bin/sleep", "300")
    cid = ctr.new_id()
    ctr("run", "-d", cid, check=True)
    one_error(ctr("kill", cid, "SIGNOPE"), "unknown signal")
    ctr("delete", "--force", cid, check=True)


def test_bad_seccomp_and_cgroup_failure_leave_nothing(ctr):
    ctr.config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_BOGUS"}
    ctr.write_config()
    create_fails(ctr, "SCMP_ACT_BOGUS")
    del ctr.config["linux"]["seccomp"]
    # a limit the kernel refuses fails after the cgroups were made: they must go
    ctr.config["linux"]["resources"]["cpu"] = {"cpus": "99999"}
    ctr.write_config()
    create_fails(ctr, "cpuset")


def test_log_file_json(ctr):
    log = ctr.root.parent / "log.json"
    (ctr.bundle / "config.json").write_text("not json")
    cid = ctr.new_id()
    r = ctr("--log", str(log), "--log-format", "json", "create", cid)
    one_error(r, "malformed JSON")
    entry = json.loads(log.read_text().splitlines()[-1])
    assert entry["level"] == "error" and "malformed JSON" in entry["msg"]



def test_start_after_init_died_fails_without_hanging(ctr):
    ctr.args("/bin/true")
    cid = ctr.new_id()
    ctr("create", cid, check=True)
    os.kill(ctr.state(cid)["pid"], 9)
    r = ctr("start", cid, timeout=20)
    assert r.returncode != 0 and ("not created" in r.stderr or "exited before" in r.stderr)
    ctr("delete", cid, check=True)
    ctr.assert_clean(cid)


def test_corrupt_state_file(ctr):
    cid = ctr.new_id()
    (ctr.root / cid).mkdir(parents=True)
    (ctr.root / cid / "state.json").write_text('{"id": "x"}')
    one_error(ctr("state", cid), "corrupt")
    one_error(ctr("delete", cid), "corrupt")
    r = ctr("delete", "--force", cid)
    assert r.returncode == 0 and "corrupt" in r.stderr  # a warning, and the name is free again
    assert not (ctr.root / cid).exists()
