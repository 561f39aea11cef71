# SPDX-License-Identifier: LGPL-2.1-or-later
"""PyTorch ResNets with the exact state_dict layouts and forward passes of the
checkpoints people have, for converter parity tests (tools/make_parity.py,
tools/test_convert.py). Nothing here is imported by the plugin.

    import reference_models as rm
    model = rm.randomize(rm.build("cbam-official", 50, widths=[8, 8, 16, 24],
                                  classes=7), seed=1)
    gates = rm.capture_gates(model)       # filled by every forward
    logits = model(x)                     # x (N, 3, H, W); model is in eval mode
    gates["layer1.0"] == {"channel": Mc (C,), "map": Ms (H, W)}
    rm.checkpoint(model, "cbam-official", path)   # saved the way the source saves

Formats (module names and forward semantics of the real code, rewritten here;
parameterless modules may differ but never change the state_dict):
  cbam-official       Jongchan/attention-module ResidualNet('ImageNet', depth,
                      classes, 'CBAM' or None): conv1/bn1, maxpool 3/2 pad 1,
                      layerL.B.{conv1,bn1,conv2,bn2,(conv3,bn3),downsample.0/1},
                      CBAM after bn2/bn3 as .cbam.ChannelGate.mlp.{1,3} (Linear,
                      bias) and .cbam.SpatialGate.spatial.{conv (no bias), bn};
                      ChannelPool = cat(max, mean); stride on the 3×3; fc.
                      Saved by DataParallel: {'state_dict': {'module.' + k: v}}.
  timm-seresnet       timm seresnet18/34/50/101: the same trunk, SEModule as
                      .se.fc1/.se.fc2 (1×1 convs with bias; hidden
                      make_divisible(C/16, 8) with round_limit 0, as timm's
                      SEModule calls it), after bn2/bn3; fc. Plain state dict.
  cadene-seresnet     pretrainedmodels se_resnet50/101: layer0.{conv1,bn1,pool}
                      (7×7/2 pad 3; MaxPool2d(3, 2, ceil_mode=True), no pad),
                      SEResNetBottleneck with the stride on conv1 (the 1×1),
                      .se_module.fc1/fc2 (1×1 convs with bias, hidden C // 16),
                      downsample.0/1, last_linear. Plain state dict.
  torchvision-resnet  torchvision.models.resnet* (the real classes when
                      torchvision imports: torchvision's own blocks, _make_layer
                      and forward, only the stage widths are ours; otherwise an
                      identical re-implementation). Plain state dict.
A Spatial Transformer front end (add_stn) is a module `stn` with two
nn.Sequentials, `localization` and `fc_loc`, as in the PyTorch STN tutorial:
theta = fc_loc(flatten(localization(x))).view(-1, 2, 3), then affine_grid +
grid_sample (bilinear, zeros padding) warp x before the backbone; its keys
are stn.localization.{j}.* and stn.fc_loc.{j}.* beside the backbone's.
Every head is a global average pool (the sources' AvgPool2d(7) is the same at
224²), so any input size works.

Sizes: depth 18/34/50/101 picks block and layers (or pass block= and layers=);
widths are the four stages' planes (default 64·2^s, times width_mult); the stem
has widths[0] channels unless stem_width says otherwise. randomize() sets
every parameter AND every BatchNorm running statistic to random values.
"""
from collections import OrderedDict
import re

import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    import torchvision.models.resnet as _tv
except Exception:  # torchvision is optional: only the torchvision format uses it
    _tv = None

FORMATS = ("cbam-official", "timm-seresnet", "cadene-seresnet", "torchvision-resnet")
DEPTHS = {18: ("basic", [2, 2, 2, 2]), 34: ("basic", [3, 4, 6, 3]),
          50: ("bottleneck", [3, 4, 6, 3]), 101: ("bottleneck", [3, 4, 23, 3]),
          152: ("bottleneck", [3, 8, 36, 3])}


def make_divisible(v, divisor=8, min_value=None, round_limit=0.9):
    """timm.layers.helpers.make_divisible."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return new_v


def timm_se_hidden(c):
    return make_divisible(c / 16, 8, round_limit=0.0)


def _downsample(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


# --- official CBAM (Jongchan/attention-module MODELS/cbam.py, model_resnet.py) ---

class Flatten(nn.Module):
    def forward(self, x):
        return x.view(x.size(0), -1)


class BasicConv(nn.Module):
    """Conv (no bias) → BatchNorm2d(eps 1e-5, momentum 0.01) → optional ReLU."""

    def __init__(self, cin, cout, k, padding, relu=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, 1, padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.01, affine=True)
        self.relu = nn.ReLU() if relu else None

    def forward(self, x):
        x = self.bn(self.conv(x))
        return self.relu(x) if self.relu is not None else x


class ChannelGate(nn.Module):
    """Mc = σ(mlp(avgpool(x)) + mlp(maxpool(x))); mlp = [Flatten, Linear, ReLU, Linear]."""

    def __init__(self, c, r=16):
        super().__init__()
        self.mlp = nn.Sequential(Flatten(), nn.Linear(c, c // r), nn.ReLU(), nn.Linear(c // r, c))
        self.sigmoid = nn.Sigmoid()   # parameterless, so capture_gates can hook Mc

    def forward(self, x):
        hw = (x.size(2), x.size(3))
        att = self.mlp(F.avg_pool2d(x, hw, stride=hw)) + self.mlp(F.max_pool2d(x, hw, stride=hw))
        return x * self.sigmoid(att).unsqueeze(2).unsqueeze(3).expand_as(x)


class ChannelPool(nn.Module):
    """(N, C, H, W) → (N, 2, H, W): channel 0 the max over C, channel 1 the mean."""

    def forward(self, x):
        return torch.cat((torch.max(x, 1)[0].unsqueeze(1), torch.mean(x, 1).unsqueeze(1)), dim=1)


class SpatialGate(nn.Module):
    """Ms = σ(BN(conv_k(ChannelPool(x))))."""

    def __init__(self, k=7):
        super().__init__()
        self.compress = ChannelPool()
        self.spatial = BasicConv(2, 1, k, (k - 1) // 2, relu=False)
        self.sigmoid = nn.Sigmoid()   # parameterless, so capture_gates can hook Ms

    def forward(self, x):
        return x * self.sigmoid(self.spatial(self.compress(x)))


class CBAM(nn.Module):
    def __init__(self, c, r=16, k=7):
        super().__init__()
        self.ChannelGate = ChannelGate(c, r)
        self.SpatialGate = SpatialGate(k)

    def forward(self, x):
        return self.SpatialGate(self.ChannelGate(x))


class OfficialBasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride=1, downsample=None, use_cbam=False):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.cbam = CBAM(planes, 16) if use_cbam else None

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        residual = self.downsample(x) if self.downsample is not None else x
        if self.cbam is not None:
            out = self.cbam(out)
        return self.relu(out + residual)


class OfficialBottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride=1, downsample=None, use_cbam=False):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.cbam = CBAM(planes * 4, 16) if use_cbam else None

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        residual = self.downsample(x) if self.downsample is not None else x
        if self.cbam is not None:
            out = self.cbam(out)
        return self.relu(out + residual)


class OfficialResNet(nn.Module):
    """ResidualNet('ImageNet', ...) with a global average pool head."""

    def __init__(self, block, layers, widths, stem_width, classes, att_type):
        super().__init__()
        self.conv1 = nn.Conv2d(3, stem_width, 7, 2, 3, bias=False)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.bn1 = nn.BatchNorm2d(stem_width)
        self.relu = nn.ReLU(inplace=True)
        cin = stem_width
        for s, (n, p) in enumerate(zip(layers, widths)):
            stride = 1 if s == 0 else 2
            cout = p * block.expansion
            down = _downsample(cin, cout, stride) if stride != 1 or cin != cout else None
            blocks = [block(cin, p, stride, down, use_cbam=att_type == "CBAM")]
            blocks += [block(cout, p, use_cbam=att_type == "CBAM") for _ in range(1, n)]
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
            cin = cout
        self.n_stages = len(layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for s in range(self.n_stages):
            x = getattr(self, f"layer{s + 1}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


# --- timm seresnet* (timm/models/resnet.py, timm/layers/squeeze_excite.py) ---

class TimmSEModule(nn.Module):
    def __init__(self, c):
        super().__init__()
        hidden = timm_se_hidden(c)
        self.fc1 = nn.Conv2d(c, hidden, 1, bias=True)
        self.bn = nn.Identity()
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden, c, 1, bias=True)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        s = self.fc2(self.act(self.bn(self.fc1(x.mean((2, 3), keepdim=True)))))
        return x * self.gate(s)


class TimmBasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride=1, downsample=None, se=True):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.se = TimmSEModule(planes) if se else None
        self.act2 = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        shortcut = x
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.se is not None:
            out = self.se(out)
        if self.downsample is not None:
            shortcut = self.downsample(shortcut)
        return self.act2(out + shortcut)


class TimmBottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride=1, downsample=None, se=True):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.act2 = nn.ReLU(inplace=True)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.se = TimmSEModule(planes * 4) if se else None
        self.act3 = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        shortcut = x
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.act2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.se is not None:
            out = self.se(out)
        if self.downsample is not None:
            shortcut = self.downsample(shortcut)
        return self.act3(out + shortcut)


class TimmResNet(nn.Module):
    def __init__(self, block, layers, widths, stem_width, classes, se):
        super().__init__()
        self.conv1 = nn.Conv2d(3, stem_width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_width)
        self.act1 = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = stem_width
        for s, (n, p) in enumerate(zip(layers, widths)):
            stride = 1 if s == 0 else 2
            cout = p * block.expansion
            down = _downsample(cin, cout, stride) if stride != 1 or cin != cout else None
            blocks = [block(cin, p, stride, down, se)]
            blocks += [block(cout, p, 1, None, se) for _ in range(1, n)]
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
            cin = cout
        self.n_stages = len(layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
        for s in range(self.n_stages):
            x = getattr(self, f"layer{s + 1}")(x)
        return self.fc(x.mean((2, 3)))


# --- Cadene pretrainedmodels se_resnet* (pretrainedmodels/models/senet.py) ---

class CadeneSEModule(nn.Module):
    def __init__(self, c, reduction=16):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, c // reduction, 1, padding=0)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(c // reduction, c, 1, padding=0)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        return x * self.sigmoid(self.fc2(self.relu(self.fc1(self.avg_pool(x)))))


class SEResNetBottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, reduction, stride=1, downsample=None, se=True):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False, stride=stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.se_module = CadeneSEModule(planes * 4, reduction) if se else None
        self.downsample = downsample

    def forward(self, x):
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        if self.se_module is not None:
            out = self.se_module(out)
        return self.relu(out + residual)


class CadeneSENet(nn.Module):
    """SENet(SEResNetBottleneck, ..., inplanes=64, input_3x3=False,
    downsample_kernel_size=1, downsample_padding=0) with a global pool."""

    def __init__(self, layers, widths, stem_width, classes, se):
        super().__init__()
        self.layer0 = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(3, stem_width, 7, stride=2, padding=3, bias=False)),
            ("bn1", nn.BatchNorm2d(stem_width)),
            ("relu1", nn.ReLU(inplace=True)),
            ("pool", nn.MaxPool2d(3, stride=2, ceil_mode=True)),
        ]))
        cin = stem_width
        for s, (n, p) in enumerate(zip(layers, widths)):
            stride = 1 if s == 0 else 2
            cout = p * 4
            down = _downsample(cin, cout, stride) if stride != 1 or cin != cout else None
            blocks = [SEResNetBottleneck(cin, p, 16, stride, down, se)]
            blocks += [SEResNetBottleneck(cout, p, 16, 1, None, se) for _ in range(1, n)]
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
            cin = cout
        self.n_stages = len(layers)
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = None
        self.last_linear = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.layer0(x)
        for s in range(self.n_stages):
            x = getattr(self, f"layer{s + 1}")(x)
        return self.last_linear(self.avg_pool(x).view(x.size(0), -1))


# --- torchvision.models.resnet ---

if _tv is not None:
    class TorchvisionResNet(_tv.ResNet):
        """torchvision's ResNet with our stage widths: torchvision's blocks,
        _make_layer and forward; only __init__'s hard-coded 64·2^s differ."""

        def __init__(self, block, layers, widths, stem_width, classes):
            nn.Module.__init__(self)
            self._norm_layer = nn.BatchNorm2d
            self.inplanes, self.dilation, self.groups, self.base_width = stem_width, 1, 1, 64
            self.conv1 = nn.Conv2d(3, stem_width, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(stem_width)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            self.layer1 = self._make_layer(block, widths[0], layers[0])
            self.layer2 = self._make_layer(block, widths[1], layers[1], stride=2)
            self.layer3 = self._make_layer(block, widths[2], layers[2], stride=2)
            self.layer4 = self._make_layer(block, widths[3], layers[3], stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(widths[3] * block.expansion, classes)


class PlainBasicBlock(nn.Module):
    """torchvision.models.resnet.BasicBlock (the fallback without torchvision)."""
    expansion = 1

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = self.downsample(x) if self.downsample is not None else x
        return self.relu(out + identity)


class PlainBottleneck(nn.Module):
    """torchvision.models.resnet.Bottleneck (stride on the 3×3)."""
    expansion = 4

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = self.downsample(x) if self.downsample is not None else x
        return self.relu(out + identity)


class PlainResNet(nn.Module):
    """torchvision's ResNet layout re-implemented (any number of stages)."""

    def __init__(self, block, layers, widths, stem_width, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, stem_width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = stem_width
        for s, (n, p) in enumerate(zip(layers, widths)):
            stride = 1 if s == 0 else 2
            cout = p * block.expansion
            down = _downsample(cin, cout, stride) if stride != 1 or cin != cout else None
            blocks = [block(cin, p, stride, down)] + [block(cout, p) for _ in range(1, n)]
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
            cin = cout
        self.n_stages = len(layers)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for s in range(self.n_stages):
            x = getattr(self, f"layer{s + 1}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


# --- building, randomising, saving, observing ---

def build(fmt, depth=None, *, block=None, layers=None, widths=None, width_mult=1.0,
          stem_width=None, classes=1000, attention=True, use_torchvision=True):
    """An eval-mode model of format `fmt`. depth (18/34/50/101/152) gives block
    and layers unless they are passed; widths default to 64·2^s × width_mult;
    attention=False builds the source's plain ResNet (ResidualNet with
    att_type None, timm resnet*, SENet without se_module)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if depth is not None:
        block = block or DEPTHS[depth][0]
        layers = layers or DEPTHS[depth][1]
    if block not in ("basic", "bottleneck") or not layers:
        raise ValueError("pass depth, or block ('basic'/'bottleneck') and layers")
    if widths is None:
        widths = [max(1, round(64 * 2 ** s * width_mult)) for s in range(len(layers))]
    widths = list(widths)
    if len(widths) != len(layers):
        raise ValueError(f"{len(layers)} stages but {len(widths)} widths")
    stem = stem_width or widths[0]
    bott = block == "bottleneck"
    if attention and fmt in ("cbam-official", "cadene-seresnet"):
        c = min(widths) * (4 if bott else 1)
        if c // 16 < 1:
            raise ValueError(f"{fmt}: a {c}-channel stage has no hidden units (C // 16 = 0)")
    if fmt == "cbam-official":
        m = OfficialResNet(OfficialBottleneck if bott else OfficialBasicBlock, layers, widths,
                           stem, classes, "CBAM" if attention else None)
    elif fmt == "timm-seresnet":
        m = TimmResNet(TimmBottleneck if bott else TimmBasicBlock, layers, widths, stem,
                       classes, attention)
    elif fmt == "cadene-seresnet":
        if not bott:
            raise ValueError("Cadene's SENets are all bottleneck networks")
        m = CadeneSENet(layers, widths, stem, classes, attention)
    elif _tv is not None and use_torchvision and len(layers) == 4:
        m = TorchvisionResNet(_tv.Bottleneck if bott else _tv.BasicBlock, layers, widths, stem,
                              classes)
    else:
        m = PlainResNet(PlainBottleneck if bott else PlainBasicBlock, layers, widths, stem,
                        classes)
    return m.eval()


class STN(nn.Module):
    """The PyTorch STN tutorial's module layout; `theta` holds image 0's
    theta (6 values, row-major) after each forward."""

    def __init__(self, localization, fc_loc, align_corners=False):
        super().__init__()
        self.localization = localization
        self.fc_loc = fc_loc
        self.align_corners = align_corners
        self.theta = None

    def forward(self, x):
        xs = self.localization(x)
        theta = self.fc_loc(xs.reshape(xs.size(0), -1)).view(-1, 2, 3)
        self.theta = theta[0].detach().reshape(-1).clone()
        grid = F.affine_grid(theta, list(x.size()), align_corners=self.align_corners)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros",
                             align_corners=self.align_corners)


def add_stn(model, localization, fc_loc, align_corners=False):
    """Puts an STN front end (model.stn) in front of `model`'s forward. Call
    randomize() before, not after, if the θ regressor is set by hand."""
    model.stn = STN(localization, fc_loc, align_corners).eval()
    backbone = model.forward
    model.forward = lambda x: backbone(model.stn(x))
    return model


def uses_torchvision(model):
    return _tv is not None and isinstance(model, _tv.ResNet)


_GATE_MLP_RE = re.compile(r"(ChannelGate\.mlp|\.se\.fc|\.se_module\.fc)")


def randomize(model, seed):
    """Every weight and bias random, and BatchNorm's running statistics too
    (fresh BatchNorm — mean 0, var 1, γ 1, β 0 — would hide folding and
    channel-order bugs). Convolution and linear weights are uniform with
    variance 2/fan_in (He; the gates' MLPs 1/fan_in), BatchNorm rescales by
    γ/√var with γ ∈ [0.5, 1.1] (× 0.6 for a residual branch's last BN),
    var ∈ [0.5, 2]: activations stay O(1) through a 101-layer stack, so a
    1e-4 relative comparison means something."""
    g = torch.Generator().manual_seed(seed)

    def uniform(shape, lo, hi):
        return torch.rand(shape, generator=g) * (hi - lo) + lo

    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                # var 2/fan_in; gate MLPs 1/fan_in so their sigmoids mostly
                # stay off the flat tails (a saturated gate hides errors)
                gate = _GATE_MLP_RE.search(name) is not None
                bound = ((3.0 if gate else 6.0) / m.weight[0].numel()) ** 0.5
                m.weight.copy_(uniform(m.weight.shape, -bound, bound))
                if m.bias is not None:
                    m.bias.copy_(uniform(m.bias.shape, -0.2, 0.2))
            elif isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(uniform(n, 0.5, 1.1))
                m.bias.copy_(uniform(n, -0.2, 0.2))
                m.running_mean.copy_(uniform(n, -0.3, 0.3))
                m.running_var.copy_(uniform(n, 0.5, 2.0))
        # The residual branch's last BN a little smaller, so that 23 blocks
        # of `x + branch(x)` do not grow the activations tenfold.
        for m in model.modules():
            if hasattr(m, "downsample") and hasattr(m, "bn2"):   # a residual block
                last = m.bn3 if hasattr(m, "bn3") else m.bn2
                last.weight.mul_(0.6)
    return model


def checkpoint(model, fmt, path):
    """Saves `model` the way its source distributes it."""
    sd = model.state_dict()
    if fmt == "cbam-official":   # train_imagenet.py: DataParallel, save_checkpoint({...})
        torch.save({"epoch": 90, "arch": "resnet", "best_prec1": 0.0,
                    "state_dict": OrderedDict(("module." + k, v) for k, v in sd.items()),
                    "optimizer": {}}, path)
    else:
        torch.save(sd, path)


_GATE_RE = re.compile(r"^(layer\d+\.\d+)\.(cbam\.ChannelGate\.sigmoid|cbam\.SpatialGate\.sigmoid"
                      r"|se\.gate|se_module\.sigmoid)$")


def capture_gates(model):
    """Hooks every attention gate's sigmoid; returns a dict that each forward
    fills with {"layerL.B": {"channel": (C,), "map": (H, W)}} for image 0
    (CBAM: Mc and Ms; SE: s only), in network order."""
    gates = OrderedDict()

    def hook(block, kind):
        def f(_mod, _inp, out):
            v = out[0].detach().clone()
            gates.setdefault(block, {})[kind] = v.reshape(-1) if kind == "channel" else v[0]
        return f

    for name, mod in model.named_modules():
        m = _GATE_RE.match(name)
        if m:
            kind = "map" if m.group(2) == "cbam.SpatialGate.sigmoid" else "channel"
            mod.register_forward_hook(hook(m.group(1), kind))
    return gates


class SoftAttentionDecoder(nn.Module):
    """The encoder–decoder soft-attention head of the model format
    (docs/model-format.md, "decoder"): "Show, Attend and Tell" on the
    backbone's last feature map. Keys under the model's `decoder.` prefix:

      init_h (Dh, D), init_c (LSTM)   h0 = tanh(init_h(ā)), c0 = tanh(init_c(ā)),
                                      ā the mean annotation
      embed (V, E)                    nn.Embedding
      att.enc (Da, D) + bias,         additive: e_i = vᵀ tanh(enc(a_i) + dec(h))
      att.dec (Da, Dh) no bias,
      att.v (1, Da) no bias
      att.query (D, Dh) + bias        dot: e_i = a_i · query(h) / √D
      gate (1, Dh) + bias             optional: z ← σ(gate(h)) · z
      cell                            nn.GRUCell / nn.LSTMCell (E + D → Dh)
      out (V, Dh + D) + bias          logits = out([h_t ; z_t])

    One step t (h is h_{t-1}; y_{-1} is the start token):
      α_t = softmax(e), z_t = Σ_i α_t,i a_i (× β_t with a gate),
      h_t = cell([embed(y_{t-1}) ; z_t], h_{t-1}), logits_t = out([h_t ; z_t]).
    The annotations a_i are the feature map (N, D, H, W) read row-major:
    i = y·W + x. Greedy decoding takes y_t = argmax logits_t (the lowest
    index on a tie) and stops after emitting the end token or max_length
    tokens."""

    def __init__(self, d, vocab, hidden, embed, att_dim=0, cell="gru",
                 attention="additive", gate=True):
        super().__init__()
        assert cell in ("gru", "lstm") and attention in ("additive", "dot")
        self.cell_kind, self.attention = cell, attention
        self.init_h = nn.Linear(d, hidden)
        if cell == "lstm":
            self.init_c = nn.Linear(d, hidden)
        self.embed = nn.Embedding(vocab, embed)
        self.att = nn.Module()
        if attention == "additive":
            self.att.enc = nn.Linear(d, att_dim)
            self.att.dec = nn.Linear(hidden, att_dim, bias=False)
            self.att.v = nn.Linear(att_dim, 1, bias=False)
        else:
            self.att.query = nn.Linear(hidden, d)
        self.gate = nn.Linear(hidden, 1) if gate else None
        cls = nn.GRUCell if cell == "gru" else nn.LSTMCell
        self.cell = cls(embed + d, hidden)
        self.out = nn.Linear(hidden + d, vocab)

    def start(self, feats):
        """(annotations (N, L, D), the projected annotations or None, state)."""
        a = feats.flatten(2).transpose(1, 2)
        mean = a.mean(1)
        h = torch.tanh(self.init_h(mean))
        state = (h, torch.tanh(self.init_c(mean))) if self.cell_kind == "lstm" else h
        proj = self.att.enc(a) if self.attention == "additive" else None
        return a, proj, state

    def step(self, a, proj, y_prev, state):
        """One step: (logits (N, V), α (N, L), the new state)."""
        h = state[0] if self.cell_kind == "lstm" else state
        if self.attention == "additive":
            e = self.att.v(torch.tanh(proj + self.att.dec(h).unsqueeze(1))).squeeze(2)
        else:
            q = self.att.query(h)
            e = (a @ q.unsqueeze(2)).squeeze(2) / (a.shape[2] ** 0.5)
        alpha = torch.softmax(e, dim=1)
        z = (alpha.unsqueeze(2) * a).sum(1)
        if self.gate is not None:
            z = torch.sigmoid(self.gate(h)) * z
        x = torch.cat([self.embed(y_prev), z], dim=1)
        state = self.cell(x, state)
        h = state[0] if self.cell_kind == "lstm" else state
        return self.out(torch.cat([h, z], dim=1)), alpha, state

    def forward(self, feats, start_token, end_token, max_length, targets=None):
        """Logits (N, T, V) and α (N, T, L). With targets (N, T) the inputs
        are the targets shifted right (teacher forcing, T steps); without,
        greedy decoding of max_length steps (every image runs all steps; a
        caller cuts each sequence after its first end token)."""
        a, proj, state = self.start(feats)
        n = a.shape[0]
        y = torch.full((n,), start_token, dtype=torch.long, device=a.device)
        steps = targets.shape[1] if targets is not None else max_length
        logits, alphas = [], []
        for t in range(steps):
            lo, al, state = self.step(a, proj, y, state)
            logits.append(lo)
            alphas.append(al)
            y = targets[:, t] if targets is not None else lo.argmax(1)
        return torch.stack(logits, 1), torch.stack(alphas, 1)


def greedy_sequence(logits, end_token):
    """Image 0's tokens up to and including the first end token (a list),
    from forward()'s greedy logits."""
    out = []
    for t in logits[0].argmax(1).tolist():
        out.append(t)
        if t == end_token:
            break
    return out
