#!/usr/bin/python3
"""PyTorch parity fixtures for the converters and the C forward pass.

For each source format, builds a reference ResNet with that source's exact key
layout (tools/reference_models.py) — reduced widths, the real depth structure,
random weights AND random BatchNorm statistics — saves its checkpoint the way
that source does, converts it with the real tools/convert.py CLI, and runs the
reference forward on a seeded random input. Writes to tests/models/parity/:
NAME.safetensors (the converted model) and NAME.io.safetensors (input,
logits, every gate's spatial map `map.layerL.B` and channel weights
`channel.layerL.B`). tests/models/test_parity.c checks our forward matches.

    /usr/bin/python3 tools/make_parity.py           # committed fixtures
    /usr/bin/python3 tools/make_parity.py --full OUTDIR   # full width, 224², not committed
"""
import argparse
import os
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import attn_safetensors  # noqa: E402
import reference_models as rm  # noqa: E402

CASES = [  # name, format, depth, widths (small), classes
    ("resnet18-cbam", "cbam-official", 18, [16, 16, 32, 48], 10),
    ("resnet50-cbam", "cbam-official", 50, [4, 8, 16, 32], 7),
    ("seresnet50-timm", "timm-seresnet", 50, [4, 8, 16, 32], 5),
    ("se-resnet50-cadene", "cadene-seresnet", 50, [4, 8, 16, 32], 6),
    ("resnet18-torchvision", "torchvision-resnet", 18, [8, 16, 32, 64], 9),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", metavar="OUTDIR")
    args = ap.parse_args()
    out = args.full or os.path.join(HERE, "..", "tests", "models", "parity")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    h, w = (224, 224) if args.full else (80, 64)
    for i, (name, fmt, depth, widths, classes) in enumerate(CASES):
        if args.full:
            widths, classes = [64, 128, 256, 512], 1000
        model = rm.randomize(rm.build(fmt, depth, widths, classes), seed=100 + i)
        sd = model.state_dict()
        with tempfile.TemporaryDirectory() as tmp:
            if fmt == "cbam-official":   # DataParallel-saved {'state_dict': ...}
                ckpt = os.path.join(tmp, "checkpoint.pth.tar")
                torch.save({"state_dict": {"module." + k: v for k, v in sd.items()},
                            "epoch": 90}, ckpt)
            else:
                ckpt = os.path.join(tmp, "model.pth")
                torch.save(sd, ckpt)
            model_path = os.path.join(out, f"{name}.safetensors")
            subprocess.run([sys.executable, os.path.join(HERE, "convert.py"), "--from", fmt,
                            ckpt, model_path, "--name", name, "--input-size", str(w)],
                           check=True)
        x = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(i)) * 4 - 2
        with torch.no_grad():
            logits, maps = model(x)
        io = {"input": x.numpy(), "logits": logits.numpy()}
        for gate, (ms, mc) in maps.items():
            if ms is not None:
                io[f"map.{gate}"] = ms.numpy()
            io[f"channel.{gate}"] = mc.numpy()
        attn_safetensors.save(os.path.join(out, f"{name}.io.safetensors"), io,
                              {"model": f"{name}.safetensors", "height": str(h),
                               "width": str(w),
                               "generator": f"tools/make_parity.py torch {torch.__version__}"})
        print(f"{name}: {len(maps)} gates, logits {logits.numpy().ravel()[:3]}...")


if __name__ == "__main__":
    main()
