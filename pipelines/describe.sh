#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The describe model (models/describe.safetensors, docs/describe-model.md):
# an encoder–decoder soft-attention head on the default model's CBAM ResNet
# names the shapes of a scene from left to right, attending to each shape as
# it names it. Runs on pipelines/describe-scene.png (made by
# tools/make_scene.py --describe; pipelines/describe-scene.json holds the
# sentence it should say and the shapes' boxes) and writes
#   OUT/describe.png          the sentence over the classes, the heat map the
#                             sum of every word's attention
#   OUT/describe-word-N.png   word N's attention alone (N = 1, 2, ...), the
#                             word in brackets
#   OUT/describe.jsonl        the JSON line, with "sentence", "sequence" and,
#                             with include-maps, each word's alpha map
# usage: pipelines/describe.sh [OUT] (default: out/)
set -euo pipefail
source "$(dirname "$0")/env.sh"
out=${1:-$here/../out}
model="$here/../models/describe.safetensors"
scene="$here/describe-scene.png"
mkdir -p "$out"
rm -f "$out"/describe-word-*.png
run() {   # run OVERLAY-PROPERTIES PNG [JSON-PROPERTIES]
  gst-launch-1.0 -q \
    filesrc location="$scene" ! pngdec \
    ! attentioninfer model="$model" \
    ! attentionjson location="$out/describe.jsonl" include-maps=true \
    ! attentionoverlay $1 \
    ! videoconvert ! pngenc ! filesink location="$2"
}
run "token-map=sum" "$out/describe.png"
words=$(python3 -c 'import json, sys
print(len(json.loads(open(sys.argv[1]).readline())["sequence"]))' "$out/describe.jsonl")
for ((i = 0; i < words; i++)); do
  run "token-map=token token=$i" "$out/describe-word-$((i + 1)).png"
done
sentence=$(python3 -c 'import json, sys
print(json.loads(open(sys.argv[1]).readline())["sentence"])' "$out/describe.jsonl")
echo "the model says: \"$sentence\"; wrote $out/describe.png, $words word maps" \
     "($out/describe-word-N.png) and $out/describe.jsonl"
