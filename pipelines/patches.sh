#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Coarse-to-fine inference with nothing but the shipped models: a 1080p
# scene with six small shapes (pipelines/scene-1080p.png, 2-6 % of the
# frame height across; made by tools/make_scene.py) is far too small for one
# pass at the model's 128×128 input. With patches=6 the coarse model
# (models/coarse.safetensors, the default model trained further on what a
# coarse pass sees) first runs over the frame shrunk to 607×341, its
# attention picks the six most salient places, and the default model then
# classifies a full-resolution 135×135 patch at each. The overlay draws each patch's box, class and heat map;
# attentionjson writes them under "patches". Writes
#   OUT/patches.png      the frame with the patches drawn
#   OUT/patches.jsonl    one JSON object per frame (docs/json-output.md)
# usage: pipelines/patches.sh [OUT] (default: out/)
set -euo pipefail
source "$(dirname "$0")/env.sh"
out=${1:-$here/../out}
mkdir -p "$out"
gst-launch-1.0 -q \
  filesrc location="$here/scene-1080p.png" ! pngdec \
  ! attentioninfer patches=6 \
  ! attentionjson location="$out/patches.jsonl" \
  ! attentionoverlay \
  ! videoconvert ! pngenc ! filesink location="$out/patches.png"
echo "wrote $out/patches.png and $out/patches.jsonl"
