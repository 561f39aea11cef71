#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# End-to-end: pipelines/describe.sh on the shipped describe scene. The JSON
# line says the scene's sentence (pipelines/describe-scene.json), word by
# word, each with a score in 0..1 and an alpha map that sums to 1 and
# peaks inside the box of the shape that word names (a cell of the 8×8
# grid covers 64 pixels of the 512-pixel scene: the peak cell must overlap
# the box); the pictures are written, one per word.
# usage: run_describe.sh BUILD_DIR OUT_DIR
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$2"
BUILD=$1 "$src/pipelines/describe.sh" "$2"
test -s "$2/describe.png"
python3 - "$2" "$src/pipelines/describe-scene.json" <<'PY'
import json, os, sys
out, truth = sys.argv[1], json.load(open(sys.argv[2]))
lines = open(os.path.join(out, "describe.jsonl")).read().splitlines()
assert len(lines) == 1, f"{len(lines)} JSON lines for one frame"
o = json.loads(lines[0], parse_constant=lambda c: sys.exit(f"non-standard {c}"))
assert o["model"] == "attention-shapes-describe", o["model"]
assert o["sentence"] == truth["sentence"], (o["sentence"], truth["sentence"])
seq = o["sequence"]
assert [t["token"] for t in seq] == truth["sentence"].split(), seq
for t, obj in zip(seq, truth["objects"]):
    assert 0 < t["score"] <= 1, t
    a = t["alpha"]
    assert abs(sum(a["data"]) - 1) < 1e-3, sum(a["data"])
    i = max(range(len(a["data"])), key=a["data"].__getitem__)
    cw, ch = a["w"] / a["width"], a["h"] / a["height"]
    x0, y0 = a["x"] + (i % a["width"]) * cw, a["y"] + (i // a["width"]) * ch
    overlaps = x0 < obj["x1"] and x0 + cw > obj["x0"] and y0 < obj["y1"] and y0 + ch > obj["y0"]
    assert overlaps, (t["token"], "peaks at", (x0, y0), "outside", obj)
for n in range(1, len(seq) + 1):
    assert os.path.getsize(os.path.join(out, f"describe-word-{n}.png")) > 0, n
print(f"ok: \"{o['sentence']}\", every word's attention on its shape")
PY
