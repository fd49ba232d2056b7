"""libvirt's own test definitions (Debian's libvirt source package), fetched
with apt the way CI can, into a cache outside the tree; and a model of what
stratad keeps, independent of its C code, to tell an accepted file with a
silent change from one imported faithfully."""
import os
import re
import subprocess
import tarfile
from pathlib import Path

CACHE = Path(os.environ.get("STRATA_TEST_CACHE", "/var/cache/strata-test"))
DIRS = ["qemuxml2argvdata", "qemuxml2xmloutdata", "genericxml2xmlindata", "networkxml2xmlin", "storagepoolxml2xmlin"]


def _debian_mirror():
    """The system's Debian mirror and suite, so the same place apt uses."""
    uri, suite = "http://deb.debian.org/debian", None
    for f in [Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")]:
        text = f.read_text() if f.exists() else ""
        m = re.search(r"^URIs:\s*(\S+)", text, re.M) or re.search(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s", text, re.M)
        if m:
            uri = m.group(1)
            break
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            suite = line.split("=", 1)[1].strip('"')
    return uri, suite


def fetch():
    """The extracted tests/ directory of libvirt's source, or (None, why)."""
    src = CACHE / "libvirt-src"
    found = sorted(src.glob("libvirt-*/tests/qemuxml2argvdata"))
    if found:
        return found[-1].parent, None
    uri, suite = _debian_mirror()
    if not suite:
        return None, "no VERSION_CODENAME in /etc/os-release"
    apt = CACHE / "apt"
    try:
        for d in [apt / "parts", apt / "lists" / "partial", apt / "cache" / "archives" / "partial", src]:
            d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return None, f"cannot create the cache {CACHE}: {e}"
    (apt / "parts" / "src.sources").write_text(
        f"Types: deb-src\nURIs: {uri}\nSuites: {suite}\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
    opts = [f"-oDir::Etc::SourceList={apt}/none.list", f"-oDir::Etc::SourceParts={apt}/parts",
            f"-oDir::State::Lists={apt}/lists", f"-oDir::Cache={apt}/cache", "-oAPT::Sandbox::User=root"]
    for cmd in (["apt-get", "-q", *opts, "update"], ["apt-get", "-q", *opts, "--download-only", "source", "libvirt"]):
        try:
            r = subprocess.run(cmd, cwd=src, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as e:
            return None, f"{' '.join(cmd[:1] + cmd[-2:])}: {e}"
        if r.returncode != 0:
            return None, f"{' '.join(cmd[:1] + cmd[-2:])} failed: {r.stderr.strip()[-300:]}"
    tars = sorted(src.glob("libvirt_*.orig.tar.*"))
    if not tars:
        return None, "apt-get source libvirt gave no .orig tarball"
    with tarfile.open(tars[-1]) as t:
        members = [m for m in t.getmembers()
                   if (m.isfile() or m.issym()) and m.name.endswith(".xml") and any(f"/tests/{d}/" in m.name for d in DIRS)]
        t.extractall(src, members=members)
    found = sorted(src.glob("libvirt-*/tests/qemuxml2argvdata"))
    return (found[-1].parent, None) if found else (None, "the tarball has no tests/qemuxml2argvdata")


ANY = None  # any value
SUBTREE = "subtree"  # the element and everything in it is dropped as harmless

# path -> allowed values (ANY), or SUBTREE. "#" is the element's text.
DOMAIN = {
    "domain": ANY, "domain@type": {"kvm", "qemu"}, "domain@id": ANY,
    "domain/name": ANY, "domain/uuid": ANY, "domain/title": SUBTREE, "domain/description": SUBTREE,
    "domain/metadata": SUBTREE, "domain/resource": SUBTREE, "domain/seclabel": SUBTREE,
    "domain/memory": ANY, "domain/memory@unit": ANY, "domain/currentMemory": ANY, "domain/currentMemory@unit": ANY,
    "domain/vcpu": ANY, "domain/vcpu@placement": ANY, "domain/vcpu@cpuset": ANY, "domain/vcpu@current": ANY,
    "domain/os": ANY, "domain/os/type": ANY, "domain/os/type@arch": {"x86_64"}, "domain/os/type@machine": ANY,
    "domain/os/type#": {"hvm"}, "domain/os/kernel": ANY, "domain/os/initrd": ANY, "domain/os/cmdline": ANY,
    "domain/os/boot": ANY, "domain/os/boot@dev": ANY, "domain/os/bootmenu": ANY, "domain/os/bootmenu@enable": ANY,
    "domain/os/bootmenu@timeout": ANY,
    "domain/features": ANY, "domain/features/acpi": ANY, "domain/features/apic": ANY, "domain/features/pae": ANY,
    "domain/cpu": ANY, "domain/cpu@mode": {"host-passthrough"}, "domain/cpu@check": ANY,
    "domain/cpu@migratable": ANY,
    "domain/clock": ANY, "domain/clock@offset": {"utc"}, "domain/clock/timer": ANY,
    "domain/clock/timer@name": {"rtc", "pit", "hpet"}, "domain/clock/timer@tickpolicy": ANY,
    "domain/clock/timer@present": ANY,
    "domain/on_poweroff#": {"destroy"}, "domain/on_poweroff": ANY,
    "domain/on_reboot": ANY, "domain/on_reboot#": {"restart", "destroy"},
    "domain/on_crash": ANY, "domain/on_crash#": {"restart", "destroy"},
    "domain/pm": ANY, "domain/pm/suspend-to-mem": ANY, "domain/pm/suspend-to-mem@enabled": {"no"},
    "domain/pm/suspend-to-disk": ANY, "domain/pm/suspend-to-disk@enabled": {"no"},
    "domain/devices": ANY, "domain/devices/emulator": SUBTREE, "domain/devices/controller": SUBTREE,
    "domain/devices/input": SUBTREE, "domain/devices/graphics": SUBTREE, "domain/devices/video": SUBTREE,
    "domain/devices/memballoon": ANY, "domain/devices/memballoon@model": {"virtio", "none"},
    "domain/devices/memballoon/alias": SUBTREE, "domain/devices/memballoon/address": SUBTREE,
    "domain/devices/audio": ANY, "domain/devices/audio@type": {"none"},
    "domain/devices/audio@id": ANY,
    "domain/devices/disk": ANY, "domain/devices/disk@type": {"file", "block", "volume"},
    "domain/devices/disk@device": {"disk"}, "domain/devices/disk/driver": ANY,
    "domain/devices/disk/driver@name": {"qemu"}, "domain/devices/disk/driver@type": {"raw", "qcow2"},
    "domain/devices/disk/driver@cache": {"writeback"}, "domain/devices/disk/driver@io": {"threads", "io_uring"},
    "domain/devices/disk/source": ANY, "domain/devices/disk/source@file": ANY, "domain/devices/disk/source@dev": ANY,
    "domain/devices/disk/source@pool": ANY, "domain/devices/disk/source@volume": ANY,
    "domain/devices/disk/target": ANY, "domain/devices/disk/target@dev": ANY,
    "domain/devices/disk/target@bus": {"virtio"}, "domain/devices/disk/readonly": ANY,
    "domain/devices/disk/serial": ANY, "domain/devices/disk/alias": SUBTREE, "domain/devices/disk/address": SUBTREE,
    "domain/devices/disk/boot": SUBTREE, "domain/devices/disk/backingStore": ANY,
    "domain/devices/interface": ANY, "domain/devices/interface@type": {"network", "bridge", "direct"},
    "domain/devices/interface/source": ANY, "domain/devices/interface/source@network": ANY,
    "domain/devices/interface/source@bridge": ANY, "domain/devices/interface/source@dev": ANY,
    "domain/devices/interface/source@mode": {"bridge"}, "domain/devices/interface/mac": ANY,
    "domain/devices/interface/mac@address": ANY, "domain/devices/interface/model": ANY,
    "domain/devices/interface/model@type": {"virtio"}, "domain/devices/interface/target": SUBTREE,
    "domain/devices/interface/alias": SUBTREE, "domain/devices/interface/address": SUBTREE,
    "domain/devices/serial": ANY, "domain/devices/serial@type": {"pty"}, "domain/devices/serial/target": ANY,
    "domain/devices/serial/target@type": {"isa-serial"}, "domain/devices/serial/target@port": {"0"},
    "domain/devices/serial/target/model": ANY, "domain/devices/serial/target/model@name": {"isa-serial"},
    "domain/devices/serial/alias": SUBTREE,
    "domain/devices/console": ANY, "domain/devices/console@type": {"pty"}, "domain/devices/console/target": ANY,
    "domain/devices/console/target@type": {"serial"}, "domain/devices/console/target@port": {"0"},
    "domain/devices/console/alias": SUBTREE,
}
DOMAIN_REPEATABLE = {"domain/devices/disk", "domain/devices/interface", "domain/devices/controller",
                     "domain/devices/input", "domain/devices/graphics", "domain/devices/video",
                     "domain/devices/serial", "domain/devices/console", "domain/devices/audio", "domain/os/boot",
                     "domain/clock/timer", "domain/seclabel"}

NETWORK = {
    "network": ANY, "network/name": ANY, "network/uuid": ANY, "network/forward": ANY,
    "network/forward@mode": {"nat", "route", "bridge"}, "network/bridge": ANY, "network/bridge@name": ANY,
    "network/bridge@stp": ANY, "network/bridge@delay": ANY, "network/mac": ANY, "network/mac@address": ANY,
    "network/ip": ANY, "network/ip@address": ANY, "network/ip@netmask": ANY, "network/ip@prefix": ANY,
    "network/ip@family": {"ipv4"}, "network/ip/dhcp": ANY, "network/ip/dhcp/range": ANY,
    "network/ip/dhcp/range@start": ANY, "network/ip/dhcp/range@end": ANY,
}
POOL = {
    "pool": ANY, "pool@type": {"dir", "logical"}, "pool/name": ANY, "pool/uuid": ANY, "pool/capacity": SUBTREE,
    "pool/allocation": SUBTREE, "pool/available": SUBTREE, "pool/source": ANY, "pool/source/name": ANY,
    "pool/source/device": ANY, "pool/source/device@path": ANY, "pool/source/format": ANY,
    "pool/source/format@type": {"lvm2", "auto"}, "pool/target": ANY, "pool/target/path": ANY,
    "pool/target/permissions": SUBTREE,
}


def local(tag):
    return tag.split("}", 1)[-1] if isinstance(tag, str) else str(tag)


def outside(root, model, repeatable=()):
    """What in the document the model neither keeps nor drops as harmless
    (with the value that is not kept), or None."""
    def walk(el, path):
        if not isinstance(el.tag, str):
            return None
        if "}" in el.tag:
            return f"{path}: namespaced <{local(el.tag)}>"
        rule = model.get(path, "missing")
        if rule == "missing":
            return path
        if rule == SUBTREE:
            return None
        text = (el.text or "").strip()
        if isinstance(model.get(path + "#"), set) and text not in model[path + "#"]:
            return f"{path} = {text!r}"
        for k, v in el.attrib.items():
            a = model.get(f"{path}@{local(k)}", "missing")
            if a == "missing" or "}" in k:
                return f"{path}@{local(k)}"
            if isinstance(a, set) and v not in a:
                return f"{path}@{local(k)}={v!r}"
        seen = set()
        for c in el:
            if not isinstance(c.tag, str):
                continue
            cp = f"{path}/{local(c.tag)}"
            if cp in seen and cp not in repeatable:
                return f"{cp} twice"
            seen.add(cp)
            bad = walk(c, cp)
            if bad:
                return bad
        return None
    return walk(root, local(root.tag))


UNITS = {"b": 1, "bytes": 1, "KB": 10**3, "k": 1024, "KiB": 1024, "MB": 10**6, "M": 1 << 20, "MiB": 1 << 20,
         "GB": 10**9, "G": 1 << 30, "GiB": 1 << 30, "TB": 10**12, "T": 1 << 40, "TiB": 1 << 40}


def size(el):
    return None if el is None else int(el.text.strip()) * UNITS[el.get("unit", "KiB")]


def domain_meaning(x):
    """What a domain document says that stratad keeps, in one comparable form."""
    def text(path, default=None):
        e = x.find(path)
        return default if e is None or e.text is None else e.text.strip()
    disks = []
    for i, d in enumerate(x.findall("devices/disk")):
        src = d.find("source")
        path = src.get("file") or src.get("dev") if src is not None else None
        vol = (src.get("pool"), src.get("volume")) if src is not None and src.get("pool") else None
        drv = d.find("driver")
        tgt = d.find("target")
        dev = tgt.get("dev") if tgt is not None else None
        serial = d.find("serial")
        disks.append((vol or path, drv.get("type", "raw") if drv is not None else "raw", dev,
                      d.find("readonly") is not None, serial.text if serial is not None else dev))
    nics = []
    for n in x.findall("devices/interface"):
        src = n.find("source")
        mac = n.find("mac")
        nics.append((n.get("type"), src.get("network") or src.get("bridge") or src.get("dev"),
                     mac.get("address").lower() if mac is not None else None))
    vcpu = x.find("vcpu")
    balloon = x.find("devices/memballoon")  # libvirt adds a virtio one when there is none
    return {"name": text("name"), "uuid": (text("uuid") or "").lower() or None, "memory": size(x.find("memory")),
            "vcpus": int(vcpu.text) if vcpu is not None else 1, "kernel": text("os/kernel"),
            "initrd": text("os/initrd"), "cmdline": text("os/cmdline", ""),
            "on_reboot": text("on_reboot", "restart"), "on_crash": text("on_crash", "destroy"),
            "disks": disks, "nics": nics,
            "balloon": balloon is None or balloon.get("model") != "none"}


def network_meaning(x):
    fwd = x.find("forward")
    mode = {"nat": "nat", "route": "routed", "bridge": "bridge"}[fwd.get("mode", "nat")] if fwd is not None \
        else "isolated"
    ip = x.find("ip")
    cidr = None
    if ip is not None:
        prefix = ip.get("prefix")
        if ip.get("netmask"):
            prefix = str(sum(bin(int(o)).count("1") for o in ip.get("netmask").split(".")))
        cidr = f"{ip.get('address')}/{prefix or 24}"
    rng = x.find("ip/dhcp/range")
    br = x.find("bridge")
    return {"name": x.findtext("name"), "mode": mode, "bridge": br.get("name") if br is not None else None,
            "ip": cidr, "dhcp": (rng.get("start"), rng.get("end")) if rng is not None else None}


def pool_meaning(x):
    return {"name": x.findtext("name"), "type": x.get("type"), "path": (x.findtext("target/path") or "").strip(),
            "vg": x.findtext("source/name")}


def same(before, after):
    """after says what before says; None in before (not given) matches anything."""
    if before is None:
        return True
    if isinstance(before, (list, tuple)):
        return isinstance(after, (list, tuple)) and len(before) == len(after) and \
            all(same(b, a) for b, a in zip(before, after))
    return before == after
