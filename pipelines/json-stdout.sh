#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# JSON Lines on stdout, one object per frame, with the attention maps.
set -euo pipefail
source "$(dirname "$0")/env.sh"
exec gst-launch-1.0 -q videotestsrc pattern=ball num-buffers=${FRAMES:-10} \
  ! video/x-raw,width=320,height=240 \
  ! attentioninfer ! attentionjson include-maps=true ! fakesink
