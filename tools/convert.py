#!/usr/bin/python3
"""Convert a PyTorch ResNet checkpoint into a gst-attention model file.

    tools/convert.py --from FORMAT INPUT OUTPUT.safetensors [--labels FILE]
                     [--input-size N] [--name NAME]

FORMAT is one of
  cbam-official       the official CBAM code's ResidualNet (.pth.tar holding
                      {'state_dict': ...}, keys prefixed `module.`)
  timm-seresnet       timm seresnet* state dicts (se.fc1/fc2 as 1×1 convs)
  cadene-seresnet     pretrainedmodels se_resnet50 (layer0.*, se_module.*,
                      stride on the 1×1, ceil-mode max pool, last_linear)
  torchvision-resnet  torchvision resnet18/34/50/101

Reads INPUT (torch.load, CPU) and --labels (one class name per line); writes
OUTPUT in the format of docs/model-format.md. The architecture is inferred
from the keys and shapes; every key must be used: the first key that does not
fit (unexpected, missing, or of the wrong shape) is named in the error and the
exit status is 1. The official CBAM spatial gate already takes [max, mean]
(our channel order); a source with [mean, max] would need its conv's two
input channels swapped.
"""
import argparse
import json
import os
import re
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import attn_safetensors  # noqa: E402

FORMATS = ("cbam-official", "timm-seresnet", "cadene-seresnet", "torchvision-resnet")


class ConvertError(Exception):
    pass


def load_state_dict(path):
    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, dict) and "state_dict" in obj:
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise ConvertError(f"{path}: not a state dict (found {type(obj).__name__})")
    return {(k[7:] if k.startswith("module.") else k): v for k, v in obj.items()
            if not k.endswith("num_batches_tracked")}


def rename(fmt, key):
    """Source key → canonical name (docs/model-format.md), or None."""
    k = key
    if fmt == "cadene-seresnet":
        k = re.sub(r"^layer0\.conv1\.", "stem.conv.", k)
        k = re.sub(r"^layer0\.bn1\.", "stem.bn.", k)
        k = re.sub(r"^last_linear\.", "fc.", k)
        k = k.replace(".se_module.", ".se.")
    else:
        k = re.sub(r"^conv1\.", "stem.conv.", k)
        k = re.sub(r"^bn1\.", "stem.bn.", k)
    k = re.sub(r"\.downsample\.0\.", ".downsample.conv.", k)
    k = re.sub(r"\.downsample\.1\.", ".downsample.bn.", k)
    if fmt == "cbam-official":
        k = k.replace(".cbam.ChannelGate.mlp.1.", ".cbam.mlp1.")
        k = k.replace(".cbam.ChannelGate.mlp.3.", ".cbam.mlp2.")
        k = k.replace(".cbam.SpatialGate.spatial.conv.", ".cbam.spatial.conv.")
        k = k.replace(".cbam.SpatialGate.spatial.bn.", ".cbam.spatial.bn.")
    return k


def infer_architecture(fmt, sd):
    stages = []
    for s in range(1, 5):
        idx = {int(m.group(1)) for k in sd for m in [re.match(rf"layer{s}\.(\d+)\.", k)] if m}
        if not idx:
            break
        stages.append(max(idx) + 1)
    if not stages:
        raise ConvertError("no layer1.* keys: not a ResNet checkpoint")
    bottleneck = any(k.startswith("layer1.0.conv3.") for k in sd)
    widths = [int(sd[f"layer{s + 1}.0.conv1.weight"].shape[0]) for s in range(len(stages))]
    attention = {"cbam-official": "cbam", "timm-seresnet": "se", "cadene-seresnet": "se",
                 "torchvision-resnet": "none"}[fmt]
    stem = sd["stem.conv.weight"] if "stem.conv.weight" in sd else None
    if stem is None:
        raise ConvertError("missing the stem convolution (conv1.weight / layer0.conv1.weight)")
    pool = ({"kernel": 3, "stride": 2, "pad": 0, "ceil_mode": True}
            if fmt == "cadene-seresnet" else
            {"kernel": 3, "stride": 2, "pad": 1, "ceil_mode": False})
    if "fc.weight" not in sd:
        raise ConvertError("missing the classifier (fc.weight / last_linear.weight)")
    return {"family": "resnet", "block": "bottleneck" if bottleneck else "basic",
            "layers": stages, "widths": widths, "stem_width": int(stem.shape[0]),
            "stem_pool": pool,
            "stride_on": "1x1" if fmt == "cadene-seresnet" and bottleneck else "3x3",
            "attention": attention, "spatial_kernel": 7,
            "num_classes": int(sd["fc.weight"].shape[0]), "bn_eps": 1e-5, "stn": None}


def expected_shapes(arch, sd):
    """Canonical name → shape the architecture needs (gate widths from sd)."""
    exp = {}

    def bn(name, c):
        for p in ("weight", "bias", "running_mean", "running_var"):
            exp[f"{name}.{p}"] = (c,)

    stem = arch["stem_width"]
    exp["stem.conv.weight"] = (stem, 3, 7, 7)
    bn("stem.bn", stem)
    bott = arch["block"] == "bottleneck"
    e = 4 if bott else 1
    cin = stem
    for s, (n, p) in enumerate(zip(arch["layers"], arch["widths"])):
        for b in range(n):
            pre = f"layer{s + 1}.{b}"
            cout = p * e
            stride = 2 if s > 0 and b == 0 else 1
            if bott:
                convs = [(p, cin, 1), (p, p, 3), (cout, p, 1)]
            else:
                convs = [(p, cin, 3), (p, p, 3)]
            for i, (co, ci, k) in enumerate(convs):
                exp[f"{pre}.conv{i + 1}.weight"] = (co, ci, k, k)
                bn(f"{pre}.bn{i + 1}", co)
            if stride != 1 or cin != cout:
                exp[f"{pre}.downsample.conv.weight"] = (cout, cin, 1, 1)
                bn(f"{pre}.downsample.bn", cout)
            g = {"se": "se.fc", "cbam": "cbam.mlp"}.get(arch["attention"])
            if g:
                hd_key = f"{pre}.{g}1.weight"
                hd = int(sd[hd_key].shape[0]) if hd_key in sd else 1
                exp[f"{pre}.{g}1.weight"] = (hd, cout)
                exp[f"{pre}.{g}1.bias"] = (hd,)
                exp[f"{pre}.{g}2.weight"] = (cout, hd)
                exp[f"{pre}.{g}2.bias"] = (cout,)
            if arch["attention"] == "cbam":
                exp[f"{pre}.cbam.spatial.conv.weight"] = (1, 2, 7, 7)
                bn(f"{pre}.cbam.spatial.bn", 1)
            cin = cout
    exp["fc.weight"] = (arch["num_classes"], cin)
    exp["fc.bias"] = (arch["num_classes"],)
    return exp


def convert(fmt, src, labels=None, input_size=224, name=None):
    raw = load_state_dict(src)
    sd, origin = {}, {}
    for k, v in raw.items():
        c = rename(fmt, k)
        t = v.detach().float()
        if (".se.fc" in c) and c.endswith(".weight") and t.dim() == 4:
            t = t[:, :, 0, 0]            # SE 1×1 conv weights → 2-D
        sd[c], origin[c] = t, k
    arch = infer_architecture(fmt, sd)
    exp = expected_shapes(arch, sd)
    for c in sd:
        if c not in exp:
            raise ConvertError(f"unexpected key '{origin[c]}' for {fmt} "
                               f"(a {arch['block']} ResNet with attention "
                               f"'{arch['attention']}')")
        if tuple(sd[c].shape) != exp[c]:
            raise ConvertError(f"key '{origin[c]}' has shape {list(sd[c].shape)}, "
                               f"expected {list(exp[c])}")
    for c in exp:
        if c not in sd:
            raise ConvertError(f"missing key for '{c}' in the {fmt} checkpoint")
    classes = arch["num_classes"]
    if labels is None:
        labels = [f"class {i}" for i in range(classes)]
    if len(labels) != classes:
        raise ConvertError(f"{len(labels)} labels for {classes} classes")
    pre = {"width": input_size, "height": input_size, "color": "RGB",
           "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
           "scale": 255, "resize": "stretch"}
    meta = {"format": "gst-attention-model", "format_version": "1",
            "name": name or os.path.splitext(os.path.basename(src))[0],
            "architecture": json.dumps(arch), "labels": json.dumps(labels),
            "preprocess": json.dumps(pre),
            "source": f"tools/convert.py --from {fmt} {os.path.basename(src)}"}
    return {k: v.numpy().astype(np.float32) for k, v in sd.items()}, meta


def main():
    ap = argparse.ArgumentParser(description="Convert a PyTorch ResNet checkpoint "
                                             "into a gst-attention model file.")
    ap.add_argument("--from", dest="fmt", required=True, choices=FORMATS)
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--labels", help="text file, one class name per line")
    ap.add_argument("--input-size", type=int, default=224)
    ap.add_argument("--name")
    args = ap.parse_args()
    labels = None
    if args.labels:
        with open(args.labels) as f:
            labels = [line.rstrip("\n") for line in f if line.strip()]
    try:
        tensors, meta = convert(args.fmt, args.input, labels, args.input_size, args.name)
    except ConvertError as e:
        print(f"convert.py: {args.input}: {e}", file=sys.stderr)
        sys.exit(1)
    attn_safetensors.save(args.output, tensors, meta)
    print(f"wrote {args.output}: {json.loads(meta['architecture'])['block']} ResNet "
          f"{json.loads(meta['architecture'])['layers']}, {len(tensors)} tensors")


if __name__ == "__main__":
    main()
