#!/usr/bin/python3
"""Checks that tools/convert.py rejects checkpoints that do not fit, naming
the first offending key: a renamed key, a wrong shape, a missing key, and an
unknown format layout. Needs Debian's python3-torch; `./run test` runs it
when torch is installed. Prints TAP; exits non-zero on any failure."""
import os
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import reference_models as rm  # noqa: E402


def convert(fmt, sd, tmp):
    ckpt = os.path.join(tmp, "c.pth")
    torch.save(sd, ckpt)
    r = subprocess.run([sys.executable, os.path.join(HERE, "convert.py"), "--from", fmt, ckpt,
                        os.path.join(tmp, "out.safetensors")], capture_output=True, text=True)
    return r.returncode, r.stderr


def main():
    base = rm.build("timm-seresnet", 50, [4, 8, 16, 32], 5).state_dict()
    cases = []
    sd = dict(base)
    sd["layer2.1.se.fc3.weight"] = sd.pop("layer2.1.se.fc2.weight")
    cases.append(("renamed key", "timm-seresnet", sd, "layer2.1.se.fc3.weight"))
    sd = dict(base)
    sd["layer3.0.conv2.weight"] = torch.zeros(16, 16, 5, 5)
    cases.append(("wrong shape", "timm-seresnet", sd, "layer3.0.conv2.weight"))
    sd = dict(base)
    del sd["layer4.2.bn3.running_var"]
    cases.append(("missing key", "timm-seresnet", sd, "layer4.2.bn3.running_var"))
    cases.append(("SE checkpoint as torchvision", "torchvision-resnet", dict(base),
                  "layer1.0.se.fc1"))
    ok_all = True
    with tempfile.TemporaryDirectory() as tmp:
        code, _ = convert("timm-seresnet", dict(base), tmp)
        ok = code == 0
        print(f"{'ok' if ok else 'not ok'} 1 - a fitting checkpoint converts")
        ok_all &= ok
        for i, (what, fmt, sd, key) in enumerate(cases, 2):
            code, err = convert(fmt, sd, tmp)
            ok = code == 1 and key in err
            ok_all &= ok
            print(f"{'ok' if ok else 'not ok'} {i} - {what} is named: {err.strip()}")
    print(f"1..{len(cases) + 1}")
    sys.exit(0 if ok_all else 1)


if __name__ == "__main__":
    main()
