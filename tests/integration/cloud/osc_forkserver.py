"""A fork-server for the real `openstack` CLI (run by oscfork.py, never imported
by the tests): this process imports what every run of /usr/bin/openstack
imports, once; for each call it forks a child that takes the call's stdio,
environment and arguments and runs exactly /usr/bin/openstack's code, as
__main__, to its exit. Each call is still a fresh process running the real
client; only the ~2 s of Python start-up and imports are shared.

Why the children behave as a plain `/usr/bin/openstack` would:
- this process starts with the call's environment minus OS_* (oscfork keeps
  one server per such environment and working directory); nothing imported
  reads an OS_* variable at import time (openstack.config.loader reads HOME,
  XDG_* and the working directory, stevedore's cache HOME: those match);
- sys.argv[0] and sys.path[0] are what the script's run has before any import
  (cliff reads sys.argv[0] at import; stevedore hashes sys.path);
- anything the imports wrote to stdout/stderr or set in the environment is
  replayed in every child; os.register_at_fork reseeds `random`.

Protocol on the socket (fd argv[1]): the server sends {"ready": ...} once; per
call the client sends a 4-byte length and a JSON {"args", "env", "cwd"} with
the child's stdin, stdout and stderr as SCM_RIGHTS; the server answers
{"pid": n} at once and {"status": returncode as subprocess gives it, "cpu":
seconds} at the child's exit. EOF on the socket ends the server."""
import sys

OPENSTACK = "/usr/bin/openstack"
CONTROL_FD = int(sys.argv[1])
sys.argv = [OPENSTACK]
sys.path[0] = "/usr/bin"

import atexit  # noqa: E402  (after the sys.path fix: imports must resolve as the script's do)
import json  # noqa: E402
import os  # noqa: E402
import runpy  # noqa: E402
import socket  # noqa: E402
import struct  # noqa: E402
import traceback  # noqa: E402

# Besides openstackclient.shell, every run imports (python3 -X importtime
# /usr/bin/openstack over token issue, project list, image list, flavor list and
# keypair create: the same modules in all five) the auth plugins' and client
# plugins' helpers below, and every command module of the command groups its
# configuration loads (cliff's CommandManager has stevedore import them all).
PRELOAD = """openstackclient.shell keystoneauth1.token_endpoint keystoneauth1.http_basic
keystoneauth1.noauth keystoneauth1.extras._saml2.v3 keystoneauth1.extras.oauth1.v3 novaclient
osc_lib.cli.format_columns osc_lib.cli.parseractions novaclient.v2 cinderclient.api_versions
osc_lib.api.utils osc_lib.utils.tags neutronclient._i18n osc_lib.utils.columns oslo_log.log
cliff.formatters cliff.formatters.table dogpile.cache.backends.null netrc openstackclient.api.compute_v2
osc_lib.api.api""".split()


def command_modules():
    """The modules of the entry points every run loads: the command groups
    OpenStackShell loads with each client plugin's default API version
    (openstackclient/shell.py _load_plugins and _load_commands), cliff's
    formatters, keystoneauth's auth plugin loaders; read with
    importlib.metadata, not stevedore: stevedore's cache lives in HOME and
    belongs to the calls."""
    from importlib.metadata import entry_points
    from openstackclient.common import clientmanager
    groups = ["openstack.cli", "openstack.common", "openstack.extension", "keystoneauth1.plugin",
              "cliff.formatter.completion", "cliff.formatter.list", "cliff.formatter.show"]
    for mod in clientmanager.PLUGIN_MODULES:
        version = str(getattr(mod, "DEFAULT_API_VERSION", None) or "")
        if version:
            groups.append("openstack." + mod.API_NAME.replace("-", "_") + ".v"
                          + version.replace(".", "_").split("_")[0])
    return sorted({ep.module for group in groups for ep in entry_points(group=group)})


def warm_caches():
    """Fills the module-level caches every run fills the same way from the
    installed packages alone: cliff's module -> distribution map (a parse of
    every installed package's METADATA, ~30 % of a run's CPU), which each
    command's help epilog asks for."""
    from cliff import command
    command._get_distributions_by_modules()


def preload():
    """Imports what every run imports; returns (stdout bytes, stderr bytes,
    environment set, environment removed) by the imports, for the children to
    replay."""
    before = dict(os.environ)
    out_at, err_at = (os.lseek(fd, 0, os.SEEK_CUR) for fd in (1, 2))
    for name in PRELOAD:
        __import__(name)
    for name in command_modules():
        try:
            __import__(name)
        except Exception:  # noqa: BLE001  (a run fails on it too, and says so itself)
            pass
    warm_caches()
    sys.stdout.flush()
    sys.stderr.flush()
    said = [os.pread(fd, 1 << 20, at) for fd, at in ((1, out_at), (2, err_at))]
    changed = {k: v for k, v in os.environ.items() if before.get(k) != v}
    gone = [k for k in before if k not in os.environ]
    return said[0], said[1], changed, gone


def without_os(env):
    return {k: v for k, v in env.items() if not k.startswith("OS_")}


def send(sock, obj):
    sock.sendall(json.dumps(obj).encode() + b"\n")


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def recv_call(sock):
    """(call dict, [stdin, stdout, stderr] fds), or (None, []) at EOF."""
    head, fds, _, _ = socket.recv_fds(sock, 4, 3)
    if not head:
        return None, []
    if len(head) < 4:
        head += recv_exact(sock, 4 - len(head)) or b""
    body = recv_exact(sock, struct.unpack("!I", head)[0])
    if body is None or len(fds) != 3:
        for fd in fds:
            os.close(fd)
        return None, []
    return json.loads(body), fds


def serve(sock, replay):
    """Answers calls until EOF (then exits); returns only in a forked child,
    which then has the call's stdio, cwd, environment and argv."""
    base_env, base_cwd = without_os(os.environ), os.getcwd()
    while True:
        call, fds = recv_call(sock)
        if call is None:
            sys.exit(0)
        if without_os(call["env"]) != base_env or call["cwd"] != base_cwd:
            for fd in fds:
                os.close(fd)
            send(sock, {"error": "environment or cwd differ from this server's"})
            continue
        pid = os.fork()
        if pid == 0:
            sock.close()
            become(call, fds, replay)
            return
        for fd in fds:
            os.close(fd)
        send(sock, {"pid": pid})
        _, status, usage = os.wait4(pid, 0)
        send(sock, {"status": os.waitstatus_to_exitcode(status),
                    "cpu": usage.ru_utime + usage.ru_stime})


def become(call, fds, replay):
    out, err, changed, gone = replay
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(call["cwd"])
    os.environ.clear()
    os.environ.update(call["env"])
    os.environ.update(changed)
    for k in gone:
        os.environ.pop(k, None)
    sys.argv = [OPENSTACK, *call["args"]]
    sys.orig_argv = [sys.executable, OPENSTACK, *call["args"]]
    sys.excepthook = script_excepthook
    if out:
        os.write(1, out)
    if err:
        os.write(2, err)


def script_excepthook(kind, value, tb):
    """A traceback as the script's own run prints it: from /usr/bin/openstack's
    frame on, without this server's and runpy's frames."""
    while tb is not None and tb.tb_frame.f_code.co_filename != OPENSTACK:
        tb = tb.tb_next
    sys.stderr.write("".join(traceback.format_exception(kind, value, tb)))


def run_script():
    """Runs /usr/bin/openstack as __main__ and ends as the interpreter would
    (its exit code, thread shutdown, atexit, stdio flush) but with os._exit:
    tearing down the inherited modules would copy-on-write the whole heap
    (~5 s a call on a loaded machine) to free what the kernel frees anyway."""
    try:
        runpy.run_path(OPENSTACK, run_name="__main__")
        code = 0
    except SystemExit as e:
        code = system_exit_code(e.code)
    except BaseException:  # noqa: B036  (the interpreter's own handling of anything)
        sys.excepthook(*sys.exc_info())
        code = 1
    if "threading" in sys.modules:
        sys.modules["threading"]._shutdown()
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
    except Exception:  # noqa: BLE001  (as Py_FinalizeEx: reported, exit status 120)
        sys.stderr.write(f"Exception ignored in: {sys.stdout!r}\n"
                         + "".join(traceback.format_exception(*sys.exc_info())))
        code = 120
    try:
        sys.stderr.flush()
    except Exception:  # noqa: BLE001
        code = 120
    os._exit(code & 0xff)


def system_exit_code(value):
    """The exit status the interpreter makes of SystemExit(value)."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    sys.stderr.write(f"{value}\n")
    return 1


if __name__ == "__main__":
    control = socket.socket(fileno=CONTROL_FD)
    replay = preload()
    send(control, {"ready": os.getpid()})
    serve(control, replay)
    del control, replay
    run_script()
