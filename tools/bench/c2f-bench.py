#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""c2f-bench.py — the coarse-to-fine benchmark of issue 17.

Draws FRAMES held-out 1920x1080 scenes with tools/scenes.py's make_frame
(1-4 shapes, each 2-6 % of the frame height across, on textured
backgrounds; seed --seed, 2017 by default, a seed neither training nor the
tests use), once, kept in memory as RGB, and runs each mode over the same
frames, one pipeline per mode and repetition:

  appsrc ! attentioninfer mode=sync ... ! attentionjson location=TMP ! fakesink

  (a) single    patches=0: today's single pass at the model's input size.
                An object is found and named when its centre lies in the
                frame's attended `region` and the frame's top class is its
                class (at most one per frame). False: frames whose top class
                is not "none" and whose region holds no object centre.
  (b) tiled     the fine model on every tile of the frame
                (inference-region=roi-list, a "tile" region of interest per
                tile attached to each buffer before the element): tiles of
                the automatic patch size (an eighth of the shorter side,
                135 px), stride half a tile, clamped to the frame. Found and
                named: some tile holding the centre has the class as top-1.
                False: tiles whose top-1 is not "none" and that hold no
                object centre.
  (c) c2f-K     patches=K saliency=attention|gradient. Found and named: some
                patch holding the centre has the class as top-1. False:
                patches holding no object centre, whatever their class.

ms/frame is wall time through the pipeline: the time between the warm-up
frames' last buffer and the last buffer reaching the sink, divided by the
frames in between (appsrc is kept full, so the element never waits for
input). "element ms" is the element's own inference_ns summed per frame
(frame result, patches, objects), mean over the timed frames. Modes run
interleaved, --repeat times; times are the median of the repetitions.

usage: /usr/bin/python3 tools/bench/c2f-bench.py [--frames N] [--seed S]
         [--build DIR] [--repeat R] [--patches 2,4,8] [--warmup W]
         [--model FILE] [--json FILE]
"""
import argparse
import datetime
import json
import os
import shlex
import statistics
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.normpath(os.path.join(here, "..", ".."))
sys.path.insert(0, os.path.join(root, "tools"))

import numpy as np  # noqa: E402

import scenes  # noqa: E402

WIDTH, HEIGHT = 1920, 1080


def parse_args(argv):
    ap = argparse.ArgumentParser(description="coarse-to-fine benchmark "
                                 "(issue 17)")
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--seed", type=int, default=2017,
                    help="held-out scenes' seed (default 2017)")
    ap.add_argument("--build", default="build",
                    help="the build tree whose gst-plugin/ holds the plugin")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--patches", default="2,4,8",
                    help="coarse-to-fine patch counts, comma-separated")
    ap.add_argument("--warmup", type=int, default=2,
                    help="frames left out of the timing")
    ap.add_argument("--model", default=None,
                    help="model file (default: the element's default model)")
    ap.add_argument("--modes", default="single,tiled,attention,gradient",
                    help="which of single, tiled, attention, gradient to run")
    ap.add_argument("--c2f-props", default="", metavar="PROPS",
                    help="more attentioninfer properties for the (c) modes, "
                    "e.g. 'min-saliency=0.2 patch-size=160'")
    ap.add_argument("--json", default=None, help="write the figures here")
    ap.add_argument("--keep", default=None, metavar="DIR",
                    help="keep each run's JSON lines in DIR")
    a = ap.parse_args(argv)
    if a.frames <= a.warmup:
        ap.error("--frames must exceed --warmup")
    a.patches = [int(p) for p in a.patches.split(",") if p]
    a.modes = [m for m in a.modes.split(",") if m]
    return a


def init_gst(build):
    # DIR as given, else relative to the source tree
    if not os.path.isdir(build):
        build = os.path.join(root, build)
    plugin_dir = os.path.abspath(os.path.join(build, "gst-plugin"))
    if not os.path.isfile(os.path.join(plugin_dir, "libgstattention.so")):
        sys.exit("error: no %s/libgstattention.so (build first, or --build "
                 "DIR)" % plugin_dir)
    path = os.environ.get("GST_PLUGIN_PATH")
    os.environ["GST_PLUGIN_PATH"] = plugin_dir + (":" + path if path else "")
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstVideo", "1.0")
    gi.require_version("GstApp", "1.0")
    from gi.repository import GLib, Gst, GstApp, GstVideo  # noqa: F401
    Gst.init(None)
    f = Gst.ElementFactory.find("attentioninfer")
    if not f:
        sys.exit("error: attentioninfer not found in " + plugin_dir)
    plugin = f.get_plugin()
    return GLib, Gst, GstVideo, plugin.get_filename() if plugin else "?"


def tiles(side, width=WIDTH, height=HEIGHT):
    """Tiles of side `side`, stride side // 2, the last row and column
    clamped to the frame."""
    stride = max(side // 2, 1)

    def starts(extent):
        s = list(range(0, max(extent - side, 0) + 1, stride))
        if s[-1] != max(extent - side, 0):
            s.append(max(extent - side, 0))
        return s
    return [(x, y, side, side) for y in starts(height) for x in starts(width)]


def inside(box, cx, cy):
    x, y, w, h = box
    return x <= cx < x + w and y <= cy < y + h


def top1(result):
    cl = result.get("classes") or []
    return cl[0]["label"] if cl else None


def run_pipeline(Gst, GstVideo, frames, props, tile_list, keep=None):
    """Pushes every frame through one pipeline; returns the JSON lines and
    the sink arrival times (monotonic seconds), one per frame."""
    if keep:
        path = keep
    else:
        fd, path = tempfile.mkstemp(prefix="c2f-bench-", suffix=".jsonl")
        os.close(fd)
    desc = ("appsrc name=src is-live=false format=time block=true "
            "max-bytes=%d caps=video/x-raw,format=RGB,width=%d,height=%d,"
            "framerate=30/1 ! attentioninfer name=infer %s ! "
            "attentionjson location=%s ! fakesink name=sink sync=false"
            % (4 * WIDTH * HEIGHT * 3, WIDTH, HEIGHT, props, path))
    pipeline = Gst.parse_launch(desc)
    src = pipeline.get_by_name("src")
    arrivals = []

    def on_buffer(pad, info):
        arrivals.append(time.monotonic())
        return Gst.PadProbeReturn.OK
    pipeline.get_by_name("sink").get_static_pad("sink").add_probe(
        Gst.PadProbeType.BUFFER, on_buffer)
    pipeline.set_state(Gst.State.PLAYING)
    dur = Gst.util_uint64_scale_int(1, Gst.SECOND, 30)
    for i, (data, _objs) in enumerate(frames):
        buf = Gst.Buffer.new_wrapped_bytes(data)
        buf.pts = i * dur
        buf.duration = dur
        for (x, y, w, h) in tile_list:
            GstVideo.buffer_add_video_region_of_interest_meta(buf, "tile", x,
                                                              y, w, h)
        if src.push_buffer(buf) != Gst.FlowReturn.OK:
            break
    src.end_of_stream()
    msg = pipeline.get_bus().timed_pop_filtered(
        Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    error = None
    if msg.type == Gst.MessageType.ERROR:
        err, dbg = msg.parse_error()
        error = "%s (%s)" % (err.message, dbg)
    pipeline.set_state(Gst.State.NULL)
    with open(path) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    if not keep:
        os.unlink(path)
    if error:
        sys.exit("error: pipeline `%s` failed: %s" % (desc, error))
    if len(lines) != len(frames) or len(arrivals) != len(frames):
        sys.exit("error: %d frames in, %d JSON lines and %d buffers out "
                 "(`%s`)" % (len(frames), len(lines), len(arrivals), desc))
    return lines, arrivals, desc


def score(kind, frames, lines):
    """found and named, centre in a box, false boxes, boxes: totals."""
    n_obj = found = located = false = boxes = stale = 0
    for (_data, objs), line in zip(frames, lines):
        n_obj += len(objs)
        if kind == "single":
            r = line.get("region")
            box = (r["x"], r["y"], r["w"], r["h"]) if r else None
            label = top1(line)
            stale += bool(line.get("stale"))
            holds = [o for o in objs if box and inside(box, o[1], o[2])]
            located += len(holds)
            found += sum(1 for o in holds if scenes.CLASSES[o[0]] == label)
            boxes += box is not None
            false += label not in (None, "none") and not holds
            continue
        results = line["objects"] if kind == "tiled" else line["patches"]
        boxes += len(results)
        for p in results:
            stale += bool(p.get("stale"))
            box = (p["x"], p["y"], p["w"], p["h"])
            holds = [o for o in objs if inside(box, o[1], o[2])]
            if not holds and (kind != "tiled" or top1(p) not in (None, "none")):
                false += 1
        for o in objs:
            hit = [p for p in results
                   if inside((p["x"], p["y"], p["w"], p["h"]), o[1], o[2])]
            located += bool(hit)
            found += any(top1(p) == scenes.CLASSES[o[0]] for p in hit)
    return dict(objects=n_obj, found=found, located=located, false=false,
                boxes=boxes, stale=stale)


def element_ms(kind, lines, warmup):
    per = []
    for line in lines[warmup:]:
        ns = line.get("inference_ns") or 0
        for p in line.get("objects", []) + line.get("patches", []):
            ns += p.get("inference_ns") or 0
        per.append(ns / 1e6)
    return statistics.mean(per)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            names = [l.split(":", 1)[1].strip() for l in f
                     if l.startswith("model name")]
        return "%s (%d logical CPUs)" % (names[0] if names else "?",
                                         len(names))
    except OSError:
        return "?"


def main(argv):
    a = parse_args(argv)
    command = " ".join(shlex.quote(x) for x in
                       ["/usr/bin/python3", "tools/bench/c2f-bench.py"] + argv)
    GLib, Gst, GstVideo, plugin_file = init_gst(a.build)

    t0 = time.monotonic()
    rng = np.random.default_rng(a.seed)
    frames = []
    for _ in range(a.frames):
        img, objs = scenes.make_frame(rng, WIDTH, HEIGHT)
        frames.append((GLib.Bytes.new(img.tobytes()), objs))
    n_objects = sum(len(o) for _d, o in frames)
    print("%d frames (seed %d), %d objects, drawn in %.1f s"
          % (a.frames, a.seed, n_objects, time.monotonic() - t0),
          file=sys.stderr)

    side = max(min(WIDTH, HEIGHT) // 8, 16)   # the element's automatic patch
    tile_list = tiles(side)
    base = "mode=sync" + (" model=%s" % shlex.quote(a.model) if a.model
                          else "")
    modes = []
    if "single" in a.modes:
        modes.append(("(a) single pass", "single", base + " patches=0", []))
    if "tiled" in a.modes:
        modes.append(("(b) tiled %d px, stride %d" % (side, side // 2),
                      "tiled", base + " inference-region=roi-list",
                      tile_list))
    for sal in ("attention", "gradient"):
        if sal in a.modes:
            for k in a.patches:
                modes.append(("(c) %s, patches=%d" % (sal, k), "c2f",
                              base + " patches=%d saliency=%s %s"
                              % (k, sal, a.c2f_props), []))

    load0 = os.getloadavg()
    runs = {m[0]: [] for m in modes}
    for rep in range(a.repeat):
        for name, kind, props, tl in modes:
            keep = None
            if a.keep:
                os.makedirs(a.keep, exist_ok=True)
                slug = "-".join("".join(c if c.isalnum() else " "
                                        for c in name).split())
                keep = os.path.join(a.keep, "%s-%d.jsonl" % (slug, rep + 1))
            lines, arrivals, desc = run_pipeline(Gst, GstVideo, frames, props,
                                                 tl, keep)
            ms = (arrivals[-1] - arrivals[a.warmup - 1]) * 1e3 \
                / (a.frames - a.warmup) if a.warmup else \
                (arrivals[-1] - arrivals[0]) * 1e3 / (a.frames - 1)
            s = score(kind, frames, lines)
            s.update(ms=ms, element_ms=element_ms(kind, lines, a.warmup),
                     pipeline=desc.split(" ! ")[1])
            runs[name].append(s)
            print("  repeat %d: %-30s %8.1f ms/frame, found+named %d/%d"
                  % (rep + 1, name, ms, s["found"], s["objects"]),
                  file=sys.stderr)
    load1 = os.getloadavg()

    rows = []
    tiled_ms = None
    for name, kind, props, tl in modes:
        rs = runs[name]
        first = rs[0]
        for r in rs[1:]:
            if (r["found"], r["false"], r["boxes"]) != \
                    (first["found"], first["false"], first["boxes"]):
                print("warning: %s: results differ between repetitions"
                      % name, file=sys.stderr)
        row = dict(mode=name, kind=kind, element=first["pipeline"],
                   objects=first["objects"], found=first["found"],
                   located=first["located"],
                   found_pct=100.0 * first["found"] / first["objects"],
                   located_pct=100.0 * first["located"] / first["objects"],
                   false_per_frame=first["false"] / a.frames,
                   boxes_per_frame=first["boxes"] / a.frames,
                   stale=first["stale"],
                   ms=statistics.median(r["ms"] for r in rs),
                   ms_runs=[round(r["ms"], 1) for r in rs],
                   element_ms=statistics.median(r["element_ms"] for r in rs))
        if kind == "tiled":
            tiled_ms = row["ms"]
        rows.append(row)
    for row in rows:
        row["pct_of_tiled"] = (100.0 * row["ms"] / tiled_ms
                               if tiled_ms else None)

    print()
    print("| mode | found+named % | centre in a box % | false patches/frame "
          "| patches/frame | ms/frame | element ms/frame | % of (b) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        pct = "%.1f" % r["pct_of_tiled"] if r["pct_of_tiled"] is not None \
            else "n/a"
        print("| %s | %.1f (%d/%d) | %.1f | %.2f | %.2f | %.1f%s | %.1f | %s |"
              % (r["mode"], r["found_pct"], r["found"], r["objects"],
                 r["located_pct"], r["false_per_frame"], r["boxes_per_frame"],
                 r["ms"], " (%s)" % ", ".join("%.1f" % m for m in r["ms_runs"])
                 if len(r["ms_runs"]) > 1 else "", r["element_ms"], pct))
    for r in rows:
        if r["stale"]:
            print("warning: %s: %d stale results" % (r["mode"], r["stale"]))
    if tiled_ms:
        for r in rows:
            if r["kind"] == "c2f":
                ok = r["found_pct"] >= 90 and r["pct_of_tiled"] <= 25
                print("goal (>= 90 %% found+named at <= 25 %% of (b)'s time): "
                      "%s: %s" % (r["mode"], "met" if ok else "not met"))
    date = datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC")
    print()
    print("date:    " + date)
    print("cpu:     " + cpu_model())
    print("load:    %.2f before, %.2f after (1-min average)"
          % (load0[0], load1[0]))
    print("plugin:  " + plugin_file)
    print("frames:  %d (seed %d), %d objects; %d warm-up frames untimed; "
          "%d repetition(s)" % (a.frames, a.seed, n_objects, a.warmup,
                                a.repeat))
    print("command: " + command)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(command=command, date=date, cpu=cpu_model(),
                           load=[load0[0], load1[0]], plugin=plugin_file,
                           frames=a.frames, seed=a.seed, objects=n_objects,
                           warmup=a.warmup, repeat=a.repeat,
                           tile=dict(side=side, stride=side // 2,
                                     count=len(tile_list)),
                           modes=rows), f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
