#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the 1080p test scene that pipelines/patches.sh runs coarse-to-fine
inference on: tools/scenes.make_frame with a fixed seed (several small
shapes, 2-6 % of the frame height across, on a textured background), as a
PNG, plus the objects it holds as JSON lines (label, centre, radius in
pixels) for anyone who wants to check the boxes.

    /usr/bin/python3 tools/make_scene.py [--seed N] [--out pipelines/scene-1080p.png]
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
    ap.add_argument("--objects", type=int, default=6)
    ap.add_argument("--out", default="pipelines/scene-1080p.png")
    a = ap.parse_args()
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
