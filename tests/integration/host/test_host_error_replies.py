"""Issue 13 item 10: every error reply is the documented JSON error, one line
of valid UTF-8."""
from hostlib import guest, stratad  # noqa: F401  (fixture)


def write_something(d, name="priv"):
    d.ok("POST", "/v1/domains", {"name": name, "memory_mib": 16, "os": {"kernel": guest("pwrbtn")}})


def refused(d, status, method, path, **kw):
    got, reply = d.call(method, path, **kw)
    assert got == status, reply
    assert isinstance(reply, dict) and reply["error"]["code"] == status, reply
    return reply["error"]["message"]


def test_error_messages_do_not_repeat_themselves(stratad):
    """Item 10: 'timeout: timeout: timeout: ti' (the message was formatted
    into the buffer it was read from)."""
    write_something(stratad)
    msg = refused(stratad, 400, "POST", "/v1/domains/priv/shutdown?timeout=soon")
    assert msg.count("timeout") == 1 and "soon" in msg, msg
    msg = refused(stratad, 400, "GET", "/v1/audit?limit=lots")
    assert msg.count("limit") == 1 and "lots" in msg, msg


def test_invalid_xml_reports_the_first_error(stratad):
    """Item 10: libxml2's last error (often a consequence) was reported, not
    the first (the cause)."""
    xml = b"<domain type='kvm'>\n  <name attr=unquoted>x</name>\n  <memory>16</memory>\n</domain>\n"
    msg = refused(stratad, 400, "POST", "/v1/domains", raw=xml, headers={"Content-Type": "application/xml"})
    assert "line 2" in msg and "AttValue" in msg, msg


def test_control_characters_in_names_are_escaped(stratad):
    """Item 10: a newline in a name was echoed into the message."""
    for name in ("two\nlines", "bell\x07", "tab\there"):
        msg = refused(stratad, 400, "POST", "/v1/domains",
                      body={"name": name, "memory_mib": 16, "os": {"kernel": guest("pwrbtn")}})
        assert not any(ord(c) < 0x20 or ord(c) == 0x7f for c in msg), repr(msg)
        escaped = name.replace("\n", "\\n").replace("\t", "\\t").replace("\x07", "\\x07")
        assert escaped in msg, repr(msg)
