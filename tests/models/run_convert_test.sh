#!/usr/bin/env bash
# Runs tools/test_convert.py when Debian's python3-torch is installed;
# otherwise reports a TAP skip: the plugin and CI never need torch.
here=$(cd "$(dirname "$0")" && pwd)
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "1..0 # SKIP python3-torch is not installed"
  exit 0
fi
exec /usr/bin/python3 "$here/../../tools/test_convert.py"
