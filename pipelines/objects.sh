#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Objects from upstream (secondary inference), with nothing but the shipped
# model: "coarse" runs on the whole 1280×720 frame squeezed to the model's
# input and marks where attention is (a region of interest of type
# "attention", as a detector marks its objects); "fine" classifies each such
# region on its own, from the frame's full-resolution pixels
# (inference-region=roi-list). A real detector upstream (type "car",
# "person", …) takes coarse's place: set object-class to its types.
# The overlay draws fine's objects (box, label, heat map);
# attentionjson writes them under "objects". Writes
#   OUT/objects.png      a frame to look at
#   OUT/objects.jsonl    one JSON object per frame (docs/json-output.md)
# usage: pipelines/objects.sh [OUT] (default: out/)
set -euo pipefail
source "$(dirname "$0")/env.sh"
out=${1:-$here/../out}
mkdir -p "$out/objects"
rm -f "$out"/objects/*.png
frames=${FRAMES:-30}
gst-launch-1.0 -q \
  videotestsrc pattern=ball motion=wavy num-buffers="$frames" \
    ! video/x-raw,width=1280,height=720,framerate=25/1 \
  ! attentioninfer name=coarse \
  ! attentioninfer name=fine inference-region=roi-list object-class=attention \
      scale-mode=letterbox \
  ! attentionjson producer=fine location="$out/objects.jsonl" \
  ! attentionoverlay producer=fine \
  ! videoconvert ! pngenc ! multifilesink location="$out/objects/%03d.png"
# a frame from the middle of the run
snap=$(ls "$out"/objects/*.png | sed -n "$(( $(ls "$out"/objects | wc -l) / 2 + 1 ))p")
cp "$snap" "$out/objects.png"
echo "wrote $out/objects.png and $out/objects.jsonl" \
     "($(wc -l < "$out/objects.jsonl") lines)"
