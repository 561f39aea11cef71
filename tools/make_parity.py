#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""PyTorch parity fixtures for tools/convert.py and the C forward pass.

    /usr/bin/python3 tools/make_parity.py                # the committed fixtures
    /usr/bin/python3 tools/make_parity.py --full [--out DIR] [--runner PROG]

For each case below: builds the reference model with its source's exact key
layout and forward pass (tools/reference_models.py) — reduced widths but the
real depth structure, random weights AND random BatchNorm statistics — saves
its checkpoint the way that source does (official CBAM: {'state_dict':
{'module.' + key: ...}} in a .pth.tar; the others a plain state dict), runs
the real tools/convert.py CLI on it, and runs the reference forward in eval
mode on a seeded random input of a non-square size. It then re-runs the
network from the converted file alone with PyTorch functional ops (checking
the converter and the format's semantics before any C is involved) and
writes to tests/models/parity/:
  NAME.safetensors     the converted model
  NAME.io.safetensors  input (1,3,H,W), logits (1,classes), and for every
                       gate map.layerL.B (H,W) (CBAM Ms) and channel.layerL.B
                       (C,) (CBAM Mc, SE s), hooked from the reference
                       model's sigmoids; __metadata__ model, height, width,
                       generator.
One more fixture, default-model.io.safetensors, is the shipped
models/default.safetensors run by tools/train.py's own network (its forward,
its gates hooked) on one synthetic scene; its "model" names that file by a
relative path, so a retrained default model must come with a re-run of this.
stn-model.io.safetensors is the same for models/stn.safetensors (with its
theta; `--only stn-model`). The STN cases above (NAME-stn) have a Spatial
Transformer front end, converted with --stn-layers; their fixtures hold
theta too. The decoder cases (NAME-decoder) have an encoder–decoder
soft-attention head (reference_models.SoftAttentionDecoder under `decoder.`
on the last block's output), converted with --decoder-vocab/-start/-end/
-max-length; their fixtures hold the greedy run: decoder.tokens (int64, up
to and including the end token) and, for each of its steps t,
decoder.step.T.logits (V) and decoder.step.T.alpha (h·w, row-major). The
end token is the first one the head emits that it had not emitted before
(from its second step on), so decoding stops before max_length (or, for a head that repeats one token, one it never emits:
it runs to max_length).
tests/models/test_parity.c runs each NAME through our C forward pass.

--full builds every case at full ImageNet width (64·2^s), 1000 classes and a
224×224 input into DIR (default: a temporary directory, removed afterwards;
nothing there is committed), and with --runner runs that C program
(build/tests/models/test_parity) on DIR and prints its per-output maximum
errors. Fixture generation is deterministic for a given torch version.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import attn_safetensors  # noqa: E402
import reference_models as rm  # noqa: E402

FIXTURES = os.path.join(HERE, "..", "tests", "models", "parity")

# name, format, depth, reduced widths, classes, (H, W), extra build options.
# Sizes: non-square, odd ones, and ones where the Cadene ceil-mode pool gives
# one more row/column than floor mode (stem output 24×34: 12×17, not 11×16).
CASES = [
    ("resnet18-cbam", "cbam-official", 18, [16, 16, 32, 40], 10, (64, 80), {}),
    ("resnet50-cbam", "cbam-official", 50, [8, 8, 16, 24], 7, (75, 61), {}),
    ("seresnet50-timm", "timm-seresnet", 50, [4, 8, 16, 24], 5, (56, 72), {}),
    ("se-resnet50-cadene", "cadene-seresnet", 50, [8, 8, 16, 24], 6, (48, 68), {}),
    ("resnet18-torchvision", "torchvision-resnet", 18, [8, 16, 16, 32], 9, (72, 56), {}),
    ("seresnet18-timm", "timm-seresnet", 18, [8, 8, 16, 24], 4, (57, 71), {}),
    # 23 blocks in a stage, and a stem wider than stage 1 (a stage-1 downsample)
    ("resnet101-torchvision", "torchvision-resnet", 101, [4, 4, 8, 8], 3, (64, 48),
     {"stem_width": 12}),
    # ResidualNet(..., att_type=None): the official code without attention
    ("resnet34-official-plain", "cbam-official", 34, [8, 8, 16, 16], 5, (49, 66),
     {"attention": False}),
    # Spatial Transformer front ends (tools/convert.py --stn-layers): one
    # with a global pool (any size: non-square here), strides and padding;
    # one in the PyTorch tutorial's layout (flattened: a square, fixed size)
    # with align_corners=True
    ("resnet18-cbam-stn", "cbam-official", 18, [16, 16, 32, 40], 6, (60, 76),
     {"stn": "gap"}),
    ("resnet18-torchvision-stn", "torchvision-resnet", 18, [8, 16, 16, 32], 5, (64, 64),
     {"stn": "tutorial"}),
    # encoder–decoder heads (tools/convert.py --decoder-*): cell, attention,
    # gate, hidden, embed, attention_dim, vocabulary size, max_length
    ("resnet18-cbam-decoder", "cbam-official", 18, [16, 16, 32, 40], 6, (96, 128),
     {"decoder": ("gru", "additive", True, 24, 8, 16, 11, 6)}),
    ("seresnet50-timm-decoder", "timm-seresnet", 50, [4, 8, 16, 24], 5, (100, 68),
     {"decoder": ("lstm", "dot", False, 20, 6, 0, 9, 7)}),
]
FULL_WIDTHS = [64, 128, 256, 512]
# an off-identity theta (zoom, shear, shift) for the STN cases' regressor bias
STN_THETA_BIAS = [0.8, 0.15, 0.1, -0.1, 0.7, -0.2]


def stn_modules(kind, size):
    """(localization, fc_loc, align_corners) of an STN case at a size×size
    input (the flattened one's first Linear depends on it)."""
    import torch.nn as nn
    if kind == "gap":
        loc = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(3, 8, 5, stride=2, padding=2),
                            nn.ReLU(True), nn.MaxPool2d(3, 2, 1), nn.Conv2d(8, 12, 3, padding=1),
                            nn.ReLU(True), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        fc = nn.Sequential(nn.Linear(12, 16), nn.ReLU(True), nn.Linear(16, 6))
        return loc, fc, False
    # the tutorial's (three input channels), flattened: 10x12x12 at 64x64
    loc = nn.Sequential(nn.Conv2d(3, 8, 7), nn.MaxPool2d(2, stride=2), nn.ReLU(True),
                        nn.Conv2d(8, 10, 5), nn.MaxPool2d(2, stride=2), nn.ReLU(True))
    n = ((size - 6) // 2 - 4) // 2
    fc = nn.Sequential(nn.Linear(10 * n * n, 32), nn.ReLU(True), nn.Linear(32, 6))
    return loc, fc, True


def build_case_model(fmt, depth, widths, classes, opts, seed, size):
    """The reference model of a case (random weights; an STN front end, with
    an off-identity theta, when opts has "stn"), and the extra convert.py
    arguments it needs."""
    import convert
    opts = dict(opts)
    stn = opts.pop("stn", None)
    dec = opts.pop("decoder", None)
    model = rm.build(fmt, depth, widths=widths, classes=classes, **opts)
    extra = []
    if stn:
        loc, fc, align = stn_modules(stn, size)
        rm.add_stn(model, loc, fc, align)
    model = rm.randomize(model, seed=seed)
    if stn:
        with torch.no_grad():
            last = model.stn.fc_loc[-1]
            last.weight.mul_(0.05)      # theta near the bias, off the identity
            last.bias.copy_(torch.tensor(STN_THETA_BIAS))
        layers, fcs = convert.stn_layers_from_module(model.stn)
        extra = ["--stn-layers", layers, "--stn-fc", fcs]
        if align:
            extra.append("--stn-align-corners")
    if dec:
        cell, att, gate, hidden, embed, att_dim, vocab, _ = dec
        d = widths[-1] * (4 if depth >= 50 else 1)
        torch.manual_seed(seed)
        model.decoder = rm.SoftAttentionDecoder(d, vocab, hidden, embed, att_dim, cell, att,
                                                gate).eval()
        with torch.no_grad():
            # the previous token weighs more than PyTorch's default init
            # gives it, so that the greedy sentence varies (a random head
            # otherwise repeats one token)
            model.decoder.embed.weight.mul_(4)
            model.decoder.cell.weight_ih.mul_(3)
    return model, extra
DEFAULT_MODEL = os.path.join(HERE, "..", "models", "default.safetensors")
STN_MODEL = os.path.join(HERE, "..", "models", "stn.safetensors")


def forward_converted(tensors, arch, x, tap=None, theta_out=None):
    """Runs our model format with PyTorch functional ops, from the converted
    tensors and the architecture metadata only: (logits, {gate: {...}}).
    tap(name, y), if given, sees each block's input and returns what the
    block runs on (tools/make_saliency_goldens.py differentiates there).
    With an STN, theta_out (a list), if given, gets image 0's theta (6)."""
    t = {k: torch.from_numpy(v.copy()) for k, v in tensors.items()}
    eps = arch["bn_eps"]
    if arch.get("stn"):
        z = x
        for i, layer in enumerate(arch["stn"]["layers"]):
            kind = layer["type"]
            if kind == "conv":
                z = F.conv2d(z, t[f"stn.{i}.weight"], t[f"stn.{i}.bias"], layer.get("stride", 1),
                             layer.get("pad", 0))
            elif kind in ("maxpool", "avgpool"):
                pool = F.max_pool2d if kind == "maxpool" else F.avg_pool2d
                z = pool(z, layer["kernel"], layer.get("stride", layer["kernel"]),
                         layer.get("pad", 0))
            elif kind == "relu":
                z = F.relu(z)
            elif kind == "gap":
                z = z.mean((2, 3))
            else:
                z = F.linear(z.reshape(z.size(0), -1), t[f"stn.{i}.weight"], t[f"stn.{i}.bias"])
        theta = z.view(-1, 2, 3)
        ac = arch["stn"].get("align_corners", False)
        grid = F.affine_grid(theta, list(x.shape), align_corners=ac)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=ac)
        if theta_out is not None:
            theta_out.append(theta[0].reshape(-1))

    def bn(y, name):
        return F.batch_norm(y, t[name + ".running_mean"], t[name + ".running_var"],
                            t[name + ".weight"], t[name + ".bias"], False, 0.0, eps)

    def lin(z, name):
        return F.linear(z, t[name + ".weight"], t[name + ".bias"])

    y = F.conv2d(x, t["stem.conv.weight"], stride=2, padding=3)
    y = F.relu(bn(y, "stem.bn"))
    p = arch["stem_pool"]
    if p:
        y = F.max_pool2d(y, p["kernel"], p["stride"], p["pad"], ceil_mode=p["ceil_mode"])
    bott = arch["block"] == "bottleneck"
    gates = {}
    for s, n in enumerate(arch["layers"]):
        for b in range(n):
            pre = f"layer{s + 1}.{b}"
            if tap:
                y = tap(pre, y)
            stride = 2 if s > 0 and b == 0 else 1
            s1, s3 = ((stride, 1) if arch.get("stride_on") == "1x1" else (1, stride))
            if bott:
                o = F.relu(bn(F.conv2d(y, t[pre + ".conv1.weight"], stride=s1), pre + ".bn1"))
                o = F.relu(bn(F.conv2d(o, t[pre + ".conv2.weight"], stride=s3, padding=1),
                              pre + ".bn2"))
                o = bn(F.conv2d(o, t[pre + ".conv3.weight"]), pre + ".bn3")
            else:
                o = F.relu(bn(F.conv2d(y, t[pre + ".conv1.weight"], stride=stride, padding=1),
                              pre + ".bn1"))
                o = bn(F.conv2d(o, t[pre + ".conv2.weight"], padding=1), pre + ".bn2")
            if arch["attention"] == "se":
                sc = torch.sigmoid(lin(F.relu(lin(o.mean((2, 3)), pre + ".se.fc1")),
                                       pre + ".se.fc2"))
                o = o * sc[:, :, None, None]
                gates[pre] = {"channel": sc[0]}
            elif arch["attention"] == "cbam":
                def mlp(z):
                    return lin(F.relu(lin(z, pre + ".cbam.mlp1")), pre + ".cbam.mlp2")
                mc = torch.sigmoid(mlp(o.mean((2, 3))) + mlp(o.amax((2, 3))))
                o = o * mc[:, :, None, None]
                pooled = torch.cat((o.amax(1, keepdim=True), o.mean(1, keepdim=True)), 1)
                k = arch["spatial_kernel"]
                ms = torch.sigmoid(bn(F.conv2d(pooled, t[pre + ".cbam.spatial.conv.weight"],
                                               padding=k // 2), pre + ".cbam.spatial.bn"))
                o = o * ms
                gates[pre] = {"channel": mc[0], "map": ms[0, 0]}
            if pre + ".downsample.conv.weight" in t:
                idt = bn(F.conv2d(y, t[pre + ".downsample.conv.weight"], stride=stride),
                         pre + ".downsample.bn")
            else:
                idt = y
            y = F.relu(o + idt)
    return F.linear(y.mean((2, 3)), t["fc.weight"], t["fc.bias"]), gates


def write_io(out, name, x, logits, gates, model, h, w, theta=None):
    """NAME.io.safetensors: the input, the logits, every hooked gate and, for
    a model with an STN, theta (6)."""
    io = {"input": x.numpy(), "logits": logits.numpy()}
    if theta is not None:
        io["theta"] = theta.numpy().reshape(6)
    for g, v in gates.items():
        if "map" in v:
            io[f"map.{g}"] = v["map"].numpy()
        io[f"channel.{g}"] = v["channel"].numpy()
    attn_safetensors.save(os.path.join(out, f"{name}.io.safetensors"), io,
                          {"model": model, "height": str(h), "width": str(w),
                           "generator": f"tools/make_parity.py torch {torch.__version__}"})


def max_rel_err(got, ref):
    return ((got - ref).abs().max() / max(1.0, ref.abs().max().item())).item()


def make_case(i, case, out, full, tmp):
    name, fmt, depth, widths, classes, (h, w), opts = case
    opts = dict(opts)
    if full:
        widths, classes, (h, w) = FULL_WIDTHS, 1000, (224, 224)
        opts.pop("stem_width", None)
    model, extra = build_case_model(fmt, depth, widths, classes, opts, 1000 + i, max(h, w))
    gates = rm.capture_gates(model)
    ckpt = os.path.join(tmp, f"{name}.pth.tar" if fmt == "cbam-official" else f"{name}.pth")
    rm.checkpoint(model, fmt, ckpt)
    x = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(i)) * 4 - 2
    dec = opts.get("decoder")
    if dec:
        # the head reads the last residual block's output
        feats = []
        model.layer4[-1].register_forward_hook(lambda m, inp, outp: feats.append(outp))
    with torch.no_grad():
        logits = model(x)
    if dec:
        max_length = dec[7]
        with torch.no_grad():
            never, _ = model.decoder(feats[0], 0, -1, max_length)
            seq = never[0].argmax(1).tolist()
            # the first token it emits at a step k >= 1 and not before, so
            # decoding stops after k + 1 tokens; a head that repeats itself
            # gets an end token it never emits (it runs to max_length)
            ks = [k for k in range(1, max_length) if seq[k] not in seq[:k] and seq[k] != 0]
            end = seq[ks[0]] if ks else next(t for t in range(1, dec[6]) if t not in seq)
            dec_logits, dec_alpha = model.decoder(feats[0], 0, end, max_length)
        tokens = rm.greedy_sequence(dec_logits, end)
        vocab = os.path.join(tmp, f"{name}.vocab")
        with open(vocab, "w") as f:
            f.write("".join(f"word{t}\n" for t in range(dec[6])))
        extra = extra + ["--decoder-vocab", vocab, "--decoder-start", "0", "--decoder-end",
                         str(end), "--decoder-max-length", str(max_length)]

    model_path = os.path.join(out, f"{name}.safetensors")
    cmd = [sys.executable, os.path.join(HERE, "convert.py"), "--from", fmt, ckpt, model_path,
           "--name", name, "--input-size", str(max(h, w)), *extra]
    if i == 0:   # one case goes through --labels
        labels = os.path.join(tmp, "labels.txt")
        with open(labels, "w") as f:
            f.write("".join(f"label {c}\n" for c in range(classes)))
        cmd += ["--labels", labels]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    # The converted file alone must reproduce the reference.
    tensors, meta = attn_safetensors.load(model_path)
    arch = json.loads(meta["architecture"])
    theta2 = []
    with torch.no_grad():
        logits2, gates2 = forward_converted(tensors, arch, x, theta_out=theta2)
    errs = [max_rel_err(logits2, logits)]
    theta = model.stn.theta if hasattr(model, "stn") else None
    if (theta is None) != (not theta2):
        raise SystemExit(f"{name}: the converted model's STN differs from the reference's")
    if theta is not None:
        errs.append(max_rel_err(theta2[0], theta))
    if list(gates2) != list(gates):
        raise SystemExit(f"{name}: converted gates {list(gates2)} != reference {list(gates)}")
    for g, v in gates.items():
        errs += [max_rel_err(gates2[g][k], v[k]) for k in v]
    if dec:
        # the head's tensors, renamed by nothing, and its declared shape
        for k, v in model.decoder.state_dict().items():
            if not torch.equal(torch.tensor(tensors[f"decoder.{k}"]), v):
                raise SystemExit(f"{name}: decoder.{k} differs after conversion")
        want = {"cell": dec[0], "attention": dec[1], "gate": dec[2], "hidden": dec[3],
                "embed": dec[4], "attention_dim": dec[5], "start": 0, "end": end,
                "max_length": dec[7]}
        got = {k: arch["decoder"][k] for k in want}
        if got != want or len(arch["decoder"]["vocabulary"]) != dec[6]:
            raise SystemExit(f"{name}: converted decoder {got} != {want}")
    if max(errs) > 1e-5:
        raise SystemExit(f"{name}: the converted model differs from the reference by "
                         f"{max(errs):.3g} (relative): convert.py is wrong")

    write_io(out, name, x, logits, gates, f"{name}.safetensors", h, w, theta)
    if dec:
        io_path = os.path.join(out, f"{name}.io.safetensors")
        io, io_meta = attn_safetensors.load(io_path)
        io["decoder.tokens"] = torch.tensor(tokens, dtype=torch.int64).numpy()
        for t in range(len(tokens)):
            io[f"decoder.step.{t}.logits"] = dec_logits[0, t].numpy()
            io[f"decoder.step.{t}.alpha"] = dec_alpha[0, t].numpy()
        attn_safetensors.save(io_path, io, io_meta)
    n_maps = sum("map" in v for v in gates.values())
    print(f"{name}: {fmt} {arch['block']} {arch['layers']} widths {arch['widths']} "
          f"stem {arch['stem_width']}, {h}x{w}, {len(gates)} gates ({n_maps} maps), "
          + (f"an STN ({len(arch['stn']['layers'])} layers, theta "
             f"{[round(v, 3) for v in theta.tolist()]}), " if theta is not None else "")
          + (f"a {dec[0]}/{dec[1]} decoder saying {tokens} (end {end}), " if dec else "")
          + f"logits max {logits.abs().max():.3f}, converted-file error {max(errs):.2g}")


def make_default_case(out):
    """The shipped default model through tools/train.py's own network on one
    of its synthetic scenes: guards the C forward pass on the real weights.
    The fixture names the model by a path relative to OUT, so replacing
    models/default.safetensors without re-running this fails the C test."""
    import numpy as np
    import scenes
    import train
    net, size = train.load_for_eval(DEFAULT_MODEL)
    net.eval()
    gates = {}
    for name, mod in net.named_modules():
        if isinstance(mod, train.CBAM):
            def hook(mod, inp, outp, g=name[:-len(".cbam")]):
                gates[g] = {"channel": mod.channel_gate(inp[0])[0], "map": outp[1][0, 0]}
            mod.register_forward_hook(hook)
    # a held-out-style scene (its own seed) that holds an object
    rng = np.random.default_rng(77)
    while True:
        img, label, _ = scenes.make_image(rng, size)
        if label:
            break
    x = train.to_input(img[None]).contiguous()
    with torch.no_grad():
        logits, _ = net(x)
    write_io(out, "default-model", x, logits, gates, os.path.relpath(DEFAULT_MODEL, out),
             size, size)
    print(f"default-model: {scenes.CLASSES[label]} scene, {size}x{size}, {len(gates)} gates, "
          f"top-1 {scenes.CLASSES[int(logits.argmax())]}")


def make_stn_model_case(out):
    """The shipped STN model (models/stn.safetensors) through tools/train.py's
    own network on one scene of its "stn" variant: logits, gates and theta.
    Like default-model, a retrained file needs a re-run of this."""
    import numpy as np
    import scenes
    import train
    net, size = train.load_for_eval(STN_MODEL)
    net.eval()
    gates = {}
    for name, mod in net.named_modules():
        if isinstance(mod, train.CBAM):
            def hook(mod, inp, outp, g=name[:-len(".cbam")]):
                gates[g] = {"channel": mod.channel_gate(inp[0])[0], "map": outp[1][0, 0]}
            mod.register_forward_hook(hook)
    rng = np.random.default_rng(78)
    while True:
        img, label, _, _ = scenes.make_image_stn(rng, size)
        if label:
            break
    x = train.to_input(img[None]).contiguous()
    with torch.no_grad():
        logits, _ = net(x)
    theta = net.theta[0].reshape(-1)
    write_io(out, "stn-model", x, logits, gates, os.path.relpath(STN_MODEL, out), size, size,
             theta)
    print(f"stn-model: {scenes.CLASSES[label]} scene, {size}x{size}, {len(gates)} gates, "
          f"top-1 {scenes.CLASSES[int(logits.argmax())]}, theta "
          f"{[round(v, 3) for v in theta.tolist()]}")


def main():
    ap = argparse.ArgumentParser(description="Writes the PyTorch parity fixtures.")
    ap.add_argument("--full", action="store_true",
                    help="full width, 1000 classes, 224x224, into --out or a temp dir")
    ap.add_argument("--out", help="output directory (default: tests/models/parity, or a "
                                  "temporary one with --full)")
    ap.add_argument("--runner", help="with --full: the C parity test program to run on it")
    ap.add_argument("--only", help="regular expression: cases to make")
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)))
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or (os.path.join(tmp, "full") if args.full else FIXTURES)
        os.makedirs(out, exist_ok=True)
        for i, case in enumerate(CASES):
            if args.only and not re.search(args.only, case[0]):
                continue
            make_case(i, case, out, args.full, tmp)
        if not args.full and (not args.only or re.search(args.only, "default-model")):
            make_default_case(out)
        if not args.full and os.path.exists(STN_MODEL) \
                and (not args.only or re.search(args.only, "stn-model")):
            make_stn_model_case(out)
        if not args.full:
            total = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
            print(f"{out}: {total / 1e6:.2f} MB")
        if args.runner:
            r = subprocess.run([args.runner, out], capture_output=True, text=True)
            fails = [ln for ln in r.stdout.splitlines() if ln.startswith("not ok")]
            worst = [ln for ln in r.stdout.splitlines() if "max |err|" in ln]
            print("\n".join(worst))
            print(f"{args.runner}: exit {r.returncode}, {len(fails)} failing outputs")
            for ln in fails:
                print(ln)
            if r.returncode:
                sys.exit(1)


if __name__ == "__main__":
    main()
