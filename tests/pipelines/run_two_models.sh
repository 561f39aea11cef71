#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# End-to-end: pipelines/two-models.sh keeps both producers' results through
# videoconvert and videoscale; every JSON line names both, the second one
# fresh on every 5th frame only.
# usage: run_two_models.sh BUILD_DIR
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
out=$(FRAMES=12 BUILD=$1 "$src/pipelines/two-models.sh")
python3 - "$out" <<'PY'
import json, sys
lines = sys.argv[1].splitlines()
assert len(lines) == 12, f"{len(lines)} JSON lines for 12 frames"
for i, line in enumerate(lines):
    o = json.loads(line, parse_constant=lambda c: sys.exit(f"non-standard {c}"))
    assert o["producer"] == "every" and not o["stale"], (i, o["producer"])
    names = [r["producer"] for r in o["results"]]
    assert names == ["fifth", "every"], (i, names)
    fifth = o["results"][0]
    assert fifth["stale"] == (i % 5 != 0), (i, fifth["stale"])
    assert fifth["computed_on"] == i - i % 5, (i, fifth["computed_on"])
    assert o["width"] == 480, o["width"]
print(f"ok: {len(lines)} frames, both producers on each")
PY
