#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""End-to-end: pipelines/attention-probe.py reads the meta from Python.

Runs the example with Debian's python3-gi on FRAMES frames of the default
model and checks: one line per frame, in order; every label is one of the
model's (read from the .safetensors header); the final map is a 2-D list of
the right shape with values in 0..1; the region lies in the frame; and the
first frame's classes, region and map are the numbers attentionjson writes
for the same frame (Python reads what C reads); for a model with a decoder
head, so are its sentence, words, scores and word maps. The readable mode
prints a line per frame too.

usage: test_attention_probe.py PROBE MODEL [FRAMES]
(GST_PLUGIN_PATH, GI_TYPELIB_PATH and LD_LIBRARY_PATH point at the build.)
"""
import json
import struct
import subprocess
import sys

try:
    import gi  # noqa: F401  (the probe needs it; only checked here)
except ImportError:
    print("SKIP: python3-gi is not installed")
    sys.exit(77)

probe, model = sys.argv[1], sys.argv[2]
frames = int(sys.argv[3]) if len(sys.argv) > 3 else 5
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


with open(model, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
labels = set(json.loads(header["__metadata__"]["labels"]))
has_decoder = bool(json.loads(header["__metadata__"]["architecture"]).get("decoder"))

out = subprocess.run([sys.executable, probe, "--json", str(frames), model],
                     capture_output=True, text=True, timeout=120)
check(out.returncode == 0, "the probe exited %d: %s" % (out.returncode,
                                                        out.stderr))
lines = out.stdout.splitlines()
check(len(lines) == frames, "%d lines for %d frames" % (len(lines), frames))
reps = [json.loads(line) for line in lines]
for i, rep in enumerate(reps):
    check(rep["frame"] == i, "line %d is frame %s" % (i, rep["frame"]))
    check(rep["classes"] and all(c["label"] in labels for c in rep["classes"]),
          "frame %d: labels %s not all from the model %s"
          % (i, [c["label"] for c in rep["classes"]], sorted(labels)))
    scores = [c["score"] for c in rep["classes"]]
    check(scores == sorted(scores, reverse=True) and
          all(0 <= s <= 1 for s in scores), "frame %d: scores %s" % (i, scores))
    m = rep["map"]
    rows = m["values"]
    check(m["width"] > 0 and m["height"] > 0 and len(rows) == m["height"] and
          all(len(r) == m["width"] for r in rows),
          "frame %d: map %dx%d has %d rows of %s"
          % (i, m["width"], m["height"], len(rows), {len(r) for r in rows}))
    check(all(0 <= v <= 1 for r in rows for v in r),
          "frame %d: map values outside 0..1" % i)
    r = rep["region"]
    check(r is not None and 0 <= r["x"] and r["x"] + r["w"] <= 1 + 1e-6 and
          0 <= r["y"] and r["y"] + r["h"] <= 1 + 1e-6 and 0 <= r["peak"] <= 1,
          "frame %d: region %s" % (i, r))

# the same frame through attentionjson (C): same classes, region and map
js = subprocess.run(
    ["gst-launch-1.0", "-q", "videotestsrc", "pattern=ball", "num-buffers=1",
     "!", "video/x-raw,width=320,height=240", "!", "attentioninfer",
     "model=" + model, "!", "attentionjson", "include-maps=true", "!",
     "fakesink"], capture_output=True, text=True, timeout=120)
check(js.returncode == 0, "attentionjson run failed: %s" % js.stderr)
if js.returncode == 0 and reps:
    ref, rep = json.loads(js.stdout.splitlines()[0]), reps[0]
    check([c["label"] for c in ref["classes"]] ==
          [c["label"] for c in rep["classes"]],
          "classes differ from attentionjson's")
    check(all(abs(a["score"] - b["score"]) <= 1e-5
              for a, b in zip(ref["classes"], rep["classes"])),
          "scores differ from attentionjson's")
    final = ref["maps"][-1]
    m = rep["map"]
    check((final["name"], final["width"], final["height"]) ==
          (m["name"], m["width"], m["height"]),
          "final map %s %dx%d, attentionjson says %s %dx%d"
          % (m["name"], m["width"], m["height"], final["name"],
             final["width"], final["height"]))
    flat = [v for row in m["values"] for v in row]
    ref_flat = final["data"]
    if isinstance(ref_flat[0], list):
        ref_flat = [v for row in ref_flat for v in row]
    check(len(flat) == len(ref_flat) and
          all(abs(a - b) <= 1e-4 for a, b in zip(flat, ref_flat)),
          "map values differ from attentionjson's")
    # a decoder model: the same sentence, tokens, scores and word maps
    if has_decoder:
        check(rep.get("sentence") == ref["sentence"],
              "sentence %r, attentionjson says %r" % (rep.get("sentence"),
                                                     ref["sentence"]))
        got, want = rep.get("sequence", []), ref["sequence"]
        check([t["token"] for t in got] == [t["token"] for t in want] and
              all(abs(a["score"] - b["score"]) <= 1e-5
                  for a, b in zip(got, want)), "sequence differs")
        for a, b in zip(got, want):
            flat = [v for row in a["alpha"] for v in row]
            check(len(a["alpha"]) == b["alpha"]["height"] and
                  all(len(r) == b["alpha"]["width"] for r in a["alpha"]) and
                  all(abs(x - y) <= 1e-5 for x, y in zip(flat,
                                                         b["alpha"]["data"])),
                  "word %r: alpha differs from attentionjson's" % a["token"])
    else:
        check("sentence" not in rep, "a sentence from a model without a "
              "decoder")
    # attentionjson writes the region in pixels of the 320x240 frame
    check(abs(rep["region"]["centroid_x"] * 320 - ref["region"]["centroid_x"])
          <= 0.5 and
          abs(rep["region"]["centroid_y"] * 240 - ref["region"]["centroid_y"])
          <= 0.5, "centroid differs from attentionjson's")

human = subprocess.run([sys.executable, probe, "2", model],
                       capture_output=True, text=True, timeout=120)
hl = human.stdout.splitlines()
check(human.returncode == 0 and len(hl) == 2 and
      all(line.startswith("frame %d: " % i) and " map " in line
          for i, line in enumerate(hl)),
      "readable mode printed %r" % human.stdout)

if failures:
    sys.exit(1)
print("ok: %d frames read from Python: labels from the model, %dx%d map in "
      "0..1, the same numbers as attentionjson"
      % (frames, reps[0]["map"]["width"], reps[0]["map"]["height"]))
