#!/usr/bin/env python3
"""Adds up meson test logs (testlog.json) and pytest JUnit XML into the
closing line 'N passed, N failed, N skipped'; exits 1 when anything failed or
when nothing ran."""
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

passed = failed = skipped = 0
for arg in sys.argv[1:]:
    p = Path(arg)
    if not p.exists():
        print(f"summarize: {p} missing (that stage had no tests)")
        continue
    if p.suffix == ".json":
        for line in p.read_text().splitlines():
            r = json.loads(line)
            res = r.get("result")
            if res in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif res == "SKIP":
                skipped += 1
            else:
                failed += 1
                print(f"FAILED (meson, {p.stem.removeprefix('testlog-')}): {r.get('name')}")
    else:
        root = ET.parse(p).getroot()
        for case in root.iter("testcase"):
            tags = {c.tag for c in case}
            name = f"{case.get('classname')}::{case.get('name')}"
            if "failure" in tags or "error" in tags:
                failed += 1
                print(f"FAILED (pytest): {name}")
            elif "skipped" in tags:
                skipped += 1
            else:
                passed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
