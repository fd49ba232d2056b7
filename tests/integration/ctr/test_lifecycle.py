"""create/start/state/kill/delete, run with the exit code, exec, pause/resume, ps, list."""
import fcntl
import json
import os
import subprocess
import tempfile
import time

from conftest import wait_for
from ctrlib import ctr  # noqa: F401  (fixture)


def wait_status(ctr, cid, want):
    wait_for(lambda: f"{cid} to reach {want}: {ctr.state(cid)}",
             lambda: ctr.state(cid)["status"] == want)


def test_run_propagates_exit_code(ctr):
    r = ctr.run("/bin/sh", "-c", "echo out; echo err >&2; exit 7")
    assert r.returncode == 7
    assert r.stdout == "out\n"
    assert "err" in r.stderr
    ctr.assert_clean(ctr.ids[-1])


def test_run_killed_by_signal_is_128_plus(ctr):
    # pid 1 of a pid namespace cannot be killed from inside: share the host's
    ctr.config["linux"]["namespaces"] = [n for n in ctr.config["linux"]["namespaces"] if n["type"] != "pid"]
    r = ctr.run("/bin/sh", "-c", "kill -9 $$")
    assert r.returncode == 128 + 9


def test_create_start_state_kill_delete(ctr):
    ctr.args("/bin/sleep", "300")
    cid = ctr.new_id()
    ctr("create", "--pid-file", str(ctr.root.parent / "pid"), cid, check=True)
    st = ctr.state(cid)
    assert st["status"] == "created" and st["id"] == cid and st["pid"] > 0
    assert st["bundle"] == str(ctr.bundle)
    assert int((ctr.root.parent / "pid").read_text()) == st["pid"]
    ctr("start", cid, check=True)
    assert ctr.state(cid)["status"] == "running"
    r = ctr("delete", cid)
    assert r.returncode != 0 and "delete --force" in r.stderr
    ctr("kill", cid, "KILL", check=True)
    wait_status(ctr, cid, "stopped")
    r = ctr("kill", cid, "TERM")
    assert r.returncode != 0 and "not running" in r.stderr
    ctr("delete", cid, check=True)
    ctr.assert_clean(cid)
    r = ctr("state", cid)
    assert r.returncode != 0 and "does not exist" in r.stderr


def test_start_twice_fails(ctr):
    ctr.args("/bin/sleep", "300")
    cid = ctr.new_id()
    ctr("create", cid, check=True)
    ctr("start", cid, check=True)
    r = ctr("start", cid)
    assert r.returncode != 0 and "running" in r.stderr
    ctr("delete", "--force", cid, check=True)
    ctr.assert_clean(cid)


def test_exec_pause_resume_ps_list(ctr):
    ctr.args("/bin/sleep", "300")
    cid = ctr.new_id()
    ctr("run", "-d", cid, check=True)
    assert ctr.state(cid)["status"] == "running"
    r = ctr("exec", "--cwd", "/tmp", "--env", "FOO=bar", cid, "/bin/sh", "-c", "pwd; echo $FOO; exit 4")
    assert r.returncode == 4, r.stderr
    assert r.stdout == "/tmp\nbar\n"
    # exec sees the container's pid namespace: sleep is pid 1
    r = ctr("exec", cid, "/bin/cat", "/proc/1/cmdline")
    assert r.stdout.startswith("/bin/sleep")
    ps = json.loads(ctr("ps", "--format", "json", cid, check=True).stdout)
    assert ctr.state(cid)["pid"] in ps
    ctr("pause", cid, check=True)
    assert ctr.state(cid)["status"] == "paused"
    r = ctr("exec", cid, "/bin/true")
    assert r.returncode != 0 and "paused" in r.stderr
    ctr("resume", cid, check=True)
    assert ctr.state(cid)["status"] == "running"
    ids = [c["id"] for c in json.loads(ctr("list", "--format", "json", check=True).stdout)]
    assert cid in ids
    assert cid in ctr("list", "-q", check=True).stdout.split()
    # --cap grants one more capability to that process only
    r = ctr("exec", cid, "/bin/sh", "-c", "grep CapEff /proc/self/status")
    base = int(r.stdout.split()[1], 16)
    r = ctr("exec", "--cap", "CAP_SYS_ADMIN", cid, "/bin/sh", "-c", "grep CapEff /proc/self/status")
    assert int(r.stdout.split()[1], 16) == base | (1 << 21), r.stderr
    r = ctr("exec", "--cap", "CAP_FLYING", cid, "/bin/true")
    assert r.returncode != 0 and "CAP_FLYING" in r.stderr
    r = ctr("exec", "-d", cid, "/bin/sleep", "100")
    assert r.returncode == 0, r.stderr
    assert len(json.loads(ctr("ps", "--format", "json", cid, check=True).stdout)) == 2
    ctr("delete", "--force", cid, check=True)
    ctr.assert_clean(cid)


def test_hooks_receive_state(ctr, tmp_path):
    out = tmp_path / "hooks.log"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\nread s; echo \"$1 $s\" >> {out}\n")
    hook.chmod(0o755)
    cfg = ctr.config
    cfg["process"]["args"] = ["/bin/true"]
    cfg["hooks"] = {k: [{"path": str(hook), "args": ["hook.sh", k]}]
                    for k in ("createRuntime", "poststart", "poststop")}
    ctr.write_config(cfg)
    cid = ctr.new_id()
    ctr("run", cid, check=True)
    lines = out.read_text().splitlines()
    kinds = [ln.split(" ", 1)[0] for ln in lines]
    assert kinds == ["createRuntime", "poststart", "poststop"]
    for ln in lines:
        s = json.loads(ln.split(" ", 1)[1])
        assert s["id"] == cid and s["bundle"] == str(ctr.bundle)
    ctr.assert_clean(cid)


def test_kill_all_and_force_delete_of_paused(ctr):
    # no pid namespace: the children outlive a dead init unless --all reaches them
    ctr.config["linux"]["namespaces"] = [n for n in ctr.config["linux"]["namespaces"] if n["type"] != "pid"]
    ctr.args("/bin/sh", "-c", "sleep 300 & sleep 300 & wait")
    cid = ctr.new_id()
    ctr("run", "-d", cid, check=True)
    for _ in range(100):
        if len(json.loads(ctr("ps", "--format", "json", cid, check=True).stdout)) == 3:
            break
        time.sleep(0.05)
    pids = json.loads(ctr("ps", "--format", "json", cid, check=True).stdout)
    assert len(pids) == 3
    ctr("kill", "--all", cid, "STOP", check=True)
    for p in pids:
        state = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[0]
        assert state == "T", (p, state)
    ctr("kill", "--all", cid, "CONT", check=True)
    ctr("pause", cid, check=True)
    ctr("delete", "--force", cid, check=True)
    ctr.assert_clean(cid)
    for p in pids:
        assert not os.path.exists(f"/proc/{p}") or "Z" in open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[0]


def test_container_side_hooks(ctr, tmp_path):
    """createContainer runs in the container's namespaces after the mounts and
    before the pivot (host paths work), startContainer after it (container
    paths), both with the state."""
    log = tmp_path / "create.log"
    hook = tmp_path / "create-hook.sh"
    rootfs = ctr.bundle / "rootfs"
    hook.write_text(f"#!/bin/sh\nread s; echo \"$(hostname) $(ls {rootfs}/proc | grep -c .) $s\" > {log}\n")
    hook.chmod(0o755)
    cfg = ctr.config
    cfg["root"]["readonly"] = False
    cfg["hostname"] = "hooked"
    cfg["process"]["args"] = ["/bin/cat", "/started"]
    cfg["hooks"] = {
        "createContainer": [{"path": str(hook)}],
        "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /started"]}],
    }
    ctr.write_config(cfg)
    cid = ctr.new_id()
    r = ctr("run", cid)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["id"] == cid
    host, nproc, state = log.read_text().split(" ", 2)
    assert host == "hooked"
    assert int(nproc) > 0  # the container's /proc is already mounted
    assert json.loads(state)["status"] == "creating"
    ctr.assert_clean(cid)


def test_failing_hook_fails_the_run(ctr, tmp_path):
    cfg = ctr.config
    cfg["process"]["args"] = ["/bin/true"]
    cfg["hooks"] = {"createRuntime": [{"path": "/bin/false"}]}
    ctr.write_config(cfg)
    cid = ctr.new_id()
    r = ctr("run", cid)
    assert r.returncode != 0 and "hook /bin/false exited with status 1" in r.stderr
    ctr.assert_clean(cid)


def test_caller_fds_do_not_leak_unless_preserved(ctr, tmp_path):
    ctr.args("/bin/sh", "-c", "ls /proc/self/fd")
    low = os.open(tmp_path, os.O_RDONLY)
    extra = fcntl.fcntl(low, fcntl.F_DUPFD, 50)  # well above what ls itself opens
    os.close(low)
    os.set_inheritable(extra, True)
    try:
        def fds(*opts):
            with tempfile.TemporaryFile("w+") as out:
                r = subprocess.run([ctr.exe, "--root", str(ctr.root), "run", *opts, ctr.new_id()],
                                   stdout=out, stderr=subprocess.PIPE, text=True, cwd=ctr.bundle,
                                   close_fds=False, stdin=subprocess.DEVNULL)
                assert r.returncode == 0, r.stderr
                out.seek(0)
                return sorted(int(f) for f in out.read().split())
        # 0, 1, 2 and the fd ls opens for the listing
        assert max(fds()) <= 3
        assert extra in fds("--preserve-fds", str(extra - 2))
    finally:
        os.close(extra)


def test_foreground_run_forwards_signals(ctr):
    # the TERM goes the moment the shell says its trap is set: strata-ctr run
    # forwards from before the program starts (it used to install its handlers
    # only when it began waiting, and such a TERM killed run itself: -15)
    ctr.args("/bin/sh", "-c", "trap 'exit 42' TERM; echo trapped; sleep 100 & wait")
    cid = ctr.new_id()
    p = subprocess.Popen([ctr.exe, "--root", str(ctr.root), "run", cid], cwd=ctr.bundle,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert p.stdout.readline() == b"trapped\n"
        p.send_signal(15)
        assert p.wait(timeout=120) == 42, p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    ctr.assert_clean(cid)


def test_spec_features_version(ctr, tmp_path):
    r = ctr("spec", "--bundle", str(tmp_path))
    assert r.returncode == 0
    spec = json.loads((tmp_path / "config.json").read_text())
    assert spec["root"]["path"] == "rootfs" and spec["process"]["args"] == ["sh"]
    r = ctr("spec", "--bundle", str(tmp_path))
    assert r.returncode != 0 and "File exists" in r.stderr  # never overwrites a bundle's config
    f = json.loads(ctr("features", check=True).stdout)
    assert "user" in f["linux"]["namespaces"] and "poststop" in f["hooks"]
    assert ctr("--version", check=True).stdout.startswith("strata-ctr version")
    r = ctr("frobnicate")
    assert r.returncode != 0 and "unknown command" in r.stderr
