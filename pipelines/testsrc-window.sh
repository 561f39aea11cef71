#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Test source with the attention overlay in a window.
set -euo pipefail
source "$(dirname "$0")/env.sh"
exec gst-launch-1.0 videotestsrc pattern=ball motion=wavy is-live=true \
  ! video/x-raw,width=640,height=480,framerate=30/1 \
  ! attentioninfer ! attentionoverlay ! videoconvert ! autovideosink
