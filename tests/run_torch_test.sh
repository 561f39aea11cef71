#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# usage: run_torch_test.sh TOOLS_TEST.py
# Runs one of the Python tests of tools/ (tools/test_convert.py,
# tools/test_train.py) when Debian's python3-torch is installed; otherwise
# reports a TAP skip: the plugin never needs torch.
here=$(cd "$(dirname "$0")" && pwd)
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "1..0 # SKIP python3-torch is not installed"
  exit 0
fi
exec /usr/bin/python3 "$here/../tools/$1"
