#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The networks attn-bench times against PyTorch, exported to ONNX for its
ONNX Runtime column (tools/bench/ort-bench.mjs runs them).

The modules are bench_torch.py's own (torchvision-layout ResNet-18/50, with
the official CBAM gate in every block for the -cbam variants), built the way
bench_torch.py builds them: torch.manual_seed(0) and then the constructor, in
eval mode — so the weights are the very ones the PyTorch columns time.
Exported with torch.onnx.export, opset 13, batch 1, 3x224x224, fixed shapes.

    /usr/bin/python3 tools/ort_export.py OUTDIR

writes OUTDIR/resnet18.onnx, resnet18-cbam.onnx, resnet50.onnx,
resnet50-cbam.onnx (skipping those newer than this script and
bench_torch.py) and, beside each, NAME.ref: PyTorch's logits (float32 little
endian) for the input x[j] = ((j * 7919) % 255) / 255 - 0.5 that attn-bench
also feeds its own networks, so ort-bench.mjs can check the exported graph.
torch.onnx.export in torch 1.13 writes the protobuf itself: the `onnx`
Python package is not needed. Prints one line per model to stderr.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_torch  # noqa: E402

NETS = [("resnet18", 18, False), ("resnet18-cbam", 18, True),
        ("resnet50", 50, False), ("resnet50-cbam", 50, True)]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    here = os.path.dirname(os.path.abspath(__file__))
    newest_src = max(os.path.getmtime(os.path.join(here, f))
                     for f in ("ort_export.py", "bench_torch.py"))
    n = 3 * 224 * 224
    x = torch.tensor([((j * 7919) % 255) / 255.0 - 0.5 for j in range(n)],
                     dtype=torch.float32).reshape(1, 3, 224, 224)
    for name, depth, cbam in NETS:
        path = os.path.join(out, name + ".onnx")
        ref = os.path.join(out, name + ".ref")
        if all(os.path.exists(p) and os.path.getmtime(p) > newest_src for p in (path, ref)):
            continue
        torch.manual_seed(0)            # as bench_torch.main() does, then build
        net = bench_torch.resnet(depth, cbam)
        with torch.no_grad():
            logits = net(x)
            torch.onnx.export(net, x, path + ".tmp", opset_version=13,
                              input_names=["input"], output_names=["logits"],
                              do_constant_folding=True)
        os.replace(path + ".tmp", path)
        with open(ref + ".tmp", "wb") as f:
            f.write(logits.numpy().astype("<f4").tobytes())
        os.replace(ref + ".tmp", ref)
        print(f"ort_export: {path} ({os.path.getsize(path) / 1e6:.1f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
