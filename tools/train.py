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
    /usr/bin/python3 tools/train.py --stn           # models/stn.safetensors
    /usr/bin/python3 tools/train.py --describe      # models/describe.safetensors

--coarse fine-tunes the default model into the coarse model of
coarse-to-fine inference (attentioninfer patches=N): the same network on
what the coarse pass sees — squares cut from video frames, objects and
textures at the frame's pixel scale, shrunk 3× (scenes.make_coarse_image).

The spatial gates of the last two stages get an auxiliary loss towards the
object's mask (max-pooled to the gate's resolution; all zeros when there is no
object), which makes the attention sharp; what the plugin shows is still the
network's own gate output, computed from pixels alone.

--describe trains the describe model (tools/train_describe.py,
docs/describe-model.md): the default model with an encoder-decoder
soft-attention head that names a scene's one to three shapes left to right.

--stn trains the STN model (docs/stn-model.md): the same network behind a
Spatial Transformer whose localisation net is expressible in the model
format, started from the default model's weights, on scenes whose one object
is off-centre and small to medium; theta gets an auxiliary loss towards a
window around the object. What the plugin shows is the network's own theta.
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


def stn_layers(size):
    """The STN model's localisation net (docs/model-format.md's `stn` layers)
    for a square input of `size`: a 2x2 average pool, two small conv + ReLU +
    max pool stages (size/16 left), a conv whose kernel spans all of that
    (size // 16: it sees where the object is, which a global pool alone would
    average away), the global average pool (1x1 at the trained size; other
    sizes still run) and two linear layers to theta."""
    return [{"type": "avgpool", "kernel": 2, "stride": 2, "pad": 0},
            {"type": "conv", "out": 16, "kernel": 5, "stride": 2, "pad": 2},
            {"type": "relu"},
            {"type": "maxpool", "kernel": 2, "stride": 2, "pad": 0},
            {"type": "conv", "out": 32, "kernel": 3, "stride": 1, "pad": 1},
            {"type": "relu"},
            {"type": "maxpool", "kernel": 2, "stride": 2, "pad": 0},
            {"type": "conv", "out": 64, "kernel": max(1, size // 16), "stride": 1, "pad": 0},
            {"type": "relu"},
            {"type": "gap"},
            {"type": "linear", "out": 32},
            {"type": "relu"},
            {"type": "linear", "out": 6}]


IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


class Gap(nn.Module):
    def forward(self, x):
        return x.mean((2, 3))


class Localiser(nn.Sequential):
    """A `stn` layer list as PyTorch modules, module i being layer i (so its
    weights are stn.{i}.weight/bias, as the model format names them); a
    linear layer flattens a feature map (C, H, W) first. The last layer starts
    at the identity theta (weight 0, bias 1 0 0 0 1 0)."""

    def __init__(self, spec, bn=False):
        mods, c = [], 3
        for layer in spec:
            t = layer["type"]
            if t == "conv":
                conv = nn.Conv2d(c, layer["out"], layer["kernel"], layer.get("stride", 1),
                                 layer.get("pad", 0))
                # bn: trained with BatchNorm after each conv, folded into the
                # conv for the file (fold()), which has none
                mods.append(nn.Sequential(conv, nn.BatchNorm2d(layer["out"])) if bn else conv)
                c = layer["out"]
            elif t in ("maxpool", "avgpool"):
                pool = nn.MaxPool2d if t == "maxpool" else nn.AvgPool2d
                mods.append(pool(layer["kernel"], layer.get("stride", layer["kernel"]),
                                 layer.get("pad", 0)))
            elif t == "relu":
                mods.append(nn.ReLU())
            elif t == "gap":
                mods.append(Gap())
            elif t == "linear":
                # in-features: c after a gap or a linear; a flattened map needs
                # the size, so this localiser only supports linears after gap
                mods.append(nn.Linear(c, layer["out"]))
                c = layer["out"]
            else:
                raise ValueError(t)
        super().__init__(*mods)
        with torch.no_grad():
            mods[-1].weight.zero_()
            mods[-1].bias.copy_(torch.tensor(IDENTITY))

    def folded(self, spec):
        """This localiser with every BatchNorm folded into its conv, as a
        plain Localiser (eval mode statistics; the file's form)."""
        out = Localiser(spec)
        with torch.no_grad():
            for a, b in zip(self, out):
                if isinstance(a, nn.Sequential):
                    conv, bn = a
                    k = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                    b.weight.copy_(conv.weight * k[:, None, None, None])
                    b.bias.copy_((conv.bias - bn.running_mean) * k + bn.bias)
                elif isinstance(a, (nn.Conv2d, nn.Linear)):
                    b.load_state_dict(a.state_dict())
        return out

    def forward(self, x):
        for m in self:
            if isinstance(m, nn.Linear) and x.dim() > 2:
                x = x.flatten(1)
            x = m(x)
        return x


class Net(nn.Module):
    """Stem 7x7/2 + 3x3/2 max pool, then LAYERS basic CBAM blocks per stage;
    with `stn` (a layer list, stn_layers()), a Spatial Transformer in front:
    theta = localiser(x) as 2x3, then affine_grid + bilinear grid_sample
    (zeros padding, align_corners=False) warp x to its own size."""

    def __init__(self, classes, stn=None, stn_bn=False):
        super().__init__()
        self.stn = Localiser(stn, stn_bn) if stn else None
        self.theta = self.grid = None   # the last forward's, with an STN
        # training only: the fraction of the backbone's gradient that reaches
        # theta (the warp); the forward value is theta's either way
        self.warp_grad = 1.0
        self.stem = ConvBN(3, STEM, 7, 2)
        cin = STEM
        for i, (n, w) in enumerate(zip(LAYERS, WIDTHS)):
            blocks = [Block(cin if b == 0 else w, w, 2 if i > 0 and b == 0 else 1) for b in range(n)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
            cin = w
        self.fc = nn.Linear(cin, classes)

    def forward(self, x, identity=False):
        """Logits, and every block's spatial map per stage (the last is the
        final map). With an STN, theta and the sampling grid are kept in
        self.theta and self.grid; identity=True forces theta to the identity
        (the network without its transformer)."""
        if self.stn is not None:
            if identity:
                theta = x.new_tensor(IDENTITY).view(1, 2, 3).expand(len(x), 2, 3)
            else:
                theta = self.stn(x).view(-1, 2, 3)
            warp = theta
            if self.warp_grad != 1.0 and self.training:
                k = self.warp_grad
                warp = theta * k + theta.detach() * (1 - k)
            grid = F.affine_grid(warp, list(x.shape), align_corners=False)
            x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros",
                              align_corners=False)
            self.theta, self.grid = theta, grid
        x = F.max_pool2d(F.relu(self.stem(x)), STEM_POOL["kernel"], STEM_POOL["stride"],
                         STEM_POOL["pad"])
        maps = []
        for i in range(len(WIDTHS)):
            stage = []
            for block in getattr(self, f"layer{i + 1}"):
                x, ms = block(x)
                stage.append(ms)
            maps.append(stage)
        self.last = x                   # the last block's output (the decoder's input)
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
    return summarise(np.concatenate(pred) == labels, labels, masks, imgs.shape[1])


def summarise(ok, labels, masks, size):
    """(accuracy, per class, per object size) of the hits `ok`."""
    per = ", ".join(f"{c} {ok[labels == k].mean():.3f}" for k, c in enumerate(scenes.CLASSES))
    radius = np.sqrt(masks.reshape(len(masks), -1).sum(1) / np.pi) / size
    by_size = []
    for lo, hi in SIZE_BINS:
        sel = (labels > 0) & (radius >= lo) & (radius < hi)
        if sel.any():
            by_size.append(f"{lo:.2f}-{hi:.2f} {ok[sel].mean():.3f} (n={sel.sum()})")
    return ok.mean(), per, ", ".join(by_size)


CHUNK = 2000


def _chunk(job):
    seq, n, size, kind = job
    rng = np.random.default_rng(seq)
    if kind == "stn":
        x, y, m, g = scenes.make_batch_stn(rng, n, size)
        return x, y, np.round(m * 255).astype(np.uint8), g
    make = scenes.make_coarse_batch if kind == "coarse" else scenes.make_batch
    x, y, m = make(rng, n, size)
    return x, y, np.round(m * 255).astype(np.uint8)


def training_scenes(seed, n, size, workers, stn=False, coarse=False):
    """n training scenes, drawn in chunks of CHUNK, each from its own child of
    the seed: the same scenes whatever the number of worker processes. Masks
    are kept as uint8 (0..255) to halve the memory at 128x128; chunks are
    copied into the result as they arrive, so the peak is the result plus a
    few chunks. stn=True draws the "stn" variant (scenes.make_batch_stn) and
    returns the objects' geometry too."""
    seqs = np.random.SeedSequence(seed).spawn((n + CHUNK - 1) // CHUNK)
    kind = "stn" if stn else "coarse" if coarse else "default"
    jobs = [(s, min(CHUNK, n - i * CHUNK), size, kind) for i, s in enumerate(seqs)]
    x = np.empty((n, size, size, 3), np.uint8)
    y = np.empty(n, np.int64)
    m = np.empty((n, size, size), np.uint8)
    g = np.empty((n, 3), np.float32)

    def fill(parts):
        for i, part in enumerate(parts):  # in job order
            rows = slice(i * CHUNK, i * CHUNK + len(part[0]))
            x[rows], y[rows], m[rows] = part[:3]
            if stn:
                g[rows] = part[3]

    if workers > 1:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            fill(pool.imap(_chunk, jobs, chunksize=1))
    else:
        fill(map(_chunk, jobs))
    return (x, y, m, g) if stn else (x, y, m)


def held_out(seed, size, stn=False, coarse=False):
    """The 3,000 held-out scenes (their own seed, never seen in training);
    with stn, of the "stn" variant, with the objects' geometry; with coarse,
    coarse views (scenes.make_coarse_image)."""
    rng = np.random.default_rng(seed + 1000)
    if stn:
        return scenes.make_batch_stn(rng, 3000, size)
    if coarse:
        return scenes.make_coarse_batch(rng, 3000, size)
    return scenes.make_batch(rng, 3000, size)


# --- the STN model (--stn) ---------------------------------------------------

# theta's target (the auxiliary loss): a square window centred on the object,
# of half-width s (in normalised units: s = 1 is the whole input) such that the
# object's half-extent fills STN_FILL of the output's half-width, s clipped to
# [STN_S_MIN, 1] (at most a 1/STN_S_MIN zoom: a 6-pixel object is not blown
# up into a blur); the identity when there is no object.
STN_FILL = 0.45
STN_S_MIN = 0.4
STN_THETA_WEIGHT = 2.0
# The backbone's losses reach theta (through grid_sample) scaled by this: at
# the start their gradient is ten times the theta loss's, and noisy (it is
# the image's gradient), and would keep the localiser from learning where
# the object is.
STN_WARP_GRAD = 0.05


def theta_target(masks, extent, labels):
    """(B, 2, 3) target thetas from the (augmented) object masks (B, H, W)
    uint8: the window's centre is the mask's centroid (the object's centre:
    the shapes are symmetric and wholly inside), its half-width from the
    object's half-extent in pixels (unchanged by flips and 90° turns)."""
    m = torch.from_numpy(masks).float()
    b, h, w = m.shape
    tot = m.sum((1, 2)).clamp_min(1e-6)
    cx = (m.sum(1) * (torch.arange(w) + 0.5)).sum(1) / tot   # continuous pixels
    cy = (m.sum(2) * (torch.arange(h) + 0.5)).sum(1) / tot
    s = (torch.from_numpy(extent).float() * 2 / w / STN_FILL).clamp(STN_S_MIN, 1.0)
    has = torch.from_numpy(labels > 0)
    t = torch.zeros(b, 2, 3)
    t[:, 0, 0] = t[:, 1, 1] = torch.where(has, s, torch.ones(b))
    t[:, 0, 2] = torch.where(has, 2 * cx / w - 1, torch.zeros(b))
    t[:, 1, 2] = torch.where(has, 2 * cy / h - 1, torch.zeros(b))
    return t


def quad(theta, width, height):
    """The transformer's sampling quadrilateral in input pixels: (4, 2) corners,
    in the order of the output's top-left, top-right, bottom-right,
    bottom-left. The output's outer corners (-1,-1), (1,-1), (1,1), (-1,1)
    (with align_corners=False, the outer edges of its corner pixels) go
    through theta, x_s = t00 x + t01 y + t02, y_s = t10 x + t11 y + t12, and
    back to pixels as grid_sample unnormalises, pixel index
    ((x_s + 1) W - 1) / 2, plus 1/2 for continuous coordinates where pixel i
    spans [i, i+1]: X = (x_s + 1) W / 2, Y = (y_s + 1) H / 2."""
    t = np.asarray(theta, np.float64).reshape(2, 3)
    out = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64)
    src = out @ t[:, :2].T + t[:, 2]
    return np.stack([(src[:, 0] + 1) * width / 2, (src[:, 1] + 1) * height / 2], 1)


def quad_contains(theta, width, height, x, y):
    """Whether the point (x, y) (continuous input pixels) lies in quad()'s
    parallelogram: its normalised coordinates taken back through theta's
    inverse land in [-1, 1]^2."""
    t = np.asarray(theta, np.float64).reshape(2, 3)
    p = np.array([2 * x / width - 1, 2 * y / height - 1]) - t[:, 2]
    try:
        u = np.linalg.solve(t[:, :2], p)
    except np.linalg.LinAlgError:
        return False
    return bool(np.all(np.abs(u) <= 1))


def evaluate_stn(net, imgs, labels, geoms, bs=256):
    """The STN figures: accuracy with the transformer and with theta forced to
    the identity, and for scenes with an object the share whose quadrilateral
    contains the object's centre, the median zoom (1/sqrt|det A|) and the
    median distance between the window's centre and the object's (fraction
    of the side)."""
    net.eval()
    pred, pred_id, thetas = [], [], []
    with torch.no_grad():
        for i in range(0, len(imgs), bs):
            x = to_input(imgs[i:i + bs])
            logits, _ = net(x)
            thetas.append(net.theta.reshape(-1, 6).numpy().astype(np.float64))
            pred.append(logits.argmax(1).numpy())
            logits, _ = net(x, identity=True)
            pred_id.append(logits.argmax(1).numpy())
    net.train()
    thetas = np.concatenate(thetas)
    ok = np.concatenate(pred) == labels
    acc_id = float((np.concatenate(pred_id) == labels).mean())
    h, w = imgs.shape[1:3]
    obj = np.flatnonzero(labels > 0)
    inside = np.array([quad_contains(thetas[i], w, h, geoms[i, 0], geoms[i, 1]) for i in obj])
    det = np.abs(thetas[obj, 0] * thetas[obj, 4] - thetas[obj, 1] * thetas[obj, 3])
    zoom = np.median(1 / np.sqrt(np.maximum(det, 1e-12)))
    cx, cy = (thetas[obj, 2] + 1) * w / 2, (thetas[obj, 5] + 1) * h / 2
    off = np.median(np.hypot(cx - geoms[obj, 0], cy - geoms[obj, 1])) / w
    return ok, acc_id, float(inside.mean()), len(obj), float(zoom), float(off)


def report_stn(net, held):
    x, y, m, g = held
    ok, acc_id, inside, n_obj, zoom, off = evaluate_stn(net, x, y, g)
    acc, per, by_size = summarise(ok, y, m, x.shape[1])
    line = (f"held-out accuracy {acc:.4f} ({len(x)} scenes; {per}; objects by size: "
            f"{by_size}); with theta forced to the identity {acc_id:.4f}; "
            f"quadrilateral contains the object's centre in {inside:.4f} of {n_obj} scenes "
            f"with an object; median zoom {zoom:.2f}x, median window-centre error "
            f"{off:.4f} of the side")
    return acc, acc_id, inside, line


def report(net, held):
    """The log line: held-out accuracy overall, per class and per size."""
    x, y, m = held
    acc, per, by_size = evaluate(net, x, y, m)
    return acc, f"held-out accuracy {acc:.4f} ({len(x)} scenes; {per}; objects by size: {by_size})"


def load_for_eval(path):
    """A trained file (the default model or an STN model) back into Net."""
    tensors, meta = attn_safetensors.load(path)
    size = json.loads(meta["preprocess"])["width"]
    stn = json.loads(meta["architecture"]).get("stn")
    net = Net(len(scenes.CLASSES), stn["layers"] if stn else None)
    # the file has every tensor but BatchNorm's num_batches_tracked counters;
    # anything else missing or extra is a file from another version of Net
    res = net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in tensors.items()},
                              strict=False)
    missing = [k for k in res.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or res.unexpected_keys:
        raise SystemExit(f"{path}: not this version's network ({len(missing)} tensors "
                         f"missing, {len(res.unexpected_keys)} unexpected)")
    return net, size


def export(net, path, acc, seed, size, stn=None, note="", name=None, how=None):
    """Writes the model file; stn: the localiser's layer list (an STN model);
    name and how (the options named in "source") default by kind."""
    net.eval()
    tensors = {k: v.detach().contiguous().numpy().astype(np.float32)
               for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    arch = {"family": "resnet", "block": "basic", "layers": LAYERS,
            "widths": WIDTHS, "stem_width": STEM, "stem_pool": STEM_POOL, "stride_on": "3x3",
            "attention": "cbam", "spatial_kernel": 7, "num_classes": len(scenes.CLASSES),
            "bn_eps": 1e-5,
            "stn": {"align_corners": False, "layers": stn} if stn else None}
    pre = {"width": size, "height": size, "color": "RGB", "mean": [MEAN] * 3,
           "std": [STD] * 3, "scale": 255, "resize": "stretch"}
    meta = {"format": "gst-attention-model", "format_version": "1",
            "name": name or ("attention-shapes-stn" if stn else "attention-shapes-cbam"),
            "architecture": json.dumps(arch),
            "labels": json.dumps(scenes.CLASSES), "preprocess": json.dumps(pre),
            "source": f"trained by tools/train.py{how if how is not None else (' --stn' if stn else '')} "
                      f"seed {seed}, held-out accuracy {acc:.4f}{note}"}
    attn_safetensors.save(path, tensors, meta)


def load_backbone(net, path, head="stn."):
    """Copies a trained default model's tensors into net's backbone (all but
    the `head` prefix's: stn.*, the STN model's warm start, or decoder.*,
    the describe model's)."""
    tensors, _ = attn_safetensors.load(path)
    res = net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in tensors.items()},
                              strict=False)
    missing = [k for k in res.missing_keys
               if not k.endswith("num_batches_tracked") and not k.startswith(head)]
    if missing or res.unexpected_keys:
        raise SystemExit(f"--init {path}: not this version's network ({len(missing)} tensors "
                         f"missing, {len(res.unexpected_keys)} unexpected)")


def main():
    models = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="the file to write (default models/default.safetensors, "
                    "with --stn models/stn.safetensors, with --coarse models/coarse.safetensors)")
    ap.add_argument("--stn", action="store_true",
                    help="train the STN model: the network behind a Spatial Transformer, on "
                    "the scenes' \"stn\" variant (off-centre, small to medium objects)")
    ap.add_argument("--describe", action="store_true",
                    help="train the describe model (models/describe.safetensors, "
                    "docs/describe-model.md): the default model with an encoder-decoder "
                    "soft-attention head naming a scene's shapes left to right")
    ap.add_argument("--coarse", action="store_true",
                    help="fine-tune INIT into the coarse model of coarse-to-fine inference, "
                    "on coarse views (scenes.make_coarse_image)")
    ap.add_argument("--init", metavar="MODEL",
                    help="start from MODEL's weights (--stn: its backbone; default with --stn "
                    "and --coarse models/default.safetensors, otherwise 'none': from scratch)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--train-images", type=int,
                    help="training scenes (default 100000, with --stn 30000, with --coarse "
                    "12000)")
    ap.add_argument("--steps", type=int,
                    help="training steps (default 22000, with --stn 4000, with --coarse 1500)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--input-size", type=int, default=SIZE,
                    help=f"square input of the network (default {SIZE})")
    ap.add_argument("--threads", type=int, default=2,
                    help="torch threads and scene-drawing processes; the result is "
                    "deterministic for a given count (default 2)")
    ap.add_argument("--quick", action="store_true", help="a 1-2 minute smoke run")
    ap.add_argument("--held-out", type=int, default=2000, metavar="N",
                    help="--describe: held-out scenes to report on (default 2000)")
    ap.add_argument("--evaluate", metavar="MODEL",
                    help="do not train: print MODEL's accuracy on the held-out scenes (of "
                    "the \"stn\" variant, and the transformer's figures, for an STN model; "
                    "coarse views with --coarse)")
    args = ap.parse_args()
    if args.describe:
        if args.stn or args.coarse:
            raise SystemExit("--describe trains its own model: without --stn or --coarse")
        import train_describe
        train_describe.main(args, models)
        return
    if args.stn and args.coarse:
        raise SystemExit("--stn and --coarse train different models: one at a time")
    if args.evaluate:
        torch.set_num_threads(args.threads)
        net, size = load_for_eval(args.evaluate)
        if net.stn is not None:
            print(report_stn(net, held_out(args.seed, size, stn=True))[3])
        else:
            print(report(net, held_out(args.seed, size, coarse=args.coarse))[1])
        return
    stn = args.stn
    kind = "stn" if stn else "coarse" if args.coarse else "default"
    args.out = args.out or os.path.join(models, f"{kind}.safetensors")
    if args.init is None:
        args.init = "none" if kind == "default" else os.path.join(models, "default.safetensors")
    if args.train_images is None:
        args.train_images = {"stn": 30000, "coarse": 12000, "default": 100000}[kind]
    if args.steps is None:
        args.steps = {"stn": 4000, "coarse": 1500, "default": 22000}[kind]
    if args.quick:
        args.train_images, args.steps = 2000, 150

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    size = args.input_size
    rng = np.random.default_rng(args.seed)  # batches and augmentation
    t0 = time.time()
    train_set = training_scenes(args.seed, args.train_images, size, args.threads, stn=stn,
                                coarse=args.coarse)
    tr_x, tr_y, tr_m = train_set[:3]
    held = held_out(args.seed, size, stn=stn, coarse=args.coarse)
    print(f"generated {len(tr_x)} training and {len(held[0])} held-out scenes "
          f"in {time.time() - t0:.0f} s", flush=True)

    spec = stn_layers(size) if stn else None
    net = Net(len(scenes.CLASSES), spec, stn_bn=True)
    net.warp_grad = STN_WARP_GRAD
    if args.init != "none":
        load_backbone(net, args.init)
        if stn:
            print(f"backbone from {args.init}", flush=True)
        else:
            print(f"from {args.init}: {report(net, held)[1]}", flush=True)
            net.train()
    net = net.to(memory_format=torch.channels_last)
    params = sum(p.numel() for p in net.parameters())
    print(f"{params} parameters", flush=True)
    if stn:
        # the localiser learns from scratch; a warm backbone is fine-tuned gently
        loc = list(net.stn.parameters())
        rest = [p for n, p in net.named_parameters() if not n.startswith("stn.")]
        lrs = [3e-3, 1e-3 if args.init != "none" else 3e-3]
        opt = torch.optim.AdamW([{"params": loc}, {"params": rest}], lr=lrs[0],
                                weight_decay=1e-4)
    else:
        # from scratch 3e-3; fine-tuning a trained network (--coarse) 1e-3
        lrs = 3e-3 if args.init == "none" else 1e-3
        opt = torch.optim.AdamW(net.parameters(), lr=lrs, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lrs, total_steps=args.steps,
                                                pct_start=0.15)
    t1 = tlast = time.time()
    last = -1  # the step of the previous log line
    for step in range(args.steps):
        idx = rng.integers(0, len(tr_x), args.batch)
        imgs, masks = augment(rng, tr_x[idx], tr_m[idx])
        logits, maps = net(to_input(imgs))
        loss = F.cross_entropy(logits, torch.from_numpy(tr_y[idx]))
        m = torch.from_numpy(masks)[:, None].float() / 255
        if stn:
            target = theta_target(masks, train_set[3][idx, 2], tr_y[idx])
            loss_theta = ((net.theta - target) ** 2).sum((1, 2)).mean()
            loss = loss + STN_THETA_WEIGHT * loss_theta
            # the gates see the warped scene: their targets are the warped mask
            m = F.grid_sample(m, net.grid.detach(), mode="bilinear", padding_mode="zeros",
                              align_corners=False)
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
                  + (f"(theta {loss_theta.item():.4f}) " if stn else "")
                  + f"{(now - tlast) / (step - last):.3f} s/step lately, "
                  f"{(now - t1) / (step + 1):.3f} on average", flush=True)
            tlast, last = now, step
    if stn:
        net.stn = net.stn.folded(spec).to(memory_format=torch.channels_last)  # the file's form
        acc, acc_id, inside, line = report_stn(net, held)
        note = f" ({acc_id:.4f} with theta forced to the identity; quadrilateral " \
               f"contains the object's centre in {inside:.4f})"
    else:
        acc, line = report(net, held)
        note = ""
    print(f"{line}; training took {(time.time() - t0) / 60:.1f} min", flush=True)
    if args.coarse:
        export(net, args.out, acc, args.seed, size, name="attention-shapes-coarse",
               how=f" --coarse (from {os.path.basename(args.init)})")
    else:
        export(net, args.out, acc, args.seed, size, spec, note)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
