#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# End-to-end: pipelines/demo.sh with the shipped default model writes a
# playable WebM, a PNG snapshot and one JSON line per frame.
# usage: run_demo.sh BUILD_DIR OUT_DIR
set -euo pipefail
build=$1 out=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
if [ ! -f "$src/models/default.safetensors" ]; then
  echo "no models/default.safetensors yet: skipping"; exit 77
fi
rm -rf "$out"; mkdir -p "$out"
FRAMES=30 BUILD=$build "$src/pipelines/demo.sh" "$out"
fail() { echo "FAIL: $*"; exit 1; }
[ -s "$out/attention.webm" ] || fail "no video"
[ "$(head -c 4 "$out/attention.webm" | od -An -tx1 | tr -d ' ')" = 1a45dfa3 ] \
  || fail "attention.webm is not a WebM/Matroska file"
[ "$(head -c 8 "$out/snapshot.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] \
  || fail "snapshot.png is not a PNG"
lines=$(wc -l < "$out/attention.jsonl")
[ "$lines" -eq 30 ] || fail "$lines JSON lines for 30 frames"
grep -q '"classes"' "$out/attention.jsonl" || fail "JSON lines carry no classes"
# the video decodes back to 30 frames
n=$(gst-launch-1.0 filesrc location="$out/attention.webm" ! matroskademux \
      ! vp8dec ! fakesink silent=false -v 2>/dev/null | grep -c "last-message = chain" || true)
[ "$n" -eq 30 ] || fail "the WebM decodes to $n frames, expected 30"
echo "ok: video, snapshot and $lines JSON lines"
