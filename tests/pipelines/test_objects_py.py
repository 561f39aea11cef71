# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python reads objects through GObject-Introspection: a first attentioninfer
marks where attention is, a second classifies that region on its own
(inference-region=roi-list); from a pad probe, GstAttention.
buffer_get_attention_object and roi_get_result give each object's rectangle,
type and result, the same as the JSON line attentionjson writes for it."""
import json
import os
import sys
import tempfile

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstVideo", "1.0")
gi.require_version("GstAttention", "1.0")
from gi.repository import GLib, Gst, GstAttention  # noqa: E402

Gst.init(None)
model = sys.argv[1]
out = tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False).name
p = Gst.parse_launch(
    "videotestsrc pattern=ball num-buffers=6 ! video/x-raw,width=640,height=480 "
    f"! attentioninfer model={model} ! attentioninfer name=fine model={model} "
    "inference-region=roi-list object-class=attention scale-mode=letterbox "
    f"! attentionjson producer=fine location={out} ! fakesink name=s")
seen = []


def probe(pad, info):
    buf = info.get_buffer()
    objs = []
    i = 0
    while (roi := GstAttention.buffer_get_attention_object(buf, "fine", i)):
        r = GstAttention.roi_get_result(roi, "fine")
        ok, label, score, index = r.get_classification(0)
        assert ok
        values, w, h = r.get_map_values(None)
        assert len(values) == w * h > 0
        objs.append((GLib.quark_to_string(roi.roi_type), roi.x, roi.y, roi.w,
                     roi.h, label, score))
        i += 1
    assert GstAttention.buffer_get_attention_object(buf, "nobody", 0) is None
    seen.append(objs)
    return Gst.PadProbeReturn.OK


p.get_by_name("s").get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER,
                                                     probe)
p.set_state(Gst.State.PLAYING)
msg = p.get_bus().timed_pop_filtered(60 * Gst.SECOND,
                                     Gst.MessageType.EOS | Gst.MessageType.ERROR)
assert msg and msg.type == Gst.MessageType.EOS, msg
p.set_state(Gst.State.NULL)
lines = [json.loads(line) for line in open(out)]
os.unlink(out)
assert len(seen) == len(lines) == 6, (len(seen), len(lines))
for objs, line in zip(seen, lines):
    assert len(objs) == 1 and len(line["objects"]) == 1, (objs, line)
    t, x, y, w, h, label, score = objs[0]
    j = line["objects"][0]
    assert (t, x, y, w, h) == (j["type"], j["x"], j["y"], j["w"], j["h"]), (objs, j)
    assert label == j["classes"][0]["label"] == "disc", (label, j)
    assert abs(score - j["classes"][0]["score"]) < 1e-5
print(f"ok: {len(seen)} frames, one object each, read from Python = JSON")
