#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Two inference elements in a row, both on the camera's own pixels: "every"
# runs the default model on every frame, "fifth" runs another model (or the
# default again) on every 5th frame. Each attaches its own meta, named by the
# element; both survive videoconvert and videoscale. The overlay draws
# "every"'s attention; attentionjson writes both (under "results"), one JSON
# object per frame to stdout.
# usage: pipelines/two-models.sh [MODEL2.safetensors]
set -euo pipefail
source "$(dirname "$0")/env.sh"
model2=${1:+model=$1}
exec gst-launch-1.0 -q videotestsrc pattern=ball num-buffers=${FRAMES:-25} \
  ! video/x-raw,width=320,height=240 \
  ! attentioninfer name=every \
  ! attentioninfer name=fifth $model2 inference-interval=5 \
  ! videoconvert ! videoscale ! video/x-raw,width=480,height=360 \
  ! attentionoverlay producer=every \
  ! attentionjson producer=every all-producers=true ! fakesink
