#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Convert a PyTorch ResNet checkpoint into a gst-attention model file.

    tools/convert.py --from FORMAT INPUT OUTPUT.safetensors
                     [--labels FILE] [--input-size N] [--name NAME]

FORMAT is the layout of INPUT:
  cbam-official       the official CBAM code (Jongchan/attention-module):
                      ResidualNet('ImageNet', 18/34/50/101, classes, 'CBAM')
                      saved by train_imagenet.py as {'state_dict': ...} with
                      DataParallel's `module.` prefix; att_type None (no
                      .cbam.* keys) converts to a plain ResNet
  timm-seresnet       timm seresnet* (.se.fc1/.se.fc2 1×1 convs with bias);
                      timm resnet* without .se.* keys converts too
  cadene-seresnet     pretrainedmodels se_resnet50/101 (layer0.* stem with a
                      ceil-mode max pool, .se_module.*, stride on the 1×1,
                      last_linear)
  torchvision-resnet  torchvision resnet18/34/50/101/152

INPUT is read with torch.load on the CPU: a bare state dict or a dict holding
one under 'state_dict'; a leading `module.` is stripped from every key. The
architecture comes from the keys and shapes alone: the block type from
conv3's presence, blocks per stage from the block indices, the stage widths
from conv1, the stem width from the stem conv, the gate from the gate keys
(its hidden width from fc1/mlp.1, the spatial kernel from the gate's conv),
num_classes from the classifier; the stride placement and the stem pool come
from FORMAT. Every key must be used (num_batches_tracked is ignored): the
first key that does not fit — unexpected, of the wrong shape, not floating
point or not finite, or missing — is named on stderr and the exit status is 1.

The tensors are renamed to docs/model-format.md (`conv1`/`layer0.conv1` →
`stem.conv`, `downsample.0/1` → `downsample.conv/bn`, `se_module` → `se`,
`cbam.ChannelGate.mlp.1/3` → `cbam.mlp1/2`, `cbam.SpatialGate.spatial.*` →
`cbam.spatial.*`, `last_linear` → `fc`), the SE 1×1 conv weights
[C, Hd, 1, 1] squeezed to [C, Hd], and written as float32 with the metadata
(labels from --labels, one per line, else "class N"; ImageNet mean/std RGB
preprocessing at --input-size², default 224). The official CBAM spatial gate
already pools [max, mean] in that channel order, which is ours; a port that
concatenates [mean, max] (the paper's order, timm's CbamModule) needs the
conv's two input channels swapped — weight[:, ::-1] — when it is imported.
The output is deterministic: the same checkpoint gives the same bytes.

A Spatial Transformer front end (docs/model-format.md, "Converting a
checkpoint with a Spatial Transformer") is a module `stn` of the model with
two nn.Sequentials, `localization` (Conv2d with bias, MaxPool2d, AvgPool2d,
ReLU, AdaptiveAvgPool2d(1), Flatten, Dropout) and `fc_loc` (Linear, ReLU,
Dropout), run on the normalised input; theta = fc_loc(flatten(
localization(x))).view(-1, 2, 3), then affine_grid + grid_sample (bilinear,
zeros) warp x for the backbone. Its keys are stn.localization.{j}.weight/bias
and stn.fc_loc.{j}.weight/bias (module.stn.* under DataParallel). A state
dict does not say what the parameterless modules are, or a conv's stride and
padding: --stn-layers declares stn.localization's modules in index order
(default: the PyTorch tutorial's "conv,maxpool/k2/s2,relu,conv,maxpool/k2/s2,
relu"); a conv's kernel and channels come from its weight. fc_loc's modules
are Linear where the index has weights and ReLU where it has none, unless
--stn-fc says otherwise. The first Linear's inputs are checked against the
localisation output at --input-size (C·H·W, or C after a global pool).

An encoder–decoder soft-attention head (docs/model-format.md, "decoder";
tools/reference_models.SoftAttentionDecoder) is a module under
--decoder-prefix (default `decoder.`, after `module.`): init_h (init_c),
embed, att.enc/att.dec/att.v or att.query, gate, cell (nn.GRUCell or
nn.LSTMCell) and out. The cell kind comes from weight_ih's rows (3 or 4
times the hidden size), the attention from att.enc or att.query, the gate
from gate.*, the sizes from the shapes; its input size must be the
backbone's last stage's channels. A state dict has no vocabulary:
--decoder-vocab names a file of the tokens, one per line, in id order;
--decoder-start and --decoder-end give the start and end tokens' ids
(default: those of "<start>" and "<end>" in the vocabulary), and
--decoder-max-length the most tokens decoded (default 20).

Examples:
    tools/convert.py --from cbam-official checkpoint.pth.tar \\
        resnet50-cbam.safetensors --labels imagenet-labels.txt
    tools/convert.py --from torchvision-resnet stn-resnet18.pth stn.safetensors \\
        --input-size 128 --stn-layers conv/s2/p2,relu,maxpool/k2,gap
"""
import argparse
import json
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import attn_safetensors  # noqa: E402

FORMATS = ("cbam-official", "timm-seresnet", "cadene-seresnet", "torchvision-resnet")
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]

# Source key prefix → ours, per format (applied after `module.` is stripped).
_STEM = {"cadene-seresnet": [(r"^layer0\.conv1\.", "stem.conv."), (r"^layer0\.bn1\.", "stem.bn."),
                             (r"^last_linear\.", "fc.")]}
_DEFAULT_STEM = [(r"^conv1\.", "stem.conv."), (r"^bn1\.", "stem.bn.")]
_BLOCK = [(r"\.downsample\.0\.", ".downsample.conv."), (r"\.downsample\.1\.", ".downsample.bn.")]
_GATE = {
    "cbam-official": [(r"\.cbam\.ChannelGate\.mlp\.1\.", ".cbam.mlp1."),
                      (r"\.cbam\.ChannelGate\.mlp\.3\.", ".cbam.mlp2."),
                      (r"\.cbam\.SpatialGate\.spatial\.conv\.", ".cbam.spatial.conv."),
                      (r"\.cbam\.SpatialGate\.spatial\.bn\.", ".cbam.spatial.bn.")],
    "timm-seresnet": [],
    "cadene-seresnet": [(r"\.se_module\.", ".se.")],
    "torchvision-resnet": [],
}
_BN = ("weight", "bias", "running_mean", "running_var")


class ConvertError(Exception):
    pass


# --- a Spatial Transformer front end ------------------------------------------

# The PyTorch STN tutorial's localisation net (Conv2d(c, 8, 7), MaxPool2d(2, 2),
# ReLU, Conv2d(8, 10, 5), MaxPool2d(2, 2), ReLU): the default --stn-layers.
STN_DEFAULT_LAYERS = "conv,maxpool/k2/s2,relu,conv,maxpool/k2/s2,relu"
_STN_TOKEN = re.compile(r"^(conv|maxpool|avgpool|relu|gap|flatten|dropout|linear)"
                        r"((?:/[ksp]\d+)*)$")


def parse_stn_layers(spec, where):
    """'conv/s2/p1,maxpool/k2,relu,gap,...' → [(type, {k, s, p}), ...], one
    entry per module of the nn.Sequential, in index order."""
    out = []
    for tok in spec.split(","):
        tok = tok.strip()
        m = _STN_TOKEN.match(tok)
        if not m:
            raise ConvertError(f"{where}: cannot read '{tok}' (conv[/sS][/pP], "
                               "maxpool/kK[/sS][/pP], avgpool/kK[/sS][/pP], relu, gap, "
                               "flatten, dropout, linear)")
        opts = {o[0]: int(o[1:]) for o in m.group(2).split("/")[1:]}
        kind = m.group(1)
        if kind in ("maxpool", "avgpool") and "k" not in opts:
            raise ConvertError(f"{where}: '{tok}' needs its kernel (/kK)")
        if kind not in ("conv", "maxpool", "avgpool") and opts:
            raise ConvertError(f"{where}: '{tok}' takes no options")
        out.append((kind, opts))
    return out


def stn_layers_from_module(stn):
    """(--stn-layers, --stn-fc) strings describing a PyTorch STN module with
    `localization` and `fc_loc` nn.Sequentials, for callers that have the
    model's code (the state dict alone does not say what the parameterless
    modules are). Raises ConvertError for a module the format cannot run."""
    import torch.nn as nn

    def one(m):
        if isinstance(m, nn.Conv2d):
            if (m.kernel_size[0] != m.kernel_size[1] or m.stride[0] != m.stride[1]
                    or m.padding[0] != m.padding[1] or m.dilation != (1, 1)
                    or m.groups != 1 or m.bias is None or m.padding_mode != "zeros"):
                raise ConvertError(f"{m}: only square, undilated, ungrouped convolutions "
                                   "with a bias and zero padding")
            return f"conv/s{m.stride[0]}/p{m.padding[0]}"
        if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            k, st, pd = (m.kernel_size, m.stride, m.padding)
            vals = [v if isinstance(v, int) else v[0] for v in (k, st, pd)]
            if any(not isinstance(v, int) and v[0] != v[1] for v in (k, st, pd)) \
                    or m.ceil_mode or getattr(m, "dilation", 1) not in (1, (1, 1)) \
                    or (isinstance(m, nn.AvgPool2d)
                        and (not m.count_include_pad or m.divisor_override)):
                raise ConvertError(f"{m}: only square pools, no ceil_mode/dilation, "
                                   "count_include_pad")
            kind = "maxpool" if isinstance(m, nn.MaxPool2d) else "avgpool"
            return f"{kind}/k{vals[0]}/s{vals[1]}/p{vals[2]}"
        if isinstance(m, nn.ReLU):
            return "relu"
        if isinstance(m, nn.AdaptiveAvgPool2d) and m.output_size in (1, (1, 1)):
            return "gap"
        if isinstance(m, nn.Flatten):
            return "flatten"
        if isinstance(m, nn.Dropout):
            return "dropout"
        if isinstance(m, nn.Linear):
            return "linear"
        raise ConvertError(f"{m}: not a layer the model format's localisation net has")

    return (",".join(one(m) for m in stn.localization), ",".join(one(m) for m in stn.fc_loc))


def _out_dim(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def convert_stn(sd, origin, prefix, loc_spec, fc_spec, input_size, align_corners):
    """(architecture `stn` object, {stn.i.weight/bias: tensor}) from the
    checkpoint's stn.localization.{j}.* and stn.fc_loc.{j}.* tensors (sd:
    key without `module.` → tensor; origin: → key as written) and the
    declared layer lists. Raises ConvertError naming the first key that does
    not fit."""
    loc = parse_stn_layers(loc_spec, "--stn-layers")
    if fc_spec:
        fc = parse_stn_layers(fc_spec, "--stn-fc")
    else:   # from the keys: a module with weights is a Linear, one without a ReLU
        idx = [int(m.group(1)) for k in sd for m in [re.match(r"stn\.fc_loc\.(\d+)\.", k)] if m]
        fc = [("linear" if f"stn.fc_loc.{j}.weight" in sd else "relu", {})
              for j in range(max(idx) + 1 if idx else 0)]
    for k in sd:
        m = re.match(r"stn\.(localization|fc_loc)\.(\d+)\.", k)
        n = len(loc) if m.group(1) == "localization" else len(fc)
        if int(m.group(2)) >= n:
            raise ConvertError(f"unexpected key '{origin[k]}' (stn.{m.group(1)} is declared with "
                               f"{n} modules: " + ("--stn-layers" if m.group(1) == "localization"
                                                    else "--stn-fc") + ")")
    used = set()

    def take(key, shape_ok, want):
        if key not in sd:
            raise ConvertError(f"missing key '{prefix}{key}' (needed by the declared STN "
                               f"layers: {want})")
        t = sd[key]
        if not shape_ok(tuple(t.shape)):
            raise ConvertError(f"key '{origin[key]}' has shape {list(t.shape)}, "
                               f"expected {want}")
        if not t.is_floating_point():
            raise ConvertError(f"key '{origin[key]}' holds {t.dtype}, not floating-point weights")
        used.add(key)
        return t

    layers, tensors = [], {}
    c, h, w, flat = 3, input_size, input_size, None   # flat: values after gap/linear
    for part, spec in (("localization", loc), ("fc_loc", fc)):
        for j, (kind, o) in enumerate(spec):
            key = f"stn.{part}.{j}"
            i = len(layers)
            extra = [origin[f"{key}.{p}"] for p in ("weight", "bias") if f"{key}.{p}" in sd]
            if kind not in ("conv", "linear") and extra:
                raise ConvertError(f"unexpected key '{extra[0]}' (module {j} of {part} is "
                                   f"declared '{kind}', which has no weights)")
            if kind == "conv":
                if part != "localization" or flat is not None:
                    raise ConvertError(f"{key}: a conv after the localisation net's flatten")
                wt = take(f"{key}.weight", lambda sh: len(sh) == 4 and sh[1] == c
                          and sh[2] == sh[3], f"[out, {c}, k, k]")
                out, k = int(wt.shape[0]), int(wt.shape[2])
                st, pd = o.get("s", 1), o.get("p", 0)
                if not (1 <= k <= 15 and 1 <= st <= 8 and 0 <= pd <= 7):
                    raise ConvertError(f"key '{origin[key + '.weight']}': kernel {k}, stride "
                                       f"{st}, pad {pd}; the format allows kernel 1-15, stride "
                                       "1-8, pad 0-7")
                tensors[f"stn.{i}.weight"] = wt
                tensors[f"stn.{i}.bias"] = take(f"{key}.bias", lambda sh: sh == (out,),
                                                f"[{out}]")
                layers.append({"type": "conv", "out": out, "kernel": k, "stride": st, "pad": pd})
                c, h, w = out, _out_dim(h, k, st, pd), _out_dim(w, k, st, pd)
            elif kind in ("maxpool", "avgpool"):
                if part != "localization" or flat is not None:
                    raise ConvertError(f"{key}: a pool after the localisation net's flatten")
                k = o["k"]
                st, pd = o.get("s", k), o.get("p", 0)
                if not (1 <= k <= 15 and 1 <= st <= 15 and 0 <= pd <= k // 2):
                    raise ConvertError(f"--stn-layers: {kind} kernel {k}, stride {st}, pad "
                                       f"{pd}; the format allows kernel 1-15, stride 1-15, "
                                       "pad up to kernel/2")
                layers.append({"type": kind, "kernel": k, "stride": st, "pad": pd})
                h, w = _out_dim(h, k, st, pd), _out_dim(w, k, st, pd)
            elif kind == "relu":
                layers.append({"type": "relu"})
            elif kind == "gap":
                if flat is not None:
                    raise ConvertError(f"{key}: a global pool after the flatten")
                layers.append({"type": "gap"})
                flat = c
            elif kind == "linear":
                n_in = flat if flat is not None else c * h * w
                wt = take(f"{key}.weight", lambda sh: len(sh) == 2 and sh[1] == n_in,
                          f"[out, {n_in}]" + ("" if flat is not None else
                                              f" ({c}×{h}×{w} flattened at --input-size "
                                              f"{input_size})"))
                out = int(wt.shape[0])
                tensors[f"stn.{i}.weight"] = wt
                tensors[f"stn.{i}.bias"] = take(f"{key}.bias", lambda sh: sh == (out,),
                                                f"[{out}]")
                layers.append({"type": "linear", "out": out})
                flat = out
            # flatten and dropout (the identity in eval mode) add no layer
            if h < 1 or w < 1:
                raise ConvertError(f"--stn-layers: at --input-size {input_size} module {j} of "
                                   f"{part} has no output")
    for k in sd:
        if k.startswith("stn.") and k not in used:
            raise ConvertError(f"unexpected key '{origin[k]}' (not a weight of the declared "
                               f"STN layers: --stn-layers '{loc_spec}'"
                               + (f", --stn-fc '{fc_spec}'" if fc_spec else "") + ")")
    if flat != 6 or not layers or layers[-1]["type"] != "linear":
        raise ConvertError(f"the STN's fc_loc must end in a Linear with 6 outputs (theta), "
                           f"it ends in {flat if flat is not None else 'a feature map'}")
    return {"align_corners": bool(align_corners), "layers": layers}, tensors


def _rules(fmt):
    return _STEM.get(fmt, _DEFAULT_STEM) + _BLOCK + _GATE[fmt]


def rename(fmt, key):
    """Source key → our tensor name (docs/model-format.md)."""
    for pat, rep in _rules(fmt):
        key = re.sub(pat, rep, key)
    return key


def source_name(fmt, name):
    """Our tensor name → the key the source uses (for messages)."""
    for pat, rep in reversed(_rules(fmt)):
        src = pat.lstrip("^").replace("\\", "")
        if not pat.startswith("^"):
            name = name.replace(rep, src)
        elif name.startswith(rep):
            name = src + name[len(rep):]
    return name


_BN_RE = r"bn\.(?:weight|bias|running_mean|running_var)"
# Every name a format-1 ResNet may have (whatever its architecture).
_NAME_RE = re.compile(
    r"^(?:stem\.conv\.weight|stem\." + _BN_RE + r"|fc\.(?:weight|bias)"
    r"|layer[1-4]\.\d+\.(?:conv[123]\.weight|bn[123]\.(?:weight|bias|running_mean|running_var)"
    r"|downsample\.conv\.weight|downsample\." + _BN_RE +
    r"|se\.fc[12]\.(?:weight|bias)|cbam\.mlp[12]\.(?:weight|bias)"
    r"|cbam\.spatial\.conv\.weight|cbam\.spatial\." + _BN_RE + r"))$")


def load_checkpoint(path):
    """({key without `module.`: tensor} in the checkpoint's order,
    {key without: key as written}, the `module.` prefix or "")."""
    import torch  # imported here so --help works without torch

    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as e:  # pickle, zip or torch errors: say which file
        raise ConvertError(f"cannot read the checkpoint: {e}") from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise ConvertError(f"not a state dict (found a {type(obj).__name__})")
    sd, keys = {}, {}
    for k, v in obj.items():
        if not isinstance(k, str):
            raise ConvertError(f"unexpected key {k!r} (not a string)")
        name = k[len("module."):] if k.startswith("module.") else k
        if name.endswith("num_batches_tracked"):
            continue
        if not torch.is_tensor(v):
            raise ConvertError(f"unexpected key '{k}': a {type(v).__name__}, not a tensor")
        if name in sd:
            raise ConvertError(f"key '{k}' appears twice (with and without `module.`)")
        sd[name], keys[name] = v, k
    if not sd:
        raise ConvertError("the state dict holds no tensors")
    prefix = "module." if any(k.startswith("module.") for k in keys.values()) else ""
    return sd, keys, prefix


def infer_architecture(fmt, sd, prefix=""):
    """The architecture object of docs/model-format.md from names and shapes
    (sd: our names → tensors). Raises ConvertError naming a missing key."""

    def need(name, ndim):
        if name not in sd:
            raise ConvertError(f"missing key '{prefix}{source_name(fmt, name)}'")
        if sd[name].dim() != ndim:
            raise ConvertError(f"key '{prefix}{source_name(fmt, name)}' has shape "
                               f"{list(sd[name].shape)}, expected {ndim} dimensions")
        return sd[name].shape

    stem_width = int(need("stem.conv.weight", 4)[0])
    layers = []
    for s in range(1, 5):
        blocks = {int(m.group(1)) for k in sd for m in [re.match(rf"layer{s}\.(\d+)\.", k)] if m}
        if not blocks:
            break
        layers.append(max(blocks) + 1)
    if not layers:
        raise ConvertError(f"missing key '{prefix}{source_name(fmt, 'layer1.0.conv1.weight')}': "
                           "no residual stages, not a ResNet checkpoint")
    bottleneck = "layer1.0.conv3.weight" in sd
    widths = [int(need(f"layer{s + 1}.0.conv1.weight", 4)[0]) for s in range(len(layers))]
    if fmt == "cbam-official":
        attention = "cbam" if any(".cbam." in k for k in sd) else "none"
    elif fmt in ("timm-seresnet", "cadene-seresnet"):
        attention = "se" if any(".se." in k for k in sd) else "none"
    else:
        attention = "none"
    kernel = 7
    conv = next((k for k in sd if k.endswith(".cbam.spatial.conv.weight")), None)
    if attention == "cbam" and conv is not None:
        kernel = int(need(conv, 4)[-1])
        if kernel % 2 == 0:
            raise ConvertError(f"key '{prefix}{source_name(fmt, conv)}' has an even kernel "
                               f"{list(sd[conv].shape)}; the spatial gate needs an odd one")
    num_classes = int(need("fc.weight", 2)[0])
    if fmt == "cadene-seresnet":
        pool = {"kernel": 3, "stride": 2, "pad": 0, "ceil_mode": True}
    else:
        pool = {"kernel": 3, "stride": 2, "pad": 1, "ceil_mode": False}
    arch = {"family": "resnet", "block": "bottleneck" if bottleneck else "basic",
            "layers": layers, "widths": widths, "stem_width": stem_width,
            "stem_pool": pool,
            "stride_on": "1x1" if fmt == "cadene-seresnet" and bottleneck else "3x3",
            "attention": attention}
    if attention == "cbam":
        arch["spatial_kernel"] = kernel
    arch.update({"num_classes": num_classes, "bn_eps": 1e-5, "stn": None})
    return arch


def expected_shapes(arch, sd):
    """Our name → shape, in network order, for `arch` (gate hidden widths are
    read from sd, any width ≥ 1 being valid)."""
    exp = {}

    def bn(name, c):
        for p in _BN:
            exp[f"{name}.{p}"] = (c,)

    stem = arch["stem_width"]
    exp["stem.conv.weight"] = (stem, 3, 7, 7)
    bn("stem.bn", stem)
    bott = arch["block"] == "bottleneck"
    cin = stem
    for s, (n, p) in enumerate(zip(arch["layers"], arch["widths"])):
        cout = p * (4 if bott else 1)
        for b in range(n):
            pre = f"layer{s + 1}.{b}"
            stride = 2 if s > 0 and b == 0 else 1
            convs = [(p, cin, 1), (p, p, 3), (cout, p, 1)] if bott else [(p, cin, 3), (p, p, 3)]
            for i, (co, ci, k) in enumerate(convs, 1):
                exp[f"{pre}.conv{i}.weight"] = (co, ci, k, k)
                bn(f"{pre}.bn{i}", co)
            if stride != 1 or cin != cout:
                exp[f"{pre}.downsample.conv.weight"] = (cout, cin, 1, 1)
                bn(f"{pre}.downsample.bn", cout)
            g = {"se": "se.fc", "cbam": "cbam.mlp"}.get(arch["attention"])
            if g:
                w1 = sd.get(f"{pre}.{g}1.weight")
                hd = int(w1.shape[0]) if w1 is not None and w1.dim() >= 1 and w1.shape[0] else 1
                exp[f"{pre}.{g}1.weight"] = (hd, cout)
                exp[f"{pre}.{g}1.bias"] = (hd,)
                exp[f"{pre}.{g}2.weight"] = (cout, hd)
                exp[f"{pre}.{g}2.bias"] = (cout,)
            if arch["attention"] == "cbam":
                k = arch["spatial_kernel"]
                exp[f"{pre}.cbam.spatial.conv.weight"] = (1, 2, k, k)
                bn(f"{pre}.cbam.spatial.bn", 1)
            cin = cout
    exp["fc.weight"] = (arch["num_classes"], cin)
    exp["fc.bias"] = (arch["num_classes"],)
    return exp


def _is_se_conv(name):
    return re.search(r"\.se\.fc[12]\.weight$", name) is not None


DECODER_MAX_LENGTH = 20


def convert_decoder(dec, written, prefix, d, vocab, start, end, max_length):
    """(the architecture's "decoder" object, {our name: tensor}) for the
    decoder keys `dec` (without the decoder prefix: "init_h.weight", ...) on a
    backbone whose last stage has d channels. Raises ConvertError naming the
    first key that does not fit."""
    def key(k):
        return written[k]

    def shape(k):
        if k not in dec:
            raise ConvertError(f"missing key '{prefix}{k}' (needed by the decoder head)")
        return tuple(dec[k].shape)

    hidden_s = shape("init_h.weight")
    if len(hidden_s) != 2:
        raise ConvertError(f"key '{key('init_h.weight')}' has shape {list(hidden_s)}, "
                           "expected 2 dimensions")
    hidden, d_in = hidden_s
    if d_in != d:
        raise ConvertError(f"key '{key('init_h.weight')}' takes {d_in} inputs but the "
                           f"backbone's last stage has {d} channels")
    emb = shape("embed.weight")
    if len(emb) != 2:
        raise ConvertError(f"key '{key('embed.weight')}' has shape {list(emb)}, expected 2 "
                           "dimensions")
    v, e = emb
    if len(vocab) != v:
        raise ConvertError(f"{len(vocab)} tokens in the vocabulary for a decoder of {v} "
                           f"(key '{key('embed.weight')}' has {v} rows)")
    rows = shape("cell.weight_ih")[0]
    if rows not in (3 * hidden, 4 * hidden):
        raise ConvertError(f"key '{key('cell.weight_ih')}' has {rows} rows: neither a GRU "
                           f"(3 × {hidden}) nor an LSTM (4 × {hidden})")
    cell = "gru" if rows == 3 * hidden else "lstm"
    g = rows // hidden
    if "att.enc.weight" in dec:
        attention, da = "additive", int(shape("att.enc.weight")[0])
    elif "att.query.weight" in dec:
        attention, da = "dot", 0
    else:
        raise ConvertError(f"missing key '{prefix}att.enc.weight' or '{prefix}att.query."
                           "weight' (the decoder's attention)")
    gate = "gate.weight" in dec or "gate.bias" in dec
    exp = {"init_h.weight": (hidden, d), "init_h.bias": (hidden,), "embed.weight": (v, e),
           "cell.weight_ih": (g * hidden, e + d), "cell.bias_ih": (g * hidden,),
           "cell.weight_hh": (g * hidden, hidden), "cell.bias_hh": (g * hidden,),
           "out.weight": (v, hidden + d), "out.bias": (v,)}
    if cell == "lstm":
        exp.update({"init_c.weight": (hidden, d), "init_c.bias": (hidden,)})
    if attention == "additive":
        exp.update({"att.enc.weight": (da, d), "att.enc.bias": (da,),
                    "att.dec.weight": (da, hidden), "att.v.weight": (1, da)})
    else:
        exp.update({"att.query.weight": (d, hidden), "att.query.bias": (d,)})
    if gate:
        exp.update({"gate.weight": (1, hidden), "gate.bias": (1,)})
    what = f"a {cell.upper()} decoder with {attention} attention{' and a gate' if gate else ''}"
    for k, t in dec.items():
        if k not in exp:
            raise ConvertError(f"unexpected key '{key(k)}' (not part of {what})")
        if tuple(t.shape) != exp[k]:
            raise ConvertError(f"key '{key(k)}' has shape {list(t.shape)}, expected "
                               f"{list(exp[k])} for {what}")
        if not t.is_floating_point():
            raise ConvertError(f"key '{key(k)}' holds {t.dtype}, not floating-point weights")
    for k in exp:
        if k not in dec:
            raise ConvertError(f"missing key '{prefix}{k}' (needed by {what})")
    if not 0 <= start < v or not 0 <= end < v:
        raise ConvertError(f"start {start} and end {end} must be token ids below {v}")
    if start == end:
        raise ConvertError(f"the start and end tokens are both {start}: they must differ")
    if not 1 <= max_length <= 256:
        raise ConvertError(f"--decoder-max-length {max_length} is not in 1..256")
    arch = {"cell": cell, "attention": attention, "hidden": int(hidden), "embed": int(e),
            "attention_dim": int(da), "gate": gate, "vocabulary": list(vocab),
            "start": int(start), "end": int(end), "max_length": int(max_length)}
    return arch, {f"decoder.{k}": dec[k] for k in exp}


def convert(fmt, path, labels=None, input_size=224, name="model", stn_layers=None,
            stn_fc=None, stn_align_corners=False, decoder=None):
    """(tensors {our name: float32 array}, metadata {str: str}). A checkpoint
    with stn.* keys has a Spatial Transformer front end: stn_layers (default
    STN_DEFAULT_LAYERS) and stn_fc describe its modules (convert_stn). A
    checkpoint with keys under decoder["prefix"] has a decoder head:
    decoder = {"prefix", "vocab" (a list), "start", "end", "max_length"}
    (start/end None: the ids of "<start>"/"<end>"; convert_decoder)."""
    if fmt not in FORMATS:
        raise ConvertError(f"unknown format '{fmt}' (one of {', '.join(FORMATS)})")
    raw, written, prefix = load_checkpoint(path)
    dprefix = (decoder or {}).get("prefix") or "decoder."
    dec_keys = {k[len(dprefix):]: v for k, v in raw.items() if k.startswith(dprefix)}
    if dec_keys:
        if not decoder or decoder.get("vocab") is None:
            raise ConvertError(f"the checkpoint has a decoder head ({prefix}{dprefix}* keys): "
                               "--decoder-vocab must give its tokens")
        dec_written = {k[len(dprefix):]: written[k] for k in raw if k.startswith(dprefix)}
        raw = {k: v for k, v in raw.items() if not k.startswith(dprefix)}
    elif decoder and decoder.get("vocab") is not None:
        raise ConvertError(f"--decoder-vocab given but the checkpoint has no {dprefix}* keys")
    stn_keys = {k: v for k, v in raw.items() if k.startswith("stn.")}
    if stn_keys:
        bad = next((k for k in stn_keys
                    if not re.match(r"^stn\.(?:localization|fc_loc)\.\d+\.(?:weight|bias)$", k)),
                   None)
        if bad:
            raise ConvertError(f"unexpected key '{written[bad]}' (an STN front end is "
                               "stn.localization.{j} and stn.fc_loc.{j}, weight and bias)")
        stn_arch, stn_tensors = convert_stn(stn_keys, written, prefix,
                                            stn_layers or STN_DEFAULT_LAYERS, stn_fc,
                                            input_size, stn_align_corners)
        raw = {k: v for k, v in raw.items() if k not in stn_keys}
    elif stn_layers or stn_fc:
        raise ConvertError("--stn-layers/--stn-fc given but the checkpoint has no stn.* keys")
    sd, origin = {}, {}
    for k, v in raw.items():
        ours = rename(fmt, k)
        if not _NAME_RE.match(ours) or source_name(fmt, ours) != k:
            raise ConvertError(f"unexpected key '{written[k]}' (not a tensor of a ResNet "
                               f"in the {fmt} layout)")
        sd[ours], origin[ours] = v, written[k]
    arch = infer_architecture(fmt, sd, prefix)
    exp = expected_shapes(arch, sd)
    what = (f"a {arch['block']} ResNet {arch['layers']}"
            + ("" if arch["attention"] == "none" else f" with {arch['attention']}"))
    for ours, t in sd.items():
        k = origin[ours]
        if ours not in exp:
            raise ConvertError(f"unexpected key '{k}' (not part of {what} in the {fmt} layout)")
        want = exp[ours] + ((1, 1) if _is_se_conv(ours) else ())
        if tuple(t.shape) != want:
            raise ConvertError(f"key '{k}' has shape {list(t.shape)}, expected {list(want)} "
                               f"for {what}")
        if not t.is_floating_point():
            raise ConvertError(f"key '{k}' holds {t.dtype}, not floating-point weights")
    for ours in exp:
        if ours not in sd:
            raise ConvertError(f"missing key '{prefix}{source_name(fmt, ours)}' "
                               f"(needed by {what} in the {fmt} layout)")
    tensors = {}
    for ours in exp:
        a = sd[ours].detach().to("cpu").float().numpy()
        if _is_se_conv(ours):
            a = a[:, :, 0, 0]                      # 1×1 conv [Co, Ci, 1, 1] → linear [Co, Ci]
        if not np.isfinite(a).all():
            raise ConvertError(f"key '{origin[ours]}' has non-finite values")
        tensors[ours] = np.ascontiguousarray(a, dtype=np.float32)
    if stn_keys:
        arch["stn"] = stn_arch
        for ours, t in stn_tensors.items():
            a = t.detach().to("cpu").float().numpy()
            if not np.isfinite(a).all():
                raise ConvertError(f"an STN weight ({ours}) has non-finite values")
            tensors[ours] = np.ascontiguousarray(a, dtype=np.float32)
    if dec_keys:
        vocab = decoder["vocab"]

        def token_id(given, token, flag):
            if given is not None:
                return given
            if token not in vocab:
                raise ConvertError(f"{flag} not given and the vocabulary has no '{token}'")
            return vocab.index(token)

        d = arch["widths"][-1] * (4 if arch["block"] == "bottleneck" else 1)
        arch["decoder"], dec_tensors = convert_decoder(
            dec_keys, dec_written, prefix + dprefix, d, vocab,
            token_id(decoder.get("start"), "<start>", "--decoder-start"),
            token_id(decoder.get("end"), "<end>", "--decoder-end"),
            decoder.get("max_length") or DECODER_MAX_LENGTH)
        for ours, t in dec_tensors.items():
            a = t.detach().to("cpu").float().numpy()
            if not np.isfinite(a).all():
                raise ConvertError(f"key '{prefix}{dprefix}{ours[len('decoder.'):]}' has "
                                   "non-finite values")
            tensors[ours] = np.ascontiguousarray(a, dtype=np.float32)
    classes = arch["num_classes"]
    if labels is None:
        labels = [f"class {i}" for i in range(classes)]
    if len(labels) != classes:
        raise ConvertError(f"{len(labels)} labels for {classes} classes "
                           f"(fc has {classes} rows)")
    pre = {"width": input_size, "height": input_size, "color": "RGB",
           "mean": IMAGENET_MEAN, "std": IMAGENET_STD, "scale": 255, "resize": "stretch"}
    meta = {"format": "gst-attention-model", "format_version": "1", "name": name,
            "architecture": json.dumps(arch), "labels": json.dumps(labels, ensure_ascii=False),
            "preprocess": json.dumps(pre),
            "source": f"tools/convert.py --from {fmt} {os.path.basename(path)}"}
    return tensors, meta


def read_labels(path):
    """One class name per line; blank lines are skipped."""
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def read_tokens(path):
    """A decoder's vocabulary: one token per line, in id order (lines are
    stripped of their line end only; an empty line is an error)."""
    with open(path, encoding="utf-8") as f:
        tokens = [line.rstrip("\r\n") for line in f]
    while tokens and not tokens[-1]:
        tokens.pop()              # blank lines at the end
    if any(not t for t in tokens):
        raise ConvertError(f"{path}: token {tokens.index('') if '' in tokens else '?'} "
                           "is empty (one non-empty token per line)")
    return tokens


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Convert a PyTorch ResNet checkpoint into a gst-attention model file "
                    "(docs/model-format.md).")
    ap.add_argument("--from", dest="fmt", required=True, choices=FORMATS,
                    help="the checkpoint's layout")
    ap.add_argument("input", help="the checkpoint (.pth, .pth.tar)")
    ap.add_argument("output", help="the model file to write (.safetensors)")
    ap.add_argument("--labels", help="text file with one class name per line")
    ap.add_argument("--input-size", type=int, default=224, metavar="N",
                    help="the network input is N×N (default 224)")
    ap.add_argument("--name", help="model name shown to users (default: OUTPUT's stem)")
    ap.add_argument("--stn-layers", metavar="SPEC",
                    help="a checkpoint with stn.* keys: the modules of stn.localization, "
                    f"one per index (default '{STN_DEFAULT_LAYERS}', the PyTorch tutorial's)")
    ap.add_argument("--stn-fc", metavar="SPEC",
                    help="the modules of stn.fc_loc (default: Linear where the index has "
                    "weights, ReLU where not)")
    ap.add_argument("--decoder-vocab", metavar="FILE",
                    help="a checkpoint with a decoder head: its tokens, one per line, in id "
                    "order")
    ap.add_argument("--decoder-start", type=int, metavar="ID",
                    help="the start token's id (default: that of '<start>')")
    ap.add_argument("--decoder-end", type=int, metavar="ID",
                    help="the end token's id (default: that of '<end>')")
    ap.add_argument("--decoder-max-length", type=int, metavar="N",
                    help=f"the most tokens decoded, the end token included (default "
                    f"{DECODER_MAX_LENGTH})")
    ap.add_argument("--decoder-prefix", default="decoder.", metavar="P",
                    help="the decoder head's key prefix (default 'decoder.')")
    ap.add_argument("--stn-align-corners", action="store_true",
                    help="the STN calls affine_grid/grid_sample with align_corners=True "
                    "(default False, PyTorch's default)")
    args = ap.parse_args(argv)
    name = args.name or re.sub(r"\.safetensors$", "", os.path.basename(args.output))
    try:
        if not 1 <= args.input_size <= 4096:
            raise ConvertError(f"--input-size {args.input_size} is not in 1..4096")
        labels = read_labels(args.labels) if args.labels else None
        decoder = {"prefix": args.decoder_prefix,
                   "vocab": read_tokens(args.decoder_vocab) if args.decoder_vocab else None,
                   "start": args.decoder_start, "end": args.decoder_end,
                   "max_length": args.decoder_max_length}
        tensors, meta = convert(args.fmt, args.input, labels, args.input_size, name,
                                args.stn_layers, args.stn_fc, args.stn_align_corners,
                                decoder)
    except (ConvertError, OSError) as e:
        print(f"convert.py: {args.input}: {e}", file=sys.stderr)
        return 1
    attn_safetensors.save(args.output, tensors, meta)
    arch = json.loads(meta["architecture"])
    print(f"wrote {args.output}: {arch['block']} ResNet {arch['layers']}, "
          f"widths {arch['widths']}, attention {arch['attention']}, "
          f"{arch['num_classes']} classes, {len(tensors)} tensors"
          + (f", an STN of {len(arch['stn']['layers'])} layers" if arch["stn"] else "")
          + (f", a {arch['decoder']['cell'].upper()} decoder of "
             f"{len(arch['decoder']['vocabulary'])} tokens" if arch.get("decoder") else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
