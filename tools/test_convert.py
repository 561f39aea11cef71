#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tests tools/convert.py through its command line: checkpoints of every
source layout convert (to the same bytes twice, with the same values), and
checkpoints that do not fit fail with exit status 1 and a message naming the
offending key: a renamed key, a wrong shape, a missing key, a key of another
layout, an extra stage, a non-finite weight, and a wrong number of labels.
Models with a Spatial Transformer front end (module `stn`: `localization`,
`fc_loc`) convert, declared by --stn-layers/--stn-fc or in the PyTorch
tutorial's default layout, and the converted file alone, run with PyTorch
functional ops, gives the source model's logits and theta within 1e-4
(relative); wrong declarations fail naming the key. (Our C forward pass on
such files: tests/models/test_parity with tools/make_parity.py's STN cases.)
Models with an encoder-decoder head (`decoder.*`, --decoder-vocab) convert
with the head's section inferred from its shapes, and bad heads fail naming
the key or the setting.

    /usr/bin/python3 tools/test_convert.py

Needs Debian's python3-torch (tests/run_torch_test.sh skips it
otherwise). Prints TAP; exits non-zero if any case fails.
"""
import contextlib
import io
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import attn_safetensors  # noqa: E402
import convert  # noqa: E402
import make_parity  # noqa: E402
import reference_models as rm  # noqa: E402
import tap  # noqa: E402
from tap import case  # noqa: E402

_cli_runs = 0


def run_convert(fmt, ckpt, out, *extra):
    """(exit status, stderr) of tools/convert.py. The first few runs are real
    processes; later ones call convert.main() in this process (the same code
    path without paying for `import torch` each time)."""
    global _cli_runs
    argv = ["--from", fmt, ckpt, out, *extra]
    if _cli_runs < 3:
        _cli_runs += 1
        r = subprocess.run([sys.executable, os.path.join(HERE, "convert.py"), *argv],
                           capture_output=True, text=True)
        return r.returncode, r.stderr.strip()
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = convert.main(argv)
    return code, err.getvalue().strip()


def small(fmt, depth, **kw):
    widths = {18: [16, 16, 32, 32], 34: [16, 16, 32, 32]}.get(depth, [4, 8, 8, 16])
    return rm.randomize(rm.build(fmt, depth, widths=widths, classes=3, **kw), seed=7)


def expect_error(tmp, what, fmt, sd, key, wrap=False, extra=()):
    """Saves sd (optionally as official CBAM does), converts, and checks that
    it fails with status 1 naming `key`."""
    ckpt = os.path.join(tmp, "bad.pth")
    if wrap:
        sd = {"state_dict": {"module." + k: v for k, v in sd.items()}}
    torch.save(sd, ckpt)
    code, err = run_convert(fmt, ckpt, os.path.join(tmp, "bad.safetensors"), *extra)
    case(f"{what}: fails naming '{key}'", code == 1 and key in err, err)


def stn_parity(tmp, what, fmt, kind, h, w, spec=True, extra=()):
    """Builds make_parity's STN case `kind` (random weights, an off-identity
    theta), saves its checkpoint, converts it (declaring the layers when
    `spec`), and compares the converted file's logits and theta, run with
    PyTorch functional ops, with the model's own."""
    model, args = make_parity.build_case_model(fmt, 18, [16, 16, 32, 32], 4, {"stn": kind}, 3,
                                               max(h, w))
    if not spec:
        args = [a for a in args if a == "--stn-align-corners"]
    ckpt, out = os.path.join(tmp, "stn.pth"), os.path.join(tmp, "stn.safetensors")
    rm.checkpoint(model, fmt, ckpt)
    code, err = run_convert(fmt, ckpt, out, "--input-size", str(max(h, w)), *args, *extra)
    case(f"{what}: converts", code == 0, err)
    if code != 0:
        return
    tensors, meta = attn_safetensors.load(out)
    arch = json.loads(meta["architecture"])
    x = torch.rand(2, 3, h, w, generator=torch.Generator().manual_seed(5)) * 4 - 2
    theta = []
    with torch.no_grad():
        ref = model(x[:1])
        got, _ = make_parity.forward_converted(tensors, arch, x[:1], theta_out=theta)
    ref_theta = model.stn.theta
    e_l = make_parity.max_rel_err(got, ref)
    e_t = make_parity.max_rel_err(theta[0], ref_theta) if theta else math.inf
    off = (ref_theta - torch.tensor([1.0, 0, 0, 0, 1, 0])).abs().max().item()
    case(f"{what}: logits (err {e_l:.1e}) and theta (err {e_t:.1e}) within 1e-4, theta "
         f"{off:.2f} off the identity", e_l <= 1e-4 and e_t <= 1e-4 and off > 0.1,
         json.dumps(arch["stn"]))


def test_stn(tmp):
    # a global pool, strides, padding, DataParallel's module. prefix; 60x76
    stn_parity(tmp, "official CBAM + STN (gap, declared layers)", "cbam-official", "gap", 60, 76)
    # the PyTorch tutorial's layout, flattened, align_corners: the defaults
    stn_parity(tmp, "torchvision + tutorial STN (default layers, align_corners)",
               "torchvision-resnet", "tutorial", 64, 64, spec=False)

    model, args = make_parity.build_case_model("torchvision-resnet", 18, [8, 8, 16, 16], 4,
                                               {"stn": "tutorial"}, 3, 64)
    sd = model.state_dict()
    expect_error(tmp, "STN: flattened size does not fit --input-size", "torchvision-resnet",
                 dict(sd), "stn.fc_loc.0.weight", extra=("--input-size", "72"))
    expect_error(tmp, "STN: a conv declared as relu", "torchvision-resnet", dict(sd),
                 "stn.localization.0.weight",
                 extra=("--input-size", "64", "--stn-layers", "relu,maxpool/k2,relu,conv"))
    expect_error(tmp, "STN: a module the declaration does not cover", "torchvision-resnet",
                 dict(sd), "stn.localization.3.weight",
                 extra=("--input-size", "64", "--stn-layers", "conv,maxpool/k2,relu"))
    sd2 = dict(sd)
    sd2["stn.fc_loc.2.weight"] = sd2["stn.fc_loc.2.weight"][:4]
    sd2["stn.fc_loc.2.bias"] = sd2["stn.fc_loc.2.bias"][:4]
    expect_error(tmp, "STN: a regressor of 4 values", "torchvision-resnet", sd2, "6 outputs",
                 extra=("--input-size", "64"))
    sd2 = dict(sd)
    sd2["stn.localisation.0.weight"] = sd2.pop("stn.localization.0.weight")
    expect_error(tmp, "STN: a misspelt module", "torchvision-resnet", sd2,
                 "stn.localisation.0.weight", extra=("--input-size", "64"))


def test_decoder(tmp):
    """A ResNet with an encoder-decoder head under `decoder.` converts: the
    head's tensors unchanged under decoder.*, the architecture's decoder
    section inferred from the shapes (cell, attention, gate, sizes) with
    the vocabulary, start, end and max_length given; bad heads fail naming
    the key or the setting."""
    vocab = os.path.join(tmp, "vocab.txt")
    with open(vocab, "w") as f:
        f.write("<start>\n<end>\ncat\ndog\nsits\n\n")   # a blank line at the end
    for cell, att, gate, fmt in [("gru", "additive", True, "cbam-official"),
                                 ("lstm", "dot", False, "torchvision-resnet")]:
        m = small(fmt, 18)
        torch.manual_seed(3)
        m.decoder = rm.SoftAttentionDecoder(32, 5, 12, 6, 10 if att == "additive" else 0,
                                            cell, att, gate)
        ckpt, out = os.path.join(tmp, "dec.pth"), os.path.join(tmp, "dec.safetensors")
        rm.checkpoint(m, fmt, ckpt)
        code, err = run_convert(fmt, ckpt, out, "--decoder-vocab", vocab,
                                "--decoder-max-length", "9")
        what = f"{fmt} + {cell}/{att}{' gated' if gate else ''} decoder"
        case(f"{what}: converts", code == 0, err)
        if code != 0:
            continue
        tensors, meta = attn_safetensors.load(out)
        d = json.loads(meta["architecture"])["decoder"]
        want = {"cell": cell, "attention": att, "hidden": 12, "embed": 6,
                "attention_dim": 10 if att == "additive" else 0, "gate": gate,
                "vocabulary": ["<start>", "<end>", "cat", "dog", "sits"], "start": 0,
                "end": 1, "max_length": 9}
        case(f"{what}: the decoder section", d == want, json.dumps(d))
        src = m.decoder.state_dict()
        same = all(np.array_equal(tensors[f"decoder.{k}"], v.numpy()) for k, v in src.items())
        n_dec = sum(k.startswith("decoder.") for k in tensors)
        case(f"{what}: {len(src)} head tensors, equal", same and n_dec == len(src))

    m = small("timm-seresnet", 50)
    torch.manual_seed(4)
    m.decoder = rm.SoftAttentionDecoder(64, 5, 8, 4, 6, "gru", "additive", True)
    base = {k: v for k, v in m.state_dict().items()}
    extra = ("--decoder-vocab", vocab)
    expect_error(tmp, "decoder without --decoder-vocab", "timm-seresnet", dict(base),
                 "--decoder-vocab must give its tokens")
    expect_error(tmp, "--decoder-vocab without a decoder", "timm-seresnet",
                 {k: v for k, v in base.items() if not k.startswith("decoder.")},
                 "no decoder.* keys", extra=extra)
    short = os.path.join(tmp, "short.txt")
    with open(short, "w") as f:
        f.write("<start>\n<end>\ncat\n")
    expect_error(tmp, "3 tokens for a vocabulary of 5", "timm-seresnet", dict(base),
                 "3 tokens in the vocabulary", extra=("--decoder-vocab", short))
    expect_error(tmp, "start and end the same", "timm-seresnet", dict(base),
                 "both 2", extra=extra + ("--decoder-start", "2", "--decoder-end", "2"))
    expect_error(tmp, "end past the vocabulary", "timm-seresnet", dict(base),
                 "below 5", extra=extra + ("--decoder-end", "5"))
    sd = dict(base)
    del sd["decoder.att.v.weight"]
    expect_error(tmp, "decoder missing att.v", "timm-seresnet", sd, "decoder.att.v.weight",
                 extra=extra)
    sd = dict(base)
    sd["decoder.init_h.weight"] = sd["decoder.init_h.weight"][:, :32]
    expect_error(tmp, "decoder reading 32 channels of 64", "timm-seresnet", sd,
                 "decoder.init_h.weight", extra=extra)
    sd = dict(base)
    sd["decoder.cell.weight_ih"] = sd["decoder.cell.weight_ih"][:20]
    expect_error(tmp, "decoder cell neither GRU nor LSTM", "timm-seresnet", sd,
                 "decoder.cell.weight_ih", extra=extra)
    sd = dict(base)
    sd["decoder.att.w.weight"] = torch.zeros(1, 6)
    expect_error(tmp, "decoder with an unknown key", "timm-seresnet", sd,
                 "decoder.att.w.weight", extra=extra)
    sd = {("head." + k[len("decoder."):] if k.startswith("decoder.") else k): v
          for k, v in base.items()}
    code, err = run_convert("timm-seresnet", _save(tmp, sd), os.path.join(tmp, "h.safetensors"),
                            *extra, "--decoder-prefix", "head.")
    case("decoder under another prefix (--decoder-prefix head.)", code == 0, err)


def _save(tmp, sd):
    path = os.path.join(tmp, "sd.pth")
    torch.save(sd, path)
    return path


def main():
    fits = [("cbam-official", 50, {}), ("cbam-official", 18, {}),
            ("cbam-official", 34, {"attention": False}), ("timm-seresnet", 50, {}),
            ("timm-seresnet", 18, {}), ("cadene-seresnet", 50, {}),
            ("torchvision-resnet", 50, {}), ("torchvision-resnet", 18, {})]
    with tempfile.TemporaryDirectory() as tmp:
        # A real process: a bad checkpoint exits 1 naming the key.
        sd = small("timm-seresnet", 50).state_dict()
        sd["layer2.1.se.fc3.weight"] = sd.pop("layer2.1.se.fc2.weight")
        expect_error(tmp, "renamed key (as a process)", "timm-seresnet", sd,
                     "layer2.1.se.fc3.weight")
        # Every layout converts, deterministically, to the source's values.
        for fmt, depth, kw in fits:
            m = small(fmt, depth, **kw)
            ckpt = os.path.join(tmp, "ok.pth.tar")
            rm.checkpoint(m, fmt, ckpt)
            a, b = os.path.join(tmp, "a.safetensors"), os.path.join(tmp, "b.safetensors")
            code, err = run_convert(fmt, ckpt, a, "--name", "m")
            what = f"{fmt} {depth}{' plain' if kw else ''}"
            case(f"{what} converts", code == 0, err)
            if code != 0:
                continue
            if depth == 50:   # one per layout: a second run writes the same bytes
                code, err = run_convert(fmt, ckpt, b, "--name", "m")
                case(f"{what}: the same bytes twice",
                     code == 0 and open(a, "rb").read() == open(b, "rb").read(), err)
            tensors, meta = attn_safetensors.load(a)
            src = {k: v for k, v in m.state_dict().items() if "num_batches" not in k}
            mism = [k for k, v in src.items()
                    if not np.array_equal(tensors[convert.rename(fmt, k)].reshape(-1),
                                          v.numpy().reshape(-1))]
            case(f"{what}: {len(src)} source tensors, {len(tensors)} written, values equal",
                 not mism and len(src) == len(tensors), ", ".join(mism[:3]))

        base = small("timm-seresnet", 50).state_dict()

        sd = dict(base)
        sd["layer2.1.se.fc3.weight"] = sd.pop("layer2.1.se.fc2.weight")
        expect_error(tmp, "renamed key", "timm-seresnet", sd, "layer2.1.se.fc3.weight")

        sd = dict(base)
        sd["layer3.0.conv2.weight"] = torch.zeros(8, 8, 5, 5)
        expect_error(tmp, "wrong shape", "timm-seresnet", sd, "layer3.0.conv2.weight")

        sd = dict(base)
        sd["layer1.1.se.fc1.weight"] = sd["layer1.1.se.fc1.weight"][:, :, :1].expand(-1, -1, 1, 3)
        expect_error(tmp, "SE conv that is not 1x1", "timm-seresnet", sd,
                     "layer1.1.se.fc1.weight")

        sd = dict(base)
        del sd["layer4.1.bn3.running_var"]
        expect_error(tmp, "missing key", "timm-seresnet", sd, "layer4.1.bn3.running_var")

        sd = dict(base)
        del sd["layer2.0.downsample.0.weight"]
        expect_error(tmp, "missing downsample", "timm-seresnet", sd,
                     "layer2.0.downsample.0.weight")

        expect_error(tmp, "SE checkpoint read as torchvision", "torchvision-resnet",
                     dict(base), "layer1.0.se.fc1.weight")

        expect_error(tmp, "timm checkpoint read as Cadene", "cadene-seresnet", dict(base),
                     "conv1.weight")

        sd = dict(base)
        sd["layer5.0.conv1.weight"] = torch.zeros(4, 4, 1, 1)
        expect_error(tmp, "a fifth stage", "timm-seresnet", sd, "layer5.0.conv1.weight")

        sd = dict(base)
        w = sd["layer3.1.conv1.weight"].clone()
        w[0, 0, 0, 0] = math.nan
        sd["layer3.1.conv1.weight"] = w
        expect_error(tmp, "non-finite weight", "timm-seresnet", sd, "layer3.1.conv1.weight")

        cbam = small("cbam-official", 50).state_dict()
        sd = dict(cbam)
        sd["layer1.0.cbam.ChannelGate.mlp.2.weight"] = sd.pop(
            "layer1.0.cbam.ChannelGate.mlp.3.weight")
        expect_error(tmp, "official CBAM, renamed MLP key", "cbam-official", sd,
                     "module.layer1.0.cbam.ChannelGate.mlp.2.weight", wrap=True)

        sd = dict(cbam)
        del sd["layer3.2.cbam.SpatialGate.spatial.bn.running_mean"]
        expect_error(tmp, "official CBAM, missing spatial BN", "cbam-official", sd,
                     "layer3.2.cbam.SpatialGate.spatial.bn.running_mean", wrap=True)

        sd = dict(cbam)
        sd["layer2.0.cbam.SpatialGate.spatial.conv.weight"] = torch.zeros(1, 3, 7, 7)
        expect_error(tmp, "official CBAM, 3-channel spatial conv", "cbam-official", sd,
                     "layer2.0.cbam.SpatialGate.spatial.conv.weight", wrap=True)

        cad = small("cadene-seresnet", 50).state_dict()
        sd = {k: v for k, v in cad.items() if not k.startswith("layer3.2.se_module.")}
        expect_error(tmp, "Cadene block without SE", "cadene-seresnet", sd,
                     "layer3.2.se_module.fc1.weight")

        sd = dict(cad)
        sd["last_linear.weight"] = sd["last_linear.weight"][:, :-1]
        expect_error(tmp, "Cadene classifier too narrow", "cadene-seresnet", sd,
                     "last_linear.weight")

        test_stn(tmp)
        test_decoder(tmp)

        labels = os.path.join(tmp, "labels.txt")
        with open(labels, "w") as f:
            f.write("cat\ndog\n")
        expect_error(tmp, "2 labels for 3 classes", "timm-seresnet", dict(base), "2 labels",
                     extra=("--labels", labels))

    tap.finish()


if __name__ == "__main__":
    main()
