#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""PyTorch autograd goldens for kernels/compute/saliency.c (tests/kernels/test_saliency.c).

    /usr/bin/python3 tools/make_saliency_goldens.py

Reads nothing. For each case below builds a tiny random network in our model
format (BatchNorm unfolded, random statistics, the tensor names and
architecture JSON the C loader reads, as tests/models/model_builder.c
writes them) and writes it to tests/kernels/goldens/saliency-CASE.safetensors.
It then runs that file with tools/make_parity.py's forward_converted (our
format's semantics in PyTorch functional ops: the official CBAM block, SE,
plain blocks) in float64 on a seeded random input, takes
torch.autograd.grad of the entropy H = −Σ p log p of softmax(logits) with
respect to the INPUT of the last residual block, and writes the per-position
gradient norms ||∂H/∂c[:, i, j]||₂ to tests/kernels/goldens/saliency.safetensors:

  CASE.input     (1, 3, H, W)  the network input
  CASE.logits    (classes,)    the logits
  CASE.saliency  (h, w)        the gradient norms on the last block's input grid
  __metadata__   CASE: {"op": "entropy_saliency", "model": FILE, "height": H,
                 "width": W, "block", "attention", "grid_h", "grid_w",
                 "channels", "entropy"}; "format": "attn-goldens-1";
                 "generator": "tools/make_saliency_goldens.py torch <version>"

One more case, default-model, runs the shipped models/default.safetensors
(named in its "model" by a path relative to the goldens, as
tools/make_parity.py does) instead of a file written here.

Seeded per case; the bytes depend only on the torch build.
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import attn_safetensors  # noqa: E402
import make_parity  # noqa: E402

OUT = os.path.join(HERE, "..", "tests", "kernels", "goldens")
FORMAT = "attn-goldens-1"

# name, block, attention, layers, widths, stem width, classes, gate hidden,
# stride_on, spatial kernel, input (H, W). Last-block input grids: 5×7 (13
# channels), 6×5, 5×9, 7×5, 17×13 into a stride-2 block with a 1×1 stride-2
# downsample, and 13×11 into a bottleneck whose 1×1 conv1 carries the stride.
CASES = [
    ("basic-cbam", "basic", "cbam", [1, 2], [6, 13], 6, 5, 3, "3x3", 7, (40, 56)),
    ("basic-se", "basic", "se", [1, 2], [8, 12], 8, 4, 4, "3x3", 7, (48, 40)),
    ("basic-none", "basic", "none", [1, 2], [8, 10], 8, 6, 4, "3x3", 7, (40, 72)),
    ("bottleneck-cbam", "bottleneck", "cbam", [1, 2], [4, 5], 8, 5, 4, "3x3", 3, (56, 40)),
    ("basic-cbam-down", "basic", "cbam", [1, 1], [6, 11], 6, 5, 3, "3x3", 7, (68, 52)),
    ("bottleneck-se-down", "bottleneck", "se", [1, 1], [4, 6], 8, 4, 5, "1x1", 7, (52, 44)),
    # the shipped model (64 channels, trained weights) on a random 96×128
    # input; named by a path relative to the goldens, so a retrained
    # models/default.safetensors needs a re-run of this script
    ("default-model", "basic", "cbam", [2, 2, 2], None, None, None, None, None, None,
     (96, 128)),
]
DEFAULT_MODEL = os.path.join(HERE, "..", "models", "default.safetensors")


def build(case, seed):
    """(tensors {name: float32 array}, metadata) of one tiny model."""
    name, block, att, layers, widths, stem, classes, hidden, stride_on, sk, (h, w) = case
    g = np.random.default_rng(seed)
    t = {}

    def uni(shape, lo, hi):
        return g.uniform(lo, hi, size=shape).astype(np.float32)

    def conv(n, cout, cin, k):
        s = 1.5 / np.sqrt(cin * k * k)
        t[n + ".weight"] = uni((cout, cin, k, k), -s, s)

    def bn(n, c):
        t[n + ".weight"] = uni((c,), 0.5, 1.5)
        t[n + ".bias"] = uni((c,), -0.2, 0.2)
        t[n + ".running_mean"] = uni((c,), -0.2, 0.2)
        t[n + ".running_var"] = uni((c,), 0.5, 2.0)

    def linear(n, out, inp, scale=1.0):
        s = scale / np.sqrt(inp)
        t[n + ".weight"] = uni((out, inp), -s, s)
        t[n + ".bias"] = uni((out,), -0.1, 0.1)

    bott = block == "bottleneck"
    exp = 4 if bott else 1
    conv("stem.conv", stem, 3, 7)
    bn("stem.bn", stem)
    cin = stem
    for s, n in enumerate(layers):
        for b in range(n):
            p, cout = widths[s], widths[s] * exp
            stride = 2 if s > 0 and b == 0 else 1
            pre = f"layer{s + 1}.{b}"
            convs = ([(p, cin, 1), (p, p, 3), (cout, p, 1)] if bott
                     else [(p, cin, 3), (p, p, 3)])
            for i, (co, ci, k) in enumerate(convs):
                conv(f"{pre}.conv{i + 1}", co, ci, k)
                bn(f"{pre}.bn{i + 1}", co)
            if stride != 1 or cin != cout:
                conv(pre + ".downsample.conv", cout, cin, 1)
                bn(pre + ".downsample.bn", cout)
            if att != "none":
                gname = "se.fc" if att == "se" else "cbam.mlp"
                linear(f"{pre}.{gname}1", hidden, cout, 2.0)
                linear(f"{pre}.{gname}2", cout, hidden, 2.0)
            if att == "cbam":
                conv(pre + ".cbam.spatial.conv", 1, 2, sk)
                bn(pre + ".cbam.spatial.bn", 1)
            cin = cout
    # a wider classifier than Linear's default: logits spread over a few
    # units, so the entropy is far from both 0 and log(classes)
    linear("fc", classes, cin, 6.0)
    arch = {"family": "resnet", "block": block, "layers": layers, "widths": widths,
            "stem_width": stem,
            "stem_pool": {"kernel": 3, "stride": 2, "pad": 1, "ceil_mode": False},
            "stride_on": stride_on, "attention": att, "spatial_kernel": sk,
            "num_classes": classes, "bn_eps": 1e-5}
    meta = {"format": "gst-attention-model", "format_version": "1",
            "name": f"saliency-{name}", "architecture": json.dumps(arch),
            "preprocess": json.dumps({"width": w, "height": h, "color": "RGB",
                                      "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25],
                                      "scale": 255, "resize": "stretch"}),
            "labels": json.dumps([f"label {i}" for i in range(classes)])}
    return t, meta


def make_case(i, case, out_tensors, out_meta):
    name, block, att, layers = case[:4]
    h, w = case[-1]
    if name == "default-model":
        model_file = os.path.relpath(DEFAULT_MODEL, OUT)
    else:
        tensors, meta = build(case, seed=4000 + i)
        model_file = f"saliency-{name}.safetensors"
        attn_safetensors.save(os.path.join(OUT, model_file), tensors, meta)

    # from the file, as the C test reads it
    tensors, meta = attn_safetensors.load(os.path.join(OUT, model_file))
    arch = json.loads(meta["architecture"])
    assert (arch["block"], arch["attention"], arch["layers"]) == (block, att, layers)
    t64 = {k: v.astype(np.float64) for k, v in tensors.items()}
    last = f"layer{len(layers)}.{layers[-1] - 1}"
    x = (torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(i),
                    dtype=torch.float64) * 4 - 2)
    taps = {}

    def tap(pre, y):
        if pre == last:
            y = y.detach().requires_grad_(True)
            taps["c"] = y
        return y

    logits, _ = make_parity.forward_converted(t64, arch, x, tap)
    logp = torch.log_softmax(logits[0], 0)
    ent = -(logp.exp() * logp).sum()
    (grad,) = torch.autograd.grad(ent, taps["c"])
    sal = grad[0].pow(2).sum(0).sqrt()
    c, gh, gw = grad.shape[1:]
    out_tensors.update({f"{name}.input": x.float().numpy(),
                        f"{name}.logits": logits[0].detach().float().numpy(),
                        f"{name}.saliency": sal.float().numpy()})
    out_meta[name] = json.dumps({"op": "entropy_saliency", "model": model_file,
                                 "height": h, "width": w, "block": block,
                                 "attention": att, "grid_h": gh, "grid_w": gw,
                                 "channels": c, "entropy": ent.item()})
    print(f"{name}: {block} {att} {layers}, input {h}x{w}, c ({c}, {gh}, {gw}), "
          f"H {ent.item():.4f} of log(K) {np.log(logits.shape[1]):.4f}, "
          f"saliency {sal.min().item():.3g}..{sal.max().item():.3g}")


def main():
    torch.set_num_threads(1)
    tensors, meta = {}, {"format": FORMAT,
                         "generator": f"tools/make_saliency_goldens.py torch {torch.__version__}"}
    for i, case in enumerate(CASES):
        make_case(i, case, tensors, meta)
    attn_safetensors.save(os.path.join(OUT, "saliency.safetensors"), tensors, meta)


if __name__ == "__main__":
    main()
