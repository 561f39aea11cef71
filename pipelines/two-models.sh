#!/usr/bin/env bash
# Two inference elements in a row: the first runs every frame and is drawn;
# the second runs another model every 5th frame. Each attaches its own meta
# (applications see both with gst_buffer_iterate_meta_filtered); the overlay
# and attentionjson read the first one on the buffer.
# usage: pipelines/two-models.sh [MODEL2.safetensors]
set -euo pipefail
source "$(dirname "$0")/env.sh"
model2=${1:+model=$1}
exec gst-launch-1.0 -q videotestsrc pattern=ball num-buffers=${FRAMES:-25} \
  ! video/x-raw,width=320,height=240 \
  ! attentioninfer ! attentionoverlay \
  ! attentioninfer $model2 inference-interval=5 ! attentionjson ! fakesink
