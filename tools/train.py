#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Train the default model: a small CBAM ResNet that names the shape in a
synthetic scene (none, disc, square, triangle, ring, cross) and whose spatial
attention follows the object.

Reads nothing; writes OUT (default models/default.safetensors) in the
project's model format (docs/model-format.md). Deterministic for a seed on a
given machine (CPU, torch.set_num_threads(2)). Prints the held-out accuracy.

    /usr/bin/python3 tools/train.py                 # the shipped model
    /usr/bin/python3 tools/train.py --quick         # a 1-2 minute smoke run
    /usr/bin/python3 tools/train.py --coarse --threads 1   # models/coarse.safetensors

--coarse fine-tunes the default model into the coarse model of
coarse-to-fine inference (attentioninfer patches=N): the same network on
what the coarse pass sees — squares cut from video frames, objects and
textures at the frame's pixel scale, shrunk 3× (scenes.make_coarse_image).

The spatial gates of the last two stages get an auxiliary loss towards the
object's mask (max-pooled to the gate's resolution; all zeros when there is no
object), which makes the attention sharp; what the plugin shows is still the
network's own gate output, computed from pixels alone.
"""
import argparse
import json
import multiprocessing
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import attn_safetensors  # noqa: E402
import scenes  # noqa: E402

SIZE = 128
STEM = 16
LAYERS = [2, 2, 2]
WIDTHS = [16, 32, 64]
STEM_POOL = {"kernel": 3, "stride": 2, "pad": 1, "ceil_mode": False}
MEAN, STD = 0.5, 0.25


class SpatialGate(nn.Module):
    def __init__(self, k=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, k, padding=k // 2, bias=False)
        self.bn = nn.BatchNorm2d(1)


class CBAM(nn.Module):
    """Official CBAM: Mc = σ(MLP(avg)+MLP(max)); Ms = σ(BN(conv([max, mean])))."""

    def __init__(self, c, hidden):
        super().__init__()
        self.mlp1 = nn.Linear(c, hidden)
        self.mlp2 = nn.Linear(hidden, c)
        self.spatial = SpatialGate()

    def channel_gate(self, f):
        mlp = lambda z: self.mlp2(F.relu(self.mlp1(z)))  # noqa: E731
        return torch.sigmoid(mlp(f.mean((2, 3))) + mlp(f.amax((2, 3))))

    def forward(self, f):
        mc = self.channel_gate(f)
        f1 = f * mc[:, :, None, None]
        p = torch.cat([f1.amax(1, keepdim=True), f1.mean(1, keepdim=True)], 1)
        ms = torch.sigmoid(self.spatial.bn(self.spatial.conv(p)))
        return f1 * ms, ms


class ConvBN(nn.Module):
    def __init__(self, cin, cout, k, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class Block(nn.Module):
    """Basic block, CBAM on the residual branch before + identity."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.cbam = CBAM(cout, max(cout // 8, 4))
        self.downsample = ConvBN(cin, cout, 1, stride) if stride != 1 or cin != cout else None

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out, ms = self.cbam(self.bn2(self.conv2(out)))
        idt = self.downsample(x) if self.downsample is not None else x
        return F.relu(out + idt), ms


class Net(nn.Module):
    """Stem 7x7/2 + 3x3/2 max pool, then LAYERS basic CBAM blocks per stage."""

    def __init__(self, classes):
        super().__init__()
        self.stem = ConvBN(3, STEM, 7, 2)
        cin = STEM
        for i, (n, w) in enumerate(zip(LAYERS, WIDTHS)):
            blocks = [Block(cin if b == 0 else w, w, 2 if i > 0 and b == 0 else 1) for b in range(n)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
            cin = w
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        """Logits, and every block's spatial map per stage (the last is the final map)."""
        x = F.max_pool2d(F.relu(self.stem(x)), STEM_POOL["kernel"], STEM_POOL["stride"],
                         STEM_POOL["pad"])
        maps = []
        for i in range(len(WIDTHS)):
            stage = []
            for block in getattr(self, f"layer{i + 1}"):
                x, ms = block(x)
                stage.append(ms)
            maps.append(stage)
        return self.fc(x.mean((2, 3))), maps


def to_input(imgs):
    """NHWC uint8 to normalised NCHW float, kept channels-last in memory (as the
    network's weights are: PyTorch's oneDNN convolutions run fastest so)."""
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float()
    return ((x / 255.0 - MEAN) / STD).contiguous(memory_format=torch.channels_last)


def augment(rng, imgs, masks):
    """Flips and 90° turns: none of them changes a label."""
    k = int(rng.integers(0, 4))
    imgs, masks = np.rot90(imgs, k, (1, 2)), np.rot90(masks, k, (1, 2))
    if rng.random() < 0.5:
        imgs, masks = imgs[:, :, ::-1], masks[:, :, ::-1]
    return np.ascontiguousarray(imgs), np.ascontiguousarray(masks)


# Bins of an object's size: the radius of a disc of the same area as its mask,
# as a fraction of the scene's side.
SIZE_BINS = [(0, 0.06), (0.06, 0.08), (0.08, 0.12), (0.12, 0.2), (0.2, 1)]


def evaluate(net, imgs, labels, masks, bs=256):
    """Held-out accuracy, and per class and per object size (lines for the log)."""
    net.eval()
    pred = []
    with torch.no_grad():
        for i in range(0, len(imgs), bs):
            logits, _ = net(to_input(imgs[i:i + bs]))
            pred.append(logits.argmax(1).numpy())
    net.train()
    ok = np.concatenate(pred) == labels
    per = ", ".join(f"{c} {ok[labels == k].mean():.3f}" for k, c in enumerate(scenes.CLASSES))
    radius = np.sqrt(masks.reshape(len(masks), -1).sum(1) / np.pi) / imgs.shape[1]
    by_size = []
    for lo, hi in SIZE_BINS:
        sel = (labels > 0) & (radius >= lo) & (radius < hi)
        if sel.any():
            by_size.append(f"{lo:.2f}-{hi:.2f} {ok[sel].mean():.3f} (n={sel.sum()})")
    return ok.mean(), per, ", ".join(by_size)


CHUNK = 2000


def _chunk(job):
    seq, n, size, coarse = job
    make = scenes.make_coarse_batch if coarse else scenes.make_batch
    x, y, m = make(np.random.default_rng(seq), n, size)
    return x, y, np.round(m * 255).astype(np.uint8)


def training_scenes(seed, n, size, workers, coarse=False):
    """n training scenes, drawn in chunks of CHUNK, each from its own child of
    the seed: the same scenes whatever the number of worker processes. Masks
    are kept as uint8 (0..255) to halve the memory at 128x128; chunks are
    copied into the result as they arrive, so the peak is the result plus a
    few chunks."""
    seqs = np.random.SeedSequence(seed).spawn((n + CHUNK - 1) // CHUNK)
    jobs = [(s, min(CHUNK, n - i * CHUNK), size, coarse) for i, s in enumerate(seqs)]
    x = np.empty((n, size, size, 3), np.uint8)
    y = np.empty(n, np.int64)
    m = np.empty((n, size, size), np.uint8)

    def fill(parts):
        for i, (px, py, pm) in enumerate(parts):  # in job order
            rows = slice(i * CHUNK, i * CHUNK + len(px))
            x[rows], y[rows], m[rows] = px, py, pm

    if workers > 1:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            fill(pool.imap(_chunk, jobs, chunksize=1))
    else:
        fill(map(_chunk, jobs))
    return x, y, m


def held_out(seed, size, coarse=False):
    """The 3,000 held-out scenes (their own seed, never seen in training)."""
    make = scenes.make_coarse_batch if coarse else scenes.make_batch
    return make(np.random.default_rng(seed + 1000), 3000, size)


def report(net, held):
    """The log line: held-out accuracy overall, per class and per size."""
    x, y, m = held
    acc, per, by_size = evaluate(net, x, y, m)
    return acc, f"held-out accuracy {acc:.4f} ({len(x)} scenes; {per}; objects by size: {by_size})"


def load_for_eval(path):
    """A trained file back into Net, for --evaluate."""
    tensors, meta = attn_safetensors.load(path)
    size = json.loads(meta["preprocess"])["width"]
    net = Net(len(scenes.CLASSES))
    # the file has every tensor but BatchNorm's num_batches_tracked counters;
    # anything else missing or extra is a file from another version of Net
    res = net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in tensors.items()},
                              strict=False)
    missing = [k for k in res.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or res.unexpected_keys:
        raise SystemExit(f"{path}: not this version's network ({len(missing)} tensors "
                         f"missing, {len(res.unexpected_keys)} unexpected)")
    return net, size


def export(net, path, acc, seed, size, name="attention-shapes-cbam", how=""):
    net.eval()
    tensors = {k: v.detach().contiguous().numpy().astype(np.float32)
               for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    arch = {"family": "resnet", "block": "basic", "layers": LAYERS,
            "widths": WIDTHS, "stem_width": STEM, "stem_pool": STEM_POOL, "stride_on": "3x3",
            "attention": "cbam", "spatial_kernel": 7, "num_classes": len(scenes.CLASSES),
            "bn_eps": 1e-5, "stn": None}
    pre = {"width": size, "height": size, "color": "RGB", "mean": [MEAN] * 3,
           "std": [STD] * 3, "scale": 255, "resize": "stretch"}
    meta = {"format": "gst-attention-model", "format_version": "1",
            "name": name, "architecture": json.dumps(arch),
            "labels": json.dumps(scenes.CLASSES), "preprocess": json.dumps(pre),
            "source": f"trained by tools/train.py{how} seed {seed}, held-out accuracy {acc:.4f}"}
    attn_safetensors.save(path, tensors, meta)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "models",
                                                  "default.safetensors"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--train-images", type=int, default=100000)
    ap.add_argument("--steps", type=int, default=22000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--input-size", type=int, default=SIZE,
                    help=f"square input of the network (default {SIZE})")
    ap.add_argument("--threads", type=int, default=2,
                    help="torch threads and scene-drawing processes; the result is "
                    "deterministic for a given count (default 2)")
    ap.add_argument("--quick", action="store_true", help="a 1-2 minute smoke run")
    ap.add_argument("--coarse", action="store_true",
                    help="fine-tune INIT into the coarse-to-fine coarse model "
                    "(default OUT models/coarse.safetensors)")
    ap.add_argument("--init", metavar="MODEL",
                    help="start from this model's weights (--coarse: models/default.safetensors)")
    ap.add_argument("--evaluate", metavar="MODEL",
                    help="do not train: print MODEL's accuracy on the held-out scenes")
    args = ap.parse_args()
    models_dir = os.path.join(os.path.dirname(__file__), "..", "models")
    lr = 3e-3
    if args.coarse:
        if args.out == ap.get_default("out"):
            args.out = os.path.join(models_dir, "coarse.safetensors")
        if args.train_images == ap.get_default("train_images"):
            args.train_images = 12000
        if args.steps == ap.get_default("steps"):
            args.steps = 1500
        args.init = args.init or os.path.join(models_dir, "default.safetensors")
        lr = 1e-3
    if args.evaluate:
        torch.set_num_threads(args.threads)
        net, size = load_for_eval(args.evaluate)
        print(report(net, held_out(args.seed, size, args.coarse))[1])
        return
    if args.quick:
        args.train_images, args.steps = 2000, 150

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    size = args.input_size
    rng = np.random.default_rng(args.seed)  # batches and augmentation
    t0 = time.time()
    tr_x, tr_y, tr_m = training_scenes(args.seed, args.train_images, size, args.threads,
                                       args.coarse)
    held = held_out(args.seed, size, args.coarse)
    print(f"generated {len(tr_x)} training and {len(held[0])} held-out scenes "
          f"in {time.time() - t0:.0f} s", flush=True)

    if args.init:
        net, init_size = load_for_eval(args.init)
        if init_size != size:
            raise SystemExit(f"{args.init}: input {init_size}, not {size}")
        print(f"from {args.init}: {report(net, held)[1]}", flush=True)
        net.train()
        net = net.to(memory_format=torch.channels_last)
    else:
        net = Net(len(scenes.CLASSES)).to(memory_format=torch.channels_last)
    params = sum(p.numel() for p in net.parameters())
    print(f"{params} parameters", flush=True)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=args.steps,
                                                pct_start=0.15)
    t1 = tlast = time.time()
    last = -1  # the step of the previous log line
    for step in range(args.steps):
        idx = rng.integers(0, len(tr_x), args.batch)
        imgs, masks = augment(rng, tr_x[idx], tr_m[idx])
        logits, maps = net(to_input(imgs))
        loss = F.cross_entropy(logits, torch.from_numpy(tr_y[idx]))
        m = torch.from_numpy(masks)[:, None].float() / 255
        for stage in maps[-2:]:
            target = F.adaptive_max_pool2d(m, stage[0].shape[-2:])  # one size per stage
            for ms in stage:
                loss = loss + 0.5 / len(stage) * F.binary_cross_entropy(ms, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 250 == 0 or step == args.steps - 1:
            now = time.time()
            print(f"step {step}/{args.steps} loss {loss.item():.4f} "
                  f"{(now - tlast) / (step - last):.3f} s/step lately, "
                  f"{(now - t1) / (step + 1):.3f} on average", flush=True)
            tlast, last = now, step
    acc, line = report(net, held)
    print(f"{line}; training took {(time.time() - t0) / 60:.1f} min", flush=True)
    if args.coarse:
        export(net, args.out, acc, args.seed, size, "attention-shapes-coarse",
               f" --coarse (from {os.path.basename(args.init)})")
    else:
        export(net, args.out, acc, args.seed, size)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
