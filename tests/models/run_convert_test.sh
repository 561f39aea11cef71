#!/usr/bin/env bash
# Runs tools/test_convert.py when Debian's python3-torch is installed;
# otherwise skips (exit 77): the plugin and CI never need torch.
here=$(cd "$(dirname "$0")" && pwd)
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "no python3-torch: skipped"; exit 77; }
exec /usr/bin/python3 "$here/../../tools/test_convert.py"
