#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# End-to-end: pipelines/patches.sh on the shipped 1080p scene. The JSON line
# has the coarse pass as the frame's result and up to six patches of
# 135×135 inside the frame, most salient first; each of the scene's six
# objects (pipelines/scene-1080p.jsonl) lies in a patch whose top class is
# its shape (with the shipped coarse model; the default model alone as the
# coarse model finds five: the sixth, a small triangle on a bar edge at the
# bottom, gets a coarse saliency of 0.08); every patch holds an object; the
# picture is written.
# usage: run_patches.sh BUILD_DIR OUT_DIR
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$2"
BUILD=$1 "$src/pipelines/patches.sh" "$2"
test -s "$2/patches.png"
python3 - "$2/patches.jsonl" "$src/pipelines/scene-1080p.jsonl" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
objs = [json.loads(l) for l in open(sys.argv[2])]
assert len(lines) == 1, f"{len(lines)} JSON lines for one frame"
o = json.loads(lines[0], parse_constant=lambda c: sys.exit(f"non-standard {c}"))
assert o["attention"] and o["width"] == 1920 and o["height"] == 1080, o
patches = o["patches"]
assert 1 <= len(patches) <= 6, len(patches)
sal = [p["saliency"] for p in patches]
assert sal == sorted(sal, reverse=True), sal
inside = lambda ob, p: p["x"] <= ob["x"] < p["x"] + p["w"] and p["y"] <= ob["y"] < p["y"] + p["h"]
for p in patches:
    assert p["w"] == p["h"] == 135, p
    assert 0 <= p["x"] <= 1920 - 135 and 0 <= p["y"] <= 1080 - 135, p
    assert not p["stale"] and p["producer"] == "attentioninfer0", p
    assert any(inside(ob, p) for ob in objs), ("a patch on nothing", p)
named = [ob for ob in objs
         if any(inside(ob, p) and p["classes"][0]["label"] == ob["label"] for p in patches)]
assert len(named) == len(objs), f"{len(named)} of {len(objs)} found and named"
print(f"ok: {len(patches)} patches, {len(named)} of {len(objs)} objects found and named")
PY
