# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the pipeline scripts: use the plugin from the build tree when it
# is not installed. BUILD (default: build/ next to this folder) can point at
# another build directory.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${BUILD:-$here/../build}
if [ -d "$BUILD/gst-plugin" ]; then
  export GST_PLUGIN_PATH="$BUILD/gst-plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
fi
if ! gst-inspect-1.0 attentioninfer >/dev/null 2>&1; then
  echo "attentioninfer not found: build first (./run build) or install the plugin" >&2
  exit 1
fi
