#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A video file in, the attention overlay out to another file (WebM).
# usage: pipelines/file.sh INPUT [OUTPUT.webm] [MODEL.safetensors]
set -euo pipefail
source "$(dirname "$0")/env.sh"
in=${1:?usage: $0 INPUT [OUTPUT.webm] [MODEL]}
outf=${2:-attention.webm}
model=${3:+model=$3}
exec gst-launch-1.0 -e filesrc location="$in" ! decodebin ! videoconvert \
  ! attentioninfer $model ! attentionoverlay ! videoconvert \
  ! vp8enc deadline=1 ! webmmux ! filesink location="$outf"
