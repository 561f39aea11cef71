#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the 1080p test scene that pipelines/patches.sh runs coarse-to-fine
inference on: tools/scenes.make_frame with a fixed seed (several small
shapes, 2-6 % of the frame height across, on a textured background), as a
PNG, plus the objects it holds as JSON lines (label, centre, radius in
pixels) for anyone who wants to check the boxes.

    /usr/bin/python3 tools/make_scene.py [--seed N] [--out pipelines/scene-1080p.png]

With --describe it writes a scene of the describe model's kind instead
(tools/scenes.make_describe_image at --size, default 512: --objects shapes,
default 3, left to right), and beside it a .json with the sentence that
names them and each shape's box in pixels (pipelines/describe.sh):

    /usr/bin/python3 tools/make_scene.py --describe --seed 11 \
        --out pipelines/describe-scene.png
"""
import argparse
import json
import os
import struct
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenes  # noqa: E402


def write_png(path, rgb):
    """A plain 8-bit RGB PNG (no library needed)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\0" + rgb[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--objects", type=int)
    ap.add_argument("--out", default="pipelines/scene-1080p.png")
    ap.add_argument("--describe", action="store_true")
    ap.add_argument("--size", type=int, default=512)
    a = ap.parse_args()
    if a.describe:
        img, tokens, _, boxes = scenes.make_describe_image(np.random.default_rng(a.seed),
                                                           a.size, a.objects or 3)
        names = [scenes.VOCABULARY[t] for t in tokens if t != scenes.END]
        write_png(a.out, img)
        objs = [{"label": n, "x0": round(float(b[0]), 1), "y0": round(float(b[1]), 1),
                 "x1": round(float(b[2]), 1), "y1": round(float(b[3]), 1)}
                for n, b in zip(names, boxes)]
        with open(os.path.splitext(a.out)[0] + ".json", "w") as f:
            json.dump({"sentence": " ".join(names), "objects": objs}, f, indent=1)
            f.write("\n")
        print(f"{a.out}: \"{' '.join(names)}\", {os.path.getsize(a.out)} bytes")
        return
    a.objects = a.objects or 6
    img, objs = scenes.make_frame(np.random.default_rng(a.seed), 1920, 1080,
                                  n_min=a.objects, n_max=a.objects)
    write_png(a.out, img)
    with open(os.path.splitext(a.out)[0] + ".jsonl", "w") as f:
        for label, cx, cy, r in objs:
            f.write(json.dumps({"label": scenes.CLASSES[label], "x": round(cx, 1),
                                "y": round(cy, 1), "r": round(r, 1)}) + "\n")
    print(f"{a.out}: {len(objs)} objects, {os.path.getsize(a.out)} bytes")


if __name__ == "__main__":
    main()
