#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job: the shipped default model on a moving test ball, writing
#   OUT/attention.webm      the video with the attention heat map and labels
#   OUT/snapshot.png        one frame of it, to look at
#   OUT/attention.jsonl     one JSON object per frame (docs/json-output.md)
# usage: pipelines/demo.sh [OUT] (default: out/)
set -euo pipefail
source "$(dirname "$0")/env.sh"
out=${1:-$here/../out}
mkdir -p "$out/frames"
rm -f "$out"/frames/*.png
frames=${FRAMES:-150}
gst-launch-1.0 -q \
  videotestsrc pattern=ball motion=sweep num-buffers="$frames" \
    ! video/x-raw,width=640,height=480,framerate=25/1 \
  ! attentioninfer \
  ! attentionjson location="$out/attention.jsonl" \
  ! attentionoverlay \
  ! tee name=t \
  t. ! queue ! videoconvert ! vp8enc deadline=1 ! webmmux \
     ! filesink location="$out/attention.webm" \
  t. ! queue ! videorate drop-only=true max-rate=2 ! videoconvert \
     ! pngenc ! multifilesink location="$out/frames/frame-%03d.png"
# the snapshot: a frame from the middle of the run
snap=$(ls "$out"/frames/frame-*.png | sed -n "$(( $(ls "$out"/frames | wc -l) / 2 + 1 ))p")
cp "$snap" "$out/snapshot.png"
echo "wrote $out/attention.webm ($frames frames), $out/snapshot.png," \
     "$out/attention.jsonl ($(wc -l < "$out/attention.jsonl") lines)"
