#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A live camera (V4L2) with the overlay in a window. Inference runs
# asynchronously (mode=auto picks it for live sources): the video never waits
# for the network; each frame carries the newest finished result. The
# webcam's own YUY2/UYVY (or NV12, I420…) goes through both elements as it
# is; a camera that only gives MJPEG needs `jpegdec !` after v4l2src.
# usage: pipelines/camera.sh [/dev/videoN] [MODEL.safetensors]
set -euo pipefail
source "$(dirname "$0")/env.sh"
dev=${1:-/dev/video0}
model=${2:+model=$2}
exec gst-launch-1.0 v4l2src device="$dev" \
  ! attentioninfer $model ! attentionoverlay ! videoconvert ! autovideosink
