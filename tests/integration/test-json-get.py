#!/usr/bin/env python3
"""vz-json-get against Python's print() (what lib.sh's json_get falls back
to): for every path of a document of awkward values it either prints
exactly what Python prints or answers 3 (ask Python); never another value.
usage: test-json-get.py BUILDDIR   (TAP on stdout)"""
import json
import os
import subprocess
import sys
import tempfile

tool = sys.argv[2] if len(sys.argv) > 2 else os.path.join(sys.argv[1], "tests", "integration", "vz-json-get")
doc = """{"frames": 250, "neg": -3, "zero": -0, "f3": 40.020, "f0": 40.000,
 "nz": -0.0, "tiny": 0.00001, "edge": 0.0001, "exp": 1e5, "big": 12345678901234567.5,
 "long": 0.1000000000000000055, "s": "YUYV", "sp": " a b ", "esc": "x\\"y\\n",
 "uni": "\\u00e9", "t": true, "f": false, "n": null, "empty": {}, "arr": [],
 "sinks": [{"name": "gst", "frames": 7, "nested": {"k": [1, 2.50, "z"]}},
           {"name": "rtp", "frames": 8}],
 "key with \\"quote\\"": 1, "dup": 1, "dup": 2}"""


def paths(v, pre):
    yield pre, v
    if isinstance(v, dict):
        for k, x in v.items():
            yield from paths(x, pre + "[" + json.dumps(k) + "]")
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from paths(x, pre + f"[{i}]")


with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    f.write(doc)
d = json.loads(doc)
cases = [p for p, _ in paths(d, "")][1:]
cases += ['["nope"]', '["sinks"][2]', '["sinks"]["x"]', '["s"][0]', '["frames"]x', 'len(d)',
          '["sinks"][-1]', '["sinks"][0]["nested"]["k"][1]']
fails, answered = [], 0
for p in cases:
    r = subprocess.run([tool, f.name, p], capture_output=True, text=True)
    try:
        want = str(eval("d" + p)) + "\n"
    except Exception as e:  # noqa: BLE001 -- Python's own refusal
        want = e
    if r.returncode == 3:
        continue
    if r.returncode != 0 or isinstance(want, Exception) or r.stdout != want:
        fails.append(f"{p}: vz-json-get rc {r.returncode} {r.stdout!r}, Python {want!r}")
    else:
        answered += 1
os.unlink(f.name)
print("1..2")
print(("ok" if not fails else "not ok") + f" 1 - {len(cases)} paths: Python's value or 3")
for x in fails:
    print("#   " + x)
# the fast path must carry the suite: plain scalars are answered, not deferred
print(("ok" if answered >= 20 else "not ok") + f" 2 - {answered} answered without Python")
sys.exit(1 if fails or answered < 20 else 0)
