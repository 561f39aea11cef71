"""PyTorch ResNets with the exact state_dict key layouts of the checkpoints
people have, for converter parity tests (tools/make_parity.py).

build(fmt, depth, widths, classes) returns an eval-mode model whose
state_dict() keys are those of:
  torchvision-resnet  torchvision.models.resnet*          (conv1, bn1, layerL.B.*, fc)
  cbam-official       Jongchan/attention-module ResidualNet (… .cbam.ChannelGate.mlp.{1,3},
                      .cbam.SpatialGate.spatial.{conv,bn}; saved with a `module.` prefix)
  timm-seresnet       timm seresnet*                       (… .se.fc1/fc2 1×1 convs with bias)
  cadene-seresnet     pretrainedmodels se_resnet50         (layer0.*, .se_module.fc1/fc2,
                      stride on the 1×1, ceil-mode max pool, last_linear)
Widths are configurable so committed fixtures stay small; depth structure is
the real one. randomize() sets every parameter AND every BatchNorm running
statistic to random values (fresh BatchNorm would hide folding bugs).

forward() returns (logits, maps) where maps[name] = (Ms, Mc): the CBAM
spatial gate (H, W) and channel gate (C,), or (None, s) for SE, per block.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

DEPTHS = {18: ("basic", [2, 2, 2, 2]), 34: ("basic", [3, 4, 6, 3]),
          50: ("bottleneck", [3, 4, 6, 3]), 101: ("bottleneck", [3, 4, 23, 3])}


class ChannelGate(nn.Module):
    def __init__(self, c, r):
        super().__init__()
        self.mlp = nn.Sequential(nn.Flatten(), nn.Linear(c, c // r), nn.ReLU(),
                                 nn.Linear(c // r, c))

    def forward(self, x):
        avg = F.avg_pool2d(x, x.shape[2:])
        mx = F.max_pool2d(x, x.shape[2:])
        return torch.sigmoid(self.mlp(avg) + self.mlp(mx))


class BasicConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 7, padding=3, bias=False)
        self.bn = nn.BatchNorm2d(1, eps=1e-5, momentum=0.01)


class SpatialGate(nn.Module):
    def __init__(self):
        super().__init__()
        self.spatial = BasicConv()

    def forward(self, x):
        p = torch.cat((torch.max(x, 1)[0].unsqueeze(1), torch.mean(x, 1).unsqueeze(1)), 1)
        return torch.sigmoid(self.spatial.bn(self.spatial.conv(p)))


class CBAM(nn.Module):
    def __init__(self, c, r=16):
        super().__init__()
        self.ChannelGate = ChannelGate(c, r)
        self.SpatialGate = SpatialGate()

    def forward(self, x):
        mc = self.ChannelGate(x)
        x = x * mc[:, :, None, None]
        ms = self.SpatialGate(x)
        return x * ms, (ms[0, 0], mc[0])


def make_divisible(v, divisor=8):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class SE(nn.Module):
    """timm's SEModule and Cadene's SEModule: 1×1 convs with bias."""

    def __init__(self, c, hidden):
        super().__init__()
        self.fc1 = nn.Conv2d(c, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, c, 1)

    def forward(self, x):
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean((2, 3), keepdim=True)))))
        return x * s, (None, s[0, :, 0, 0])


class Block(nn.Module):
    def __init__(self, kind, cin, planes, stride, fmt):
        super().__init__()
        exp = 4 if kind == "bottleneck" else 1
        cout = planes * exp
        self.kind = kind
        s1 = stride if (kind == "bottleneck" and fmt == "cadene-seresnet") else 1
        if kind == "basic":
            self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        else:
            self.conv1 = nn.Conv2d(cin, planes, 1, s1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        s2 = 1 if kind == "basic" or s1 != 1 else stride
        self.conv2 = nn.Conv2d(planes, planes, 3, s2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if kind == "bottleneck":
            self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(cout)
        self.gate_attr = None
        if fmt == "cbam-official":
            self.cbam = CBAM(cout)
            self.gate_attr = "cbam"
        elif fmt == "timm-seresnet":
            self.se = SE(cout, make_divisible(cout / 16))
            self.gate_attr = "se"
        elif fmt == "cadene-seresnet":
            self.se_module = SE(cout, cout // 16)
            self.gate_attr = "se_module"
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        if self.kind == "bottleneck":
            out = F.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
        else:
            out = self.bn2(self.conv2(out))
        gate = None
        if self.gate_attr:
            out, gate = getattr(self, self.gate_attr)(out)
        idt = self.downsample(x) if self.downsample is not None else x
        return F.relu(out + idt), gate


class Stem(nn.Module):
    """Cadene's layer0: conv1, bn1, (relu1), pool."""

    def __init__(self, w):
        super().__init__()
        self.conv1 = nn.Conv2d(3, w, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w)


class ResNet(nn.Module):
    def __init__(self, fmt, depth, widths, classes):
        super().__init__()
        kind, layers = DEPTHS[depth]
        self.fmt = fmt
        stem = widths[0]
        if fmt == "cadene-seresnet":
            self.layer0 = Stem(stem)
        else:
            self.conv1 = nn.Conv2d(3, stem, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(stem)
        cin = stem
        for s, (n, w) in enumerate(zip(layers, widths)):
            blocks = []
            for b in range(n):
                blocks.append(Block(kind, cin, w, 2 if s > 0 and b == 0 else 1, fmt))
                cin = w * (4 if kind == "bottleneck" else 1)
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        head = nn.Linear(cin, classes)
        if fmt == "cadene-seresnet":
            self.last_linear = head
        else:
            self.fc = head

    def forward(self, x):
        if self.fmt == "cadene-seresnet":
            x = F.relu(self.layer0.bn1(self.layer0.conv1(x)))
            x = F.max_pool2d(x, 3, 2, 0, ceil_mode=True)
        else:
            x = F.relu(self.bn1(self.conv1(x)))
            x = F.max_pool2d(x, 3, 2, 1)
        maps = {}
        for s in range(1, 5):
            for b, blk in enumerate(getattr(self, f"layer{s}")):
                x, gate = blk(x)
                if gate is not None:
                    maps[f"layer{s}.{b}"] = gate
        x = x.mean((2, 3))
        head = self.last_linear if self.fmt == "cadene-seresnet" else self.fc
        return head(x), maps


def build(fmt, depth, widths, classes):
    return ResNet(fmt, depth, widths, classes).eval()


def randomize(model, seed):
    """Every weight random, and BatchNorm's running statistics too; scaled so
    activations neither explode nor vanish through deep stacks."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_((torch.rand(m.weight.shape, generator=g) * 2 - 1)
                               * (1.7 / fan_in ** 0.5))
                if m.bias is not None:
                    m.bias.copy_((torch.rand(m.bias.shape, generator=g) - 0.5) * 0.2)
            elif isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=g) * 0.6 + 0.5)
                m.bias.copy_((torch.rand(n, generator=g) - 0.5) * 0.4)
                m.running_mean.copy_((torch.rand(n, generator=g) - 0.5) * 0.4)
                m.running_var.copy_(torch.rand(n, generator=g) * 1.5 + 0.5)
    return model
