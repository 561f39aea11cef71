#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# End-to-end: pipelines/objects.sh classifies the region the first pass
# attends to (the ball) on its own: every JSON line has one object of type
# "attention" from "fine", inside the frame, whose top class is "disc" in
# >= 90 % of frames; the snapshot is written.
# usage: run_objects.sh BUILD_DIR OUT_DIR
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$2"
FRAMES=20 BUILD=$1 "$src/pipelines/objects.sh" "$2"
test -s "$2/objects.png"
python3 - "$2/objects.jsonl" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 20, f"{len(lines)} JSON lines for 20 frames"
disc = 0
for i, line in enumerate(lines):
    o = json.loads(line, parse_constant=lambda c: sys.exit(f"non-standard {c}"))
    assert not o["attention"], (i, "fine attaches no frame meta")
    objs = o["objects"]
    assert len(objs) == 1, (i, len(objs))
    ob = objs[0]
    assert ob["type"] == "attention" and ob["producer"] == "fine", (i, ob)
    assert 0 <= ob["x"] and ob["x"] + ob["w"] <= 1280, (i, ob)
    assert 0 <= ob["y"] and ob["y"] + ob["h"] <= 720, (i, ob)
    disc += ob["classes"][0]["label"] == "disc"
assert disc >= 0.9 * len(lines), f"disc in {disc} of {len(lines)}"
print(f"ok: {len(lines)} frames, one object each, disc in {disc}")
PY
