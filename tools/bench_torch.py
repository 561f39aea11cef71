#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""PyTorch's time for the networks attn-bench runs, for comparison in the
same run. Builds torchvision-layout ResNets (with the official CBAM gate in
every block when asked) with random weights in eval mode and prints two
lines for a batch-1 forward at the given size, medians in milliseconds:

    ms <eager>      the module as written, under torch.no_grad()
    opt <frozen>    torch.jit.trace → torch.jit.freeze (folds BatchNorm) →
                    torch.jit.optimize_for_inference (oneDNN convolutions):
                    PyTorch's own fastest CPU inference path

    /usr/bin/python3 tools/bench_torch.py resnet18 cbam 224 2 20

With `decoder` first it times the soft-attention decoder head instead
(tools/reference_models.SoftAttentionDecoder, GRU, additive, gated) on a
random D × H × W feature map, teacher-forced for T steps (every step runs,
as attn-bench's does), one line `ms <eager>`:

    /usr/bin/python3 tools/bench_torch.py decoder D H W Dh E Da V T THREADS RUNS

Reads and writes nothing else. torch.set_num_threads is set explicitly
(its default on this machine is 1).
"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class CBAM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.mlp1, self.mlp2 = nn.Linear(c, c // 16), nn.Linear(c // 16, c)
        self.conv = nn.Conv2d(2, 1, 7, padding=3, bias=False)
        self.bn = nn.BatchNorm2d(1)

    def forward(self, f):
        mlp = lambda z: self.mlp2(F.relu(self.mlp1(z)))  # noqa: E731
        f = f * torch.sigmoid(mlp(f.mean((2, 3))) + mlp(f.amax((2, 3))))[:, :, None, None]
        p = torch.cat([f.amax(1, keepdim=True), f.mean(1, keepdim=True)], 1)
        return f * torch.sigmoid(self.bn(self.conv(p)))


class Block(nn.Module):
    def __init__(self, cin, p, stride, bottleneck, cbam):
        super().__init__()
        exp = 4 if bottleneck else 1
        if bottleneck:
            self.convs = nn.ModuleList([nn.Conv2d(cin, p, 1, bias=False),
                                        nn.Conv2d(p, p, 3, stride, 1, bias=False),
                                        nn.Conv2d(p, p * 4, 1, bias=False)])
        else:
            self.convs = nn.ModuleList([nn.Conv2d(cin, p, 3, stride, 1, bias=False),
                                        nn.Conv2d(p, p, 3, 1, 1, bias=False)])
        self.bns = nn.ModuleList([nn.BatchNorm2d(c.out_channels) for c in self.convs])
        self.cbam = CBAM(p * exp) if cbam else None
        self.down = None
        if stride != 1 or cin != p * exp:
            self.down = nn.Sequential(nn.Conv2d(cin, p * exp, 1, stride, bias=False),
                                      nn.BatchNorm2d(p * exp))

    def forward(self, x):
        out = x
        for i, (c, b) in enumerate(zip(self.convs, self.bns)):
            out = b(c(out))
            if i < len(self.convs) - 1:
                out = F.relu(out)
        if self.cbam is not None:
            out = self.cbam(out)
        return F.relu(out + (self.down(x) if self.down is not None else x))


def resnet(depth, cbam):
    layers = {18: [2, 2, 2, 2], 50: [3, 4, 6, 3]}[depth]
    bottleneck = depth >= 50
    mods = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
            nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for s, (n, p) in enumerate(zip(layers, [64, 128, 256, 512])):
        for b in range(n):
            mods.append(Block(cin, p, 2 if s > 0 and b == 0 else 1, bottleneck, cbam))
            cin = p * (4 if bottleneck else 1)
    mods += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1000)]
    return nn.Sequential(*mods).eval()


def median_ms(f, x, runs):
    times = []
    with torch.no_grad():
        for _ in range(3):
            f(x)
        for _ in range(runs):
            t = time.perf_counter()
            f(x)
            times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    return times[len(times) // 2]


def main_decoder(args):
    import os
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from reference_models import SoftAttentionDecoder
    d, h, w, dh, e, da, v, steps, threads, runs = (int(a) for a in args)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    dec = SoftAttentionDecoder(d, v, dh, e, da, "gru", "additive", True).eval()
    feats = torch.rand(1, d, h, w)
    targets = torch.randint(0, v, (1, steps))
    print(f"ms {median_ms(lambda x: dec(x, 0, 1, steps, targets), feats, runs):.3f}")


def main():
    if sys.argv[1] == "decoder":
        main_decoder(sys.argv[2:])
        return
    arch, att, size, threads, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
        int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = resnet(int(arch.replace("resnet", "")), att == "cbam")
    x = torch.rand(1, 3, size, size)
    print(f"ms {median_ms(net, x, runs):.3f}", flush=True)
    with torch.no_grad():
        frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(net, x)))
    print(f"opt {median_ms(frozen, x, runs):.3f}")

if __name__ == "__main__":
    main()
