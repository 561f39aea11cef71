/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* plugin.c — registers the elements of the "attention" plugin. */
#include <gst/gst.h>

#include "gstattentioninfer.h"
#include "gstattentionjson.h"
#include "gstattentionoverlay.h"

static gboolean
plugin_init (GstPlugin *plugin)
{
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER (attentioninfer, plugin);
  ok |= GST_ELEMENT_REGISTER (attentionoverlay, plugin);
  ok |= GST_ELEMENT_REGISTER (attentionjson, plugin);
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, attention,
    "Attention-augmented CNNs on video: inference, overlays, JSON",
    plugin_init, PACKAGE_VERSION, "LGPL", "gst-attention",
    "https://gst-attention.invalid/")
