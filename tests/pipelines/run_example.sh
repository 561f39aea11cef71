#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# End-to-end: the example application prints one line per frame with the top
# class and where attention concentrates, read from the meta in a pad probe;
# without the plugin it says so (not a vague "not-linked"), and a pipeline
# that only partly parses is an error.
# usage: run_example.sh EXAMPLE_APP MODEL
set -euo pipefail
out=$("$1" 5 "$2")
echo "$out"
n=$(grep -cE '^frame [0-9]+: label [0-9] 0\.[0-9]+, attention at \(0\.[0-9]+, 0\.[0-9]+\)' <<<"$out" || true)
[ "$n" -eq 5 ] || { echo "FAIL: $n of 5 frames reported"; exit 1; }

# no plugin: an empty registry that scans nothing of ours
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if GST_PLUGIN_PATH= GST_PLUGIN_PATH_1_0= GST_REGISTRY="$tmp/registry.bin" \
    "$1" 2 "$2" >"$tmp/out" 2>&1; then
  echo "FAIL: ran without the plugin"; cat "$tmp/out"; exit 1
fi
grep -q "attentioninfer element is not installed" "$tmp/out" \
  || { echo "FAIL: without the plugin it said:"; cat "$tmp/out"; exit 1; }
# a description that only partly parses (an unknown element after the model
# path): gst_parse_launch returns a pipeline and an error; the error wins
if "$1" 2 "$2 ! nosuchelement" >"$tmp/out" 2>&1; then
  echo "FAIL: a half-parsed pipeline ran"; cat "$tmp/out"; exit 1
fi
grep -q '^error: no element "nosuchelement"' "$tmp/out" \
  || { echo "FAIL: no parse error"; cat "$tmp/out"; exit 1; }
echo "ok: 5 frames; a missing plugin and a broken description are reported"
