"""Issue 13, item 1: XML definitions with a DTD. A billion-laughs body grew
stratad to 24 GB; the same entities inside an attribute kept it parsing for
minutes under the global lock; an external entity silently became an empty
field. Each is now refused with one 400 line before anything is expanded.

stratad runs in a memory cgroup here, so a regression ends in its OOM kill
(a failed request), never in the machine's."""
import os
import uuid
from pathlib import Path

import pytest

from conftest import skip_loudly
from hostlib import Stratad, cleanup, guest, short_tmpdir

MEMCG = Path("/sys/fs/cgroup/memory")
LIMIT = 1 << 30


@pytest.fixture
def capped():
    if os.geteuid() != 0 or not (MEMCG / "cgroup.procs").exists():
        skip_loudly("needs root and the cgroup v1 memory controller to cap stratad's memory")
    cg = MEMCG / f"strata-xml-{uuid.uuid4().hex[:8]}"
    cg.mkdir()
    try:
        (cg / "memory.limit_in_bytes").write_text(str(LIMIT))
        if (cg / "memory.memsw.limit_in_bytes").exists():  # no escape into swap
            (cg / "memory.memsw.limit_in_bytes").write_text(str(LIMIT))
        wrapper = ["sh", "-c", f'echo $$ > {cg}/cgroup.procs && exec "$@"', "sh"]
        d = Stratad(short_tmpdir(), wrapper=wrapper).start()
        assert str(d.proc.pid) in (cg / "cgroup.procs").read_text().split()
        yield d
        cleanup(d)
    finally:
        cg.rmdir()


def laughs(levels=10):
    """<!ENTITY l0 "ha..."> and l(i) = ten l(i-1): l9 is 10^10 bytes."""
    ents = ['<!ENTITY l0 "hahahahaha">']
    ents += [f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, levels)]
    return "<!DOCTYPE domain [\n" + "\n".join(ents) + "\n]>\n"


def domain(name_xml, disk_attr="", kernel=None):
    kernel = kernel or guest("pwrbtn")
    disk = f'<devices><disk type="file"><source file="{disk_attr}"/><target dev="vda"/></disk></devices>' \
        if disk_attr else ""
    return f'<domain type="kvm"><name>{name_xml}</name><memory unit="MiB">16</memory>' \
           f'<os><kernel>{kernel}</kernel></os>{disk}</domain>'


def post_xml(d, text):
    return d.call("POST", "/v1/domains", raw=text.encode(), headers={"Content-Type": "application/xml"})


def refused_with(d, text, words):
    st, reply = post_xml(d, text)
    assert st == 400, (st, reply)
    msg = reply["error"]["message"]
    assert words in msg and "\n" not in msg, msg
    return msg


def test_entity_bombs_are_refused(capped):
    d = capped
    # flat: one 400 KB entity referenced 100,000 times, a body under 1 MiB
    # that libxml2's loop detection does not catch (40 GB once expanded)
    flat = '<!DOCTYPE domain [<!ENTITY x "' + "A" * 400_000 + '">]>' + domain("&x;" * 100_000)
    assert len(flat) < 1 << 20
    refused_with(d, flat, "entity declarations like x")
    # nested, in element content
    refused_with(d, '<?xml version="1.0"?>\n' + laughs() + domain("&l9;"), "entity declarations")
    # in an attribute, where libxml2 expands entities whatever the options
    refused_with(d, laughs() + domain("a", disk_attr="&l9;" * 1000), "entity declarations")
    # parameter entities too
    refused_with(d, '<!DOCTYPE domain [<!ENTITY % p "x"> %p;]>' + domain("p"), "entity declarations")
    assert d.ok("GET", "/v1/domains") == []
    assert d.proc.poll() is None
    # still serving, with its lock free
    assert d.ok("GET", "/v1/host")["domains"] == 0


def test_external_entities_are_refused_not_emptied(capped):
    d = capped
    refused_with(d, '<!DOCTYPE domain [<!ENTITY e SYSTEM "file:///etc/hostname">]>' + domain("&e;"),
                 "entity declarations like e")
    refused_with(d, '<!DOCTYPE domain SYSTEM "file:///etc/passwd">' + domain("x"), "external DTD")
    refused_with(d, '<!DOCTYPE domain PUBLIC "-//x//y" "http://127.0.0.1:9/x.dtd">' + domain("x"), "external DTD")
    # an undeclared entity is an error, not an empty name
    st, reply = post_xml(d, domain("&undeclared;"))
    assert st == 400 and "undeclared" in reply["error"]["message"], reply
    assert d.ok("GET", "/v1/domains") == []
    # a DOCTYPE without entities or an external DTD is harmless
    st, reply = post_xml(d, '<?xml version="1.0"?><!DOCTYPE domain>' + domain("plain"))
    assert st == 201 and reply["name"] == "plain", reply
