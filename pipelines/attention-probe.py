#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""attention-probe.py — reading the attention meta from Python (PyGObject).

Runs `videotestsrc pattern=ball num-buffers=FRAMES ! attentioninfer !
fakesink` and, from a pad probe on the sink, prints one line per frame: the
top classes, the attended region and the final attention map, read through
GObject-Introspection (namespace GstAttention 1.0); for a model with a
decoder head (models/describe.safetensors) also its sentence and each
word's attention map.

usage: attention-probe.py [--json] [FRAMES] [MODEL.safetensors]
  --json   one JSON object per frame, with the final map as a 2-D list

Needs python3-gi (Debian's /usr/bin/python3). With the build tree (no
install), BUILD (default: build/ next to this folder) supplies the plugin,
the typelib and the metadata library, as pipelines/env.sh does for the shell
scripts; installed under /usr/local, set GI_TYPELIB_PATH to
/usr/local/lib/<triplet>/girepository-1.0.
"""
import json
import os
import sys

import gi

here = os.path.dirname(os.path.abspath(__file__))
build = os.environ.get("BUILD", os.path.join(here, "..", "build"))
plugin_dir = os.path.join(build, "gst-plugin")
if os.path.isdir(plugin_dir):
    gi.require_version("GIRepository", "2.0")
    from gi.repository import GIRepository

    # the typelib and libgstattention-1.0.so it names, from the build tree
    GIRepository.Repository.prepend_search_path(plugin_dir)
    GIRepository.Repository.prepend_library_path(plugin_dir)
    path = os.environ.get("GST_PLUGIN_PATH")
    os.environ["GST_PLUGIN_PATH"] = plugin_dir + (":" + path if path else "")

gi.require_version("Gst", "1.0")
try:
    gi.require_version("GstAttention", "1.0")
except ValueError:
    sys.exit("error: no GstAttention-1.0 typelib (build first, or set "
             "GI_TYPELIB_PATH to where it is installed)")
from gi.repository import Gst, GstAttention  # noqa: E402


def frame_report(meta):
    """What one meta says, as plain Python values."""
    result = meta.get_result()
    classes = []
    for i in range(result.get_n_classes()):
        _, label, score, index = result.get_classification(i)
        classes.append({"label": label, "score": score, "index": index})
    has_region, r = result.get_region()
    values, width, height = result.get_map_values(None)  # None: the final map
    rows = [list(values[y * width:(y + 1) * width]) for y in range(height)]
    rep = {
        "frame": meta.frame,
        "stale": bool(meta.stale),
        "producer": meta.producer,
        "model": result.get_model(),
        "classes": classes,
        "region": {"x": r.x, "y": r.y, "w": r.w, "h": r.h,
                   "centroid_x": r.centroid_x, "centroid_y": r.centroid_y,
                   "peak": r.peak} if has_region else None,
        "map": {"name": result.get_map_name(result.get_n_maps() - 1),
                "width": width, "height": height, "values": rows},
    }
    sentence = result.get_sentence()
    if sentence is not None:
        # a model with a decoder head: its sentence, each word's attention
        sequence = []
        for i in range(result.get_n_tokens()):
            _, text, score, token_id = result.get_token(i)
            alpha, aw, ah = result.get_token_alpha(i)
            sequence.append({"token": text, "score": score, "id": token_id,
                             "alpha": [list(alpha[y * aw:(y + 1) * aw])
                                       for y in range(ah)]})
        rep["sentence"] = sentence
        rep["sequence"] = sequence
    return rep


def describe(rep):
    top = ", ".join("%s %.2f" % (c["label"], c["score"])
                    for c in rep["classes"][:3])
    r = rep["region"]
    where = ("region (%.3f, %.3f, %.3f, %.3f) centroid (%.3f, %.3f) peak %.2f"
             % (r["x"], r["y"], r["w"], r["h"], r["centroid_x"],
                r["centroid_y"], r["peak"]) if r else "no region")
    m = rep["map"]
    flat = [v for row in m["values"] for v in row]
    said = ('; says "%s"' % rep["sentence"]) if "sentence" in rep else ""
    return "frame %d%s: %s; %s; map %s %dx%d in [%.2f, %.2f]%s" % (
        rep["frame"], " (stale)" if rep["stale"] else "", top or "-", where,
        m["name"], m["width"], m["height"], min(flat, default=0),
        max(flat, default=0), said)


def main(argv):
    as_json = "--json" in argv
    args = [a for a in argv if a != "--json"]
    frames = int(args[0]) if args else 10
    model = " model=%s" % args[1] if len(args) > 1 else ""

    Gst.init(None)
    if not Gst.ElementFactory.find("attentioninfer"):
        sys.exit("error: the attentioninfer element is not installed (build "
                 "first, or set GST_PLUGIN_PATH)")
    pipeline = Gst.parse_launch(
        "videotestsrc pattern=ball num-buffers=%d ! "
        "video/x-raw,width=320,height=240 ! attentioninfer%s ! "
        "fakesink name=sink" % (frames, model))

    def on_buffer(pad, info):
        meta = GstAttention.buffer_get_attention_meta(info.get_buffer())
        if meta is None:
            print("frame without attention")
        else:
            rep = frame_report(meta)
            print(json.dumps(rep) if as_json else describe(rep))
        return Gst.PadProbeReturn.OK

    pad = pipeline.get_by_name("sink").get_static_pad("sink")
    pad.add_probe(Gst.PadProbeType.BUFFER, on_buffer)
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(
        Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    status = 0
    if msg.type == Gst.MessageType.ERROR:
        err, dbg = msg.parse_error()
        print("error: %s\n%s" % (err.message, dbg or ""), file=sys.stderr)
        status = 1
    pipeline.set_state(Gst.State.NULL)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
