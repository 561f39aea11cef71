#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Soak: FRAMES frames (default 100000) through attentioninfer → attentionoverlay
# → fakesink as fast as they go, RSS of the process sampled every second.
# Prints the samples and the growth from the end of warm-up (the first 10 %
# of the run) to the end. Needs a build (./run build).
# usage: tools/soak.sh [FRAMES] [MODEL]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
frames=${1:-100000}
model=${2:+model=$2}
export GST_PLUGIN_PATH="$here/build/gst-plugin"
gst-launch-1.0 -q videotestsrc pattern=ball motion=wavy num-buffers="$frames" \
  ! video/x-raw,format=I420,width=320,height=240 \
  ! attentioninfer $model mode=sync ! attentionoverlay ! fakesink sync=false &
pid=$!
start=$(date +%s)
samples=()
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
  [ -n "$rss" ] && samples+=("$(( $(date +%s) - start )) $rss")
  sleep 1
done
wait "$pid"
secs=$(( $(date +%s) - start ))
n=${#samples[@]}
warm=$(( n / 10 ))
first=${samples[$warm]#* } last=${samples[$((n - 1))]#* }
echo "frames: $frames in ${secs} s ($(( frames / (secs > 0 ? secs : 1) )) fps), $n RSS samples"
printf '%s\n' "${samples[@]}" | awk 'NR % 20 == 1 {printf "  t=%ss rss=%s kB\n", $1, $2}'
echo "rss after warm-up: $first kB, at the end: $last kB, growth: $(( last - first )) kB"
