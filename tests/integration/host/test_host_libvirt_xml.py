"""Issue 13, items 11 and 12: libvirt XML fidelity. Import keeps exactly what
stratad supports and refuses, in one line naming the element, what would
change the guest (each of these was accepted with a silent change before:
arch, <vcpu current>, on_poweroff, clock offset, CPU topology, disk cache/io,
memory rounded down to MiB, a second <name>); a disk's serial and the
memballoon are kept (test_host_start_unlocked.py); block disks export
as type='block'; <audio type='none'/> is accepted; <interface type='user'>
says what is wrong; networks and pools are defined from libvirt XML and
exported as it (net-dumpxml, pool-dumpxml)."""
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import skip_loudly
from hostlib import stratad  # noqa: F401  (fixture)


@pytest.fixture
def files(tmp_path):
    (tmp_path / "kernel").write_bytes(b"\0" * 4096)
    (tmp_path / "disk.img").write_bytes(b"\0" * (1 << 20))
    return tmp_path


def domain_xml(files, memory="<memory unit='MiB'>64</memory>", vcpu="<vcpu>2</vcpu>", os_extra="",
               top="", disk_driver="<driver name='qemu' type='raw'/>", disk_extra="", devices="", name="g1",
               root="<domain type='kvm'>"):
    return f"""{root}
  <name>{name}</name>{memory}{vcpu}
  <os><type arch='x86_64'>hvm</type>{os_extra}<kernel>{files}/kernel</kernel></os>{top}
  <devices>
    <disk type='file' device='disk'>{disk_driver}<source file='{files}/disk.img'/>
      <target dev='vda' bus='virtio'/>{disk_extra}</disk>{devices}
  </devices>
</domain>"""


def post_xml(d, path, text):
    return d.call("POST", path, raw=text.encode(), headers={"Content-Type": "application/xml"})


REFUSED = [
    ("arch", dict(os_extra="", root="<domain type='kvm'>"), "arch='aarch64'"),
    ("vcpu current", dict(vcpu="<vcpu current='1'>2</vcpu>"), "current='1'"),
    ("on_poweroff", dict(top="<on_poweroff>restart</on_poweroff>"), "<on_poweroff>"),
    ("on_reboot", dict(top="<on_reboot>preserve</on_reboot>"), "on_reboot"),
    ("on_crash", dict(top="<on_crash>coredump-destroy</on_crash>"), "on_crash"),
    ("clock offset", dict(top="<clock offset='localtime'/>"), "offset='localtime'"),
    ("cpu topology", dict(top="<cpu mode='host-passthrough'><topology sockets='2' cores='1' threads='1'/></cpu>"),
     "<topology>"),
    ("cpu model", dict(top="<cpu mode='custom'><model>Skylake-Client</model></cpu>"), "<model>"),
    ("hpet", dict(top="<clock offset='utc'><timer name='hpet' present='yes'/></clock>"), "timer name='hpet'"),
    ("disk cache", dict(disk_driver="<driver name='qemu' type='raw' cache='none'/>"), "cache='none'"),
    ("disk io", dict(disk_driver="<driver name='qemu' type='raw' io='native'/>"), "io='native'"),
    ("disk discard", dict(disk_driver="<driver name='qemu' type='raw' discard='unmap'/>"), "discard='unmap'"),
    ("disk serial too long", dict(disk_extra="<serial>eb90327c-8302-4725-9e1b-4e85ed4dc251</serial>"),
     "serial"),
    ("memballoon model", dict(devices="<memballoon model='xen'/>"), "model='xen'"),
    ("memballoon stats", dict(devices="<memballoon model='virtio'><stats period='10'/></memballoon>"),
     "<stats>"),
    ("memballoon autodeflate", dict(devices="<memballoon model='virtio' autodeflate='on'/>"), "autodeflate"),
    ("memory not MiB", dict(memory="<memory unit='KiB'>219100</memory>"), "<memory>"),
    ("memory bytes", dict(memory="<memory unit='b'>67109888</memory>"), "<memory>"),
    ("currentMemory", dict(memory="<memory unit='MiB'>64</memory><currentMemory unit='MiB'>32</currentMemory>"),
     "<currentMemory>"),
    ("second name", dict(top="<name>other</name>"), "<name> is given twice"),
    ("second memory", dict(top="<memory unit='MiB'>128</memory>"), "<memory> is given twice"),
    ("second kernel", dict(os_extra="<kernel>/boot/vmlinuz</kernel>"), "<kernel> is given twice"),
    ("unknown attribute", dict(disk_extra="<readonly/><readonly/>"), "<readonly> is given twice"),
    ("domain type", dict(root="<domain type='xen'>"), "type='xen'"),
    ("rng", dict(devices="<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>"), "<rng>"),
    ("audio", dict(devices="<audio id='1' type='pulseaudio'/>"), "<audio type='pulseaudio'>"),
    ("second serial", dict(devices="<serial type='pty'/><serial type='pty'/>"), "<serial>"),
    ("serial file", dict(devices="<serial type='file'><source path='/tmp/x'/></serial>"), "type='file'"),
    ("firmware", dict(os_extra="<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>"),
     "<loader>"),
    ("hyperv", dict(top="<features><acpi/><hyperv><relaxed state='on'/></hyperv></features>"), "<hyperv>"),
    ("qemu namespace", dict(root="<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>",
                            top="<qemu:commandline><qemu:arg value='-s'/></qemu:commandline>"), "commandline"),
]


@pytest.mark.parametrize("case,kw,words", REFUSED, ids=[c[0] for c in REFUSED])
def test_changes_to_the_guest_are_refused_naming_the_element(stratad, files, case, kw, words):  # noqa: F811
    text = domain_xml(files, **kw)
    if case == "arch":
        text = text.replace("arch='x86_64'", "arch='aarch64'")
    st, reply = post_xml(stratad, "/v1/domains", text)
    assert st == 400, f"{case}: accepted ({st} {reply})"
    msg = reply["error"]["message"]
    assert "\n" not in msg and words in msg, f"{case}: {msg!r}"
    assert stratad.ok("GET", "/v1/domains") == []


def test_user_interface_gets_a_clear_message(stratad, files):  # noqa: F811
    text = domain_xml(files, devices="<interface type='user'><mac address='52:54:00:00:00:01'/></interface>")
    st, reply = post_xml(stratad, "/v1/domains", text)
    msg = reply["error"]["message"]
    assert st == 400 and "type='user'" in msg and "user-mode" in msg and '"source"' not in msg, msg


def test_what_stratad_supports_is_kept_exactly(stratad, files):  # noqa: F811
    """Memory in any unit that is a whole MiB, the vcpus, on_* actions, the
    disk's serial, cache='writeback' and io='threads' (what
    stratad does), and libvirt's harmless defaults (audio none, controllers,
    balloon, input, graphics, video, pm off, host-passthrough, UTC clock)."""
    text = domain_xml(
        files, memory="<memory unit='G'>1</memory><currentMemory unit='KiB'>1048576</currentMemory>",
        vcpu="<vcpu placement='static' current='3'>3</vcpu>", os_extra="<boot dev='hd'/>",
        top="<features><acpi/><apic/><pae/></features><cpu mode='host-passthrough' check='none'/>"
            "<clock offset='utc'><timer name='rtc' tickpolicy='catchup'/><timer name='hpet' present='no'/></clock>"
            "<on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>restart</on_crash>"
            "<pm><suspend-to-mem enabled='no'/></pm>",
        disk_driver="<driver name='qemu' type='raw' cache='writeback' io='threads'/>",
        disk_extra="<serial>vda</serial><readonly/>",
        devices="<controller type='usb' model='qemu-xhci'/><audio id='1' type='none'/><memballoon model='virtio'/>"
                "<input type='tablet' bus='usb'/><graphics type='vnc' port='-1'/><video><model type='vga'/></video>"
                "<serial type='pty'><target type='isa-serial' port='0'><model name='isa-serial'/></target></serial>"
                "<console type='pty'><target type='serial' port='0'/></console>")
    st, reply = post_xml(stratad, "/v1/domains", text)
    assert st == 201, reply
    d = reply["definition"]
    assert (d["memory_mib"], d["vcpus"], d["on_reboot"], d["on_crash"]) == (1024, 3, "destroy", "restart")
    assert d["disks"][0]["readonly"] is True
    out = stratad.ok("GET", "/v1/domains/g1/xml").decode()
    x = ET.fromstring(out)
    assert x.find("memory").text == "1048576" and x.find("memory").get("unit") == "KiB"
    assert x.find("currentMemory").text == "1048576"
    assert x.find("vcpu").text == "3" and x.find("os/type").get("arch") == "x86_64"
    assert x.find("on_poweroff").text == "destroy" and x.find("on_crash").text == "restart"
    assert x.find("devices/disk/serial").text == "vda"
    # what dumpxml gives defines the same domain again
    stratad.ok("DELETE", "/v1/domains/g1")
    st, again = post_xml(stratad, "/v1/domains", out)
    assert st == 201 and again["definition"] == d, again


def test_memory_units(stratad, files):  # noqa: F811
    for mem, mib in [("<memory unit='KiB'>219136</memory>", 214), ("<memory unit='b'>67108864</memory>", 64),
                     ("<memory>131072</memory>", 128), ("<memory unit='GiB'>2</memory>", 2048)]:
        st, reply = post_xml(stratad, "/v1/domains", domain_xml(files, memory=mem))
        assert st == 201 and reply["memory_mib"] == mib, (mem, reply)
        stratad.ok("DELETE", "/v1/domains/g1")


def test_block_disk_exports_as_block(stratad, files):  # noqa: F811
    if os.geteuid() != 0 or not shutil.which("losetup"):
        skip_loudly("needs root and losetup for a loop block device")
    r = subprocess.run(["losetup", "--find", "--show", str(files / "disk.img")], capture_output=True, text=True)
    if r.returncode != 0:
        skip_loudly(f"losetup could not attach a loop device: {r.stderr.strip()}")
    dev = r.stdout.strip()
    try:
        text = domain_xml(files).replace(f"<disk type='file' device='disk'>", "<disk type='block' device='disk'>")
        text = text.replace(f"<source file='{files}/disk.img'/>", f"<source dev='{dev}'/>")
        st, reply = post_xml(stratad, "/v1/domains", text)
        assert st == 201, reply
        x = ET.fromstring(stratad.ok("GET", "/v1/domains/g1/xml"))
        disk = x.find("devices/disk")
        assert disk.get("type") == "block" and disk.find("source").get("dev") == dev, ET.tostring(disk)
        stratad.ok("DELETE", "/v1/domains/g1")
        st, reply = post_xml(stratad, "/v1/domains", domain_xml(files))
        x = ET.fromstring(stratad.ok("GET", "/v1/domains/g1/xml"))
        assert x.find("devices/disk").get("type") == "file"
    finally:
        subprocess.run(["losetup", "-d", dev])


NETWORK = """<network>
  <name>lvnet</name>
  <uuid>81ff0d90-c91e-6742-64da-4a736edb9a9b</uuid>
  <forward mode='nat'/>
  <bridge name='stbr-lv' stp='on' delay='0'/>
  <mac address='52:54:00:0a:cd:21'/>
  <ip address='192.168.150.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.150.2' end='192.168.150.254'/></dhcp>
  </ip>
</network>"""


def test_network_xml_define_and_dumpxml(stratad, tmp_path):  # noqa: F811
    st, reply = post_xml(stratad, "/v1/networks", NETWORK)
    assert st == 201, reply
    assert (reply["mode"], reply["bridge"], reply["ip"]) == ("nat", "stbr-lv", "192.168.150.1/24")
    assert reply["dhcp"] == {"start": "192.168.150.2", "end": "192.168.150.254"}
    x = ET.fromstring(stratad.ok("GET", "/v1/networks/lvnet/xml"))
    assert x.find("forward").get("mode") == "nat" and x.find("bridge").get("name") == "stbr-lv"
    assert (x.find("ip").get("address"), x.find("ip").get("prefix")) == ("192.168.150.1", "24")
    assert x.find("ip/dhcp/range").get("end") == "192.168.150.254"
    # the CLI: define from XML, dumpxml prints it
    f = tmp_path / "isolated.xml"
    f.write_text("<network><name>lviso</name><ip address='10.9.0.1' prefix='16'/></network>")
    stratad.cli("net-define", f)
    out = stratad.cli("net-dumpxml", "lviso").stdout
    x = ET.fromstring(out)
    assert x.find("forward") is None and x.find("ip").get("prefix") == "16", out
    # what net-dumpxml gives defines the same network again
    stratad.ok("DELETE", "/v1/networks/lviso")
    f.write_text(out)
    stratad.cli("net-define", f)
    assert stratad.ok("GET", "/v1/networks/lviso")["ip"] == "10.9.0.1/16"


NETWORK_HOSTS = """<network>
  <name>lvres</name>
  <forward mode='nat'/>
  <ip address='192.168.151.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.151.100' end='192.168.151.200'/>
      <host mac='52:54:00:0A:CD:31' ip='192.168.151.31' name='web'/>
      <host mac='52:54:00:0a:cd:32' ip='192.168.151.32'/>
    </dhcp>
  </ip>
</network>"""


def test_network_xml_dhcp_hosts_are_reservations(stratad, tmp_path):  # noqa: F811
    """<dhcp><host/> entries define the network's DHCP host reservations;
    net-dumpxml shows them (and those added later) back, and defines the same again."""
    f = tmp_path / "res.xml"
    f.write_text(NETWORK_HOSTS)
    stratad.cli("net-define", f)
    want = [{"mac": "52:54:00:0a:cd:31", "ip": "192.168.151.31", "name": "web"},
            {"mac": "52:54:00:0a:cd:32", "ip": "192.168.151.32"}]
    assert stratad.ok("GET", "/v1/networks/lvres/hosts") == want
    assert (stratad.state_dir / "net-lvres.hostsfile").read_text() == \
        "52:54:00:0a:cd:31,192.168.151.31,web\n52:54:00:0a:cd:32,192.168.151.32\n"
    stratad.cli("net-dhcp-host-add", "lvres", "52:54:00:0a:cd:33", "192.168.151.33", "db")
    out = stratad.cli("net-dumpxml", "lvres").stdout
    x = ET.fromstring(out)
    assert x.find("ip/dhcp/range").get("start") == "192.168.151.100", out
    assert [(h.get("mac"), h.get("ip"), h.get("name")) for h in x.findall("ip/dhcp/host")] == [
        ("52:54:00:0a:cd:31", "192.168.151.31", "web"), ("52:54:00:0a:cd:32", "192.168.151.32", None),
        ("52:54:00:0a:cd:33", "192.168.151.33", "db")], out
    stratad.ok("DELETE", "/v1/networks/lvres")
    assert not (stratad.state_dir / "net-lvres.hostsfile").exists()
    f.write_text(out)
    stratad.cli("net-define", f)
    assert len(stratad.ok("GET", "/v1/networks/lvres/hosts")) == 3
    stratad.ok("DELETE", "/v1/networks/lvres")
    # a network without reservations has no <host>, and no file left from an earlier one
    stratad.ok("POST", "/v1/networks", {"name": "lvres", "mode": "nat", "ip": "192.168.151.1/24"})
    assert stratad.ok("GET", "/v1/networks/lvres/hosts") == []
    assert ET.fromstring(stratad.ok("GET", "/v1/networks/lvres/xml")).find("ip/dhcp") is None
    # JSON's "hosts" too; a bridge network has no DHCP server for them
    st, reply = stratad.call("POST", "/v1/networks", {"name": "lvbr", "mode": "bridge", "bridge": "br7",
                                                       "hosts": [{"mac": "52:54:00:0a:cd:34", "ip": "10.0.0.5"}]})
    assert st == 400 and "hosts" in reply["error"]["message"], reply
    assert [n["name"] for n in stratad.ok("GET", "/v1/networks")] == ["lvres"]


@pytest.mark.parametrize("body,words", [
    ("<network><name>n6</name><ip family='ipv6' address='2001:db8::1' prefix='64'/></network>", "ipv6"),
    ("<network><name>nd</name><ip address='10.1.0.1' prefix='24'><dhcp><range start='10.1.0.2' end='10.1.0.9'/>"
     "<host mac='52:54:00:00:00:01'/></dhcp></ip></network>", "needs a mac and an ip"),
    ("<network><name>nd</name><ip address='10.1.0.1' prefix='24'><dhcp>"
     "<host mac='52:54:00:00:00:01' ip='10.2.0.5'/></dhcp></ip></network>", "not a host address"),
    ("<network><name>nd</name><ip address='10.1.0.1' prefix='24'><dhcp>"
     "<host mac='52:54:00:00:00:01' ip='10.1.0.5'/><host mac='52:54:00:00:00:01' ip='10.1.0.6'/></dhcp></ip>"
     "</network>", "already has a reservation"),
    ("<network><name>nd</name><ip address='10.1.0.1' prefix='24'><dhcp>"
     "<host mac='52:54:00:00:00:01' ip='10.1.0.5' id='0:1'/></dhcp></ip></network>", "id"),
    ("<network><name>nn</name><dns><host ip='10.1.0.5'><hostname>a</hostname></host></dns></network>", "<dns>"),
    ("<network><name>no</name><forward mode='open'/></network>", "mode='open'"),
    ("<network><name>n2</name><ip address='10.1.0.1' prefix='24'/><ip address='10.2.0.1' prefix='24'/></network>",
     "<ip> is given twice"),
    ("<network><name>n3</name><name>n4</name></network>", "<name> is given twice"),
    ("<network><name>nm</name><mtu size='9000'/></network>", "<mtu>"),
])
def test_network_xml_refusals(stratad, body, words):  # noqa: F811
    st, reply = post_xml(stratad, "/v1/networks", body)
    assert st == 400 and words in reply["error"]["message"], reply
    assert stratad.ok("GET", "/v1/networks") == []


def test_pool_xml_define_and_dumpxml(stratad, tmp_path):  # noqa: F811
    (tmp_path / "p1").mkdir()
    body = f"""<pool type='dir'><name>lvpool</name><uuid>35bb2ad9-388a-cdfe-461a-b8907f6e53fe</uuid>
      <capacity unit='bytes'>0</capacity><source></source>
      <target><path>{tmp_path}/p1</path><permissions><mode>0755</mode></permissions></target></pool>"""
    st, reply = post_xml(stratad, "/v1/pools", body)
    assert st == 201 and reply["type"] == "dir" and reply["path"] == f"{tmp_path}/p1", reply
    out = stratad.cli("pool-dumpxml", "lvpool").stdout
    x = ET.fromstring(out)
    assert x.get("type") == "dir" and x.find("target/path").text == f"{tmp_path}/p1", out
    stratad.ok("DELETE", "/v1/pools/lvpool")
    f = tmp_path / "pool.xml"
    f.write_text(out)
    stratad.cli("pool-define", f)
    assert stratad.ok("GET", "/v1/pools/lvpool")["path"] == f"{tmp_path}/p1"
    for bad, words in [("<pool type='netfs'><name>x</name></pool>", "type='netfs'"),
                       (f"<pool type='dir'><name>x</name><source><dir path='/srv'/></source>"
                        f"<target><path>{tmp_path}</path></target></pool>", "<dir>"),
                       ("<pool type='logical'><name>x</name><source><name>vg0</name></source>"
                        "<target><path>/dev/other</path></target></pool>", "<path>")]:
        st, reply = post_xml(stratad, "/v1/pools", bad)
        assert st == 400 and words in reply["error"]["message"], (bad, reply)
