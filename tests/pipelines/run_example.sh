#!/usr/bin/env bash
# End-to-end: the example application prints one line per frame with the top
# class and the attention peak, read from the meta in a pad probe.
# usage: run_example.sh EXAMPLE_APP MODEL
set -euo pipefail
out=$("$1" 5 "$2")
echo "$out"
n=$(grep -cE '^frame [0-9]+: label [0-9] 0\.[0-9]+, attention at \(0\.[0-9]+, 0\.[0-9]+\)' <<<"$out" || true)
[ "$n" -eq 5 ] || { echo "FAIL: $n of 5 frames reported"; exit 1; }
