#!/usr/bin/python3
"""Write the PyTorch goldens the kernel tests compare against.

Reads nothing; writes tests/kernels/goldens/{conv,pool,linear,se,cbam,stn,
soft_attention}.safetensors. Each case is a set of tensors named
"<case>.<tensor>" plus a __metadata__ entry "<case>" holding its parameters as
a JSON object (with "op" saying which kernel). Seeded: rerunning gives the
same files for the same torch version. Run with Debian's python3-torch:

    /usr/bin/python3 tools/make_goldens.py
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import attn_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "kernels",
                   "goldens")


class Golden:
    def __init__(self, name):
        self.name, self.tensors, self.meta = name, {}, {}

    def case(self, case, params, **tensors):
        self.meta[case] = json.dumps(params)
        for k, v in tensors.items():
            self.tensors[f"{case}.{k}"] = v.detach().contiguous().float().numpy()

    def write(self):
        self.meta["format"] = "attn-goldens-1"
        self.meta["generator"] = f"tools/make_goldens.py torch {torch.__version__}"
        path = os.path.join(OUT, f"{self.name}.safetensors")
        attn_safetensors.save(path, self.tensors, self.meta)
        print(f"{path}: {len(self.meta) - 2} cases, {os.path.getsize(path)} bytes")


def rand(*shape, lo=-1.0, hi=1.0):
    return torch.rand(*shape) * (hi - lo) + lo


def conv_goldens():
    g = Golden("conv")
    cases = [  # name, n, cin, cout, h, w, k, stride, pad, dil, groups, extras
        ("k3s1p1", 1, 5, 7, 8, 8, 3, 1, 1, 1, 1, ""),
        ("k3s2p1_odd", 1, 3, 17, 9, 11, 3, 2, 1, 1, 1, "bias"),
        ("k1s1_gemm", 1, 33, 17, 7, 5, 1, 1, 0, 1, 1, "bias"),
        ("k1s2", 1, 16, 32, 9, 11, 1, 2, 0, 1, 1, ""),
        ("k7s2p3_stem", 1, 3, 8, 23, 19, 7, 2, 3, 1, 1, "bn,relu"),
        ("k7p3_on_5x5", 1, 2, 3, 5, 5, 7, 1, 3, 1, 1, ""),
        ("dil2", 1, 4, 6, 10, 9, 3, 1, 2, 2, 1, "bias"),
        ("groups2_odd", 1, 6, 10, 7, 7, 3, 1, 1, 1, 2, ""),
        ("depthwise", 1, 13, 13, 9, 7, 3, 1, 1, 1, 13, "bias"),
        ("depthwise_s2", 1, 5, 5, 11, 9, 3, 2, 1, 1, 5, ""),
        ("bn_residual_relu", 1, 8, 8, 6, 5, 3, 1, 1, 1, 1, "bn,residual,relu"),
        ("batch2", 2, 6, 4, 7, 6, 3, 2, 1, 1, 1, "bias,relu"),
    ]
    for name, n, cin, cout, h, w, k, s, p, d, gr, extras in cases:
        x = rand(n, cin, h, w)
        wt = rand(cout, cin // gr, k, k, lo=-0.5, hi=0.5)
        b = rand(cout, lo=-0.5, hi=0.5) if "bias" in extras else None
        y = F.conv2d(x, wt, b, s, p, d, gr)
        t = {"in": x, "weight": wt}
        if b is not None:
            t["bias"] = b
        eps = 1e-5
        if "bn" in extras:
            bn = torch.nn.BatchNorm2d(cout, eps=eps).eval()
            with torch.no_grad():
                bn.weight.copy_(rand(cout, lo=0.5, hi=1.5))
                bn.bias.copy_(rand(cout, lo=-0.5, hi=0.5))
                bn.running_mean.copy_(rand(cout, lo=-0.3, hi=0.3))
                bn.running_var.copy_(rand(cout, lo=0.1, hi=2.0))
            y = bn(y)
            t.update(bn_gamma=bn.weight, bn_beta=bn.bias, bn_mean=bn.running_mean,
                     bn_var=bn.running_var)
        if "residual" in extras:
            r = rand(*y.shape)
            y = y + r
            t["residual"] = r
        if "relu" in extras:
            y = F.relu(y)
        t["out"] = y
        g.case(name, {"op": "conv2d", "n": n, "c_in": cin, "c_out": cout, "h": h, "w": w,
                      "k": k, "stride": s, "pad": p, "dil": d, "groups": gr,
                      "bias": b is not None, "bn": "bn" in extras, "eps": eps,
                      "residual": "residual" in extras, "relu": "relu" in extras}, **t)
    g.write()


def pool_goldens():
    g = Golden("pool")
    cases = [  # name, op, planes, h, w, k, s, p, dil, ceil, include_pad
        ("max_stem", "max", 3, 23, 17, 3, 2, 1, 1, False, True),
        ("max_cadene_ceil", "max", 2, 15, 11, 3, 2, 0, 1, True, True),
        ("max_ceil_even", "max", 2, 8, 10, 3, 2, 0, 1, True, True),
        ("max_dil2", "max", 2, 9, 8, 3, 1, 1, 2, False, True),
        ("avg_incl_pad", "avg", 3, 9, 11, 3, 2, 1, 1, False, True),
        ("avg_excl_pad", "avg", 3, 9, 11, 3, 2, 1, 1, False, False),
        ("avg_ceil_incl", "avg", 2, 10, 7, 3, 2, 1, 1, True, True),
        ("avg_ceil_excl", "avg", 2, 10, 7, 3, 2, 1, 1, True, False),
    ]
    for name, op, c, h, w, k, s, p, d, ceil, inc in cases:
        x = rand(1, c, h, w, lo=-2, hi=2)
        if op == "max":
            y = F.max_pool2d(x, k, s, p, d, ceil_mode=ceil)
        else:
            y = F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=inc)
        g.case(name, {"op": op + "pool2d", "planes": c, "h": h, "w": w, "k": k, "stride": s,
                      "pad": p, "dil": d, "ceil_mode": ceil, "count_include_pad": inc},
               **{"in": x, "out": y})
    for name, c, h, w in [("global_7x7", 17, 7, 7), ("global_1x1", 5, 1, 1)]:
        x = rand(1, c, h, w)
        g.case(name + "_avg", {"op": "global_avgpool", "planes": c, "h": h, "w": w},
               **{"in": x, "out": x.mean((2, 3))})
        g.case(name + "_max", {"op": "global_maxpool", "planes": c, "h": h, "w": w},
               **{"in": x, "out": x.amax((2, 3))})
    g.write()


def linear_goldens():
    g = Golden("linear")
    for name, n, k, m in [("gemv_512_100", 1, 512, 100), ("batch3", 3, 37, 5),
                          ("k1", 1, 1, 4)]:
        x, w, b = rand(n, k), rand(m, k), rand(m)
        g.case(name, {"op": "linear", "n": n, "k": k, "m": m},
               **{"in": x, "weight": w, "bias": b, "out": F.linear(x, w, b)})
    g.write()


def se_goldens():
    g = Golden("se")
    for name, c, hd, h, w in [("c64_hd8", 64, 8, 7, 5), ("c3_hd1", 3, 1, 4, 4),
                              ("c24_hd8_1x1", 24, 8, 1, 1)]:
        u, idt = rand(c, h, w, lo=-1, hi=2), rand(c, h, w)
        fc1 = torch.nn.Conv2d(c, hd, 1)   # timm's SE: 1×1 convs with bias
        fc2 = torch.nn.Conv2d(hd, c, 1)
        with torch.no_grad():
            s = torch.sigmoid(fc2(F.relu(fc1(u.mean((1, 2), keepdim=True)[None]))))[0, :, 0, 0]
        g.case(name, {"op": "se", "c": c, "hidden": hd, "h": h, "w": w},
               **{"in": u, "identity": idt, "fc1_w": fc1.weight[:, :, 0, 0],
                  "fc1_b": fc1.bias, "fc2_w": fc2.weight[:, :, 0, 0], "fc2_b": fc2.bias,
                  "s": s, "out": F.relu(u * s[:, None, None] + idt)})
    g.write()


class ChannelGate(torch.nn.Module):
    """The official CBAM code's channel gate (avg and max through one MLP)."""

    def __init__(self, c, hd):
        super().__init__()
        self.mlp = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(c, hd),
                                       torch.nn.ReLU(), torch.nn.Linear(hd, c))

    def forward(self, x):
        avg = F.avg_pool2d(x, x.shape[2:])
        mx = F.max_pool2d(x, x.shape[2:])
        return torch.sigmoid(self.mlp(avg) + self.mlp(mx))


class SpatialGate(torch.nn.Module):
    """The official spatial gate: ChannelPool = cat(max, mean), conv7 + BN."""

    def __init__(self, k=7):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 1, k, padding=k // 2, bias=False)
        self.bn = torch.nn.BatchNorm2d(1, eps=1e-5, momentum=0.01, affine=True)

    def pool(self, x):
        return torch.cat((torch.max(x, 1)[0].unsqueeze(1), torch.mean(x, 1).unsqueeze(1)), 1)

    def forward(self, x):
        return torch.sigmoid(self.bn(self.conv(self.pool(x))))


def cbam_goldens():
    g = Golden("cbam")
    for name, c, hd, h, w in [("c24_hd3_7x5", 24, 3, 7, 5), ("c64_hd4_14x14", 64, 4, 14, 14),
                              ("c3_hd1_1x1", 3, 1, 1, 1), ("c17_hd2_3x9", 17, 2, 3, 9)]:
        f, idt = rand(1, c, h, w, lo=-1, hi=2), rand(1, c, h, w)
        cg, sg = ChannelGate(c, hd), SpatialGate().eval()
        with torch.no_grad():
            for p in cg.parameters():
                p.copy_(rand(*p.shape))
            sg.conv.weight.copy_(rand(1, 2, 7, 7, lo=-0.3, hi=0.3))
            sg.bn.weight.fill_(float(rand(1, lo=0.5, hi=1.5)))
            sg.bn.bias.fill_(float(rand(1, lo=-0.5, hi=0.5)))
            sg.bn.running_mean.fill_(float(rand(1, lo=-0.3, hi=0.3)))
            sg.bn.running_var.fill_(float(rand(1, lo=0.5, hi=2.0)))
            mc = cg(f)
            f1 = f * mc[:, :, None, None]
            pooled = sg.pool(f1)
            ms = sg(f1)
            f2 = f1 * ms
        g.case(name, {"op": "cbam", "c": c, "hidden": hd, "h": h, "w": w, "k": 7,
                      "eps": 1e-5},
               **{"in": f[0], "identity": idt[0], "mlp1_w": cg.mlp[1].weight,
                  "mlp1_b": cg.mlp[1].bias, "mlp2_w": cg.mlp[3].weight, "mlp2_b": cg.mlp[3].bias,
                  "sp_w": sg.conv.weight, "bn_gamma": sg.bn.weight, "bn_beta": sg.bn.bias,
                  "bn_mean": sg.bn.running_mean, "bn_var": sg.bn.running_var,
                  "mc": mc[0], "pooled": pooled[0], "ms": ms[0, 0], "refined": f2[0],
                  "out": F.relu(f2 + idt)[0]})
    g.write()


def stn_goldens():
    g = Golden("stn")
    shapes = [("odd", 3, 5, 7, 4, 9), ("up", 2, 4, 4, 9, 11), ("one", 1, 1, 1, 3, 2)]
    for sname, c, h, w, ho, wo in shapes:
        for mode in ("bilinear", "nearest"):
            for pad in ("zeros", "border", "reflection"):
                for ac in (False, True):
                    theta = torch.eye(2, 3) + rand(2, 3, lo=-0.8, hi=0.8)
                    x = rand(1, c, h, w)
                    grid = F.affine_grid(theta[None], (1, c, ho, wo), align_corners=ac)
                    y = F.grid_sample(x, grid, mode=mode, padding_mode=pad, align_corners=ac)
                    g.case(f"{sname}_{mode}_{pad}_{int(ac)}",
                           {"op": "stn", "c": c, "h": h, "w": w, "ho": ho, "wo": wo,
                            "mode": mode, "padding": pad, "align_corners": ac},
                           **{"theta": theta, "in": x[0], "grid": grid[0], "out": y[0]})
    g.write()


def soft_attention_goldens():
    g = Golden("soft_attention")
    for name, l, d, dh, da in [("add_196", 196, 37, 13, 16), ("add_1", 1, 8, 5, 7)]:
        a, h = rand(l, d), rand(dh)
        wa, wh = rand(da, d, lo=-0.3, hi=0.3), rand(da, dh, lo=-0.3, hi=0.3)
        b, v = rand(da, lo=-0.1, hi=0.1), rand(da)
        e = torch.tanh(a @ wa.T + wh @ h + b) @ v
        alpha = torch.softmax(e, 0)
        g.case(name, {"op": "additive", "l": l, "d": d, "dh": dh, "da": da},
               **{"a": a, "h": h, "wa": wa, "wh": wh, "b": b, "v": v, "alpha": alpha,
                  "ctx": alpha @ a})
    for name, lq, lk, d, dv in [("sdp_196", 196, 196, 64, 64), ("sdp_odd", 3, 11, 13, 5)]:
        q, k, v = rand(lq, d), rand(lk, d), rand(lk, dv)
        alpha = torch.softmax(q @ k.T / d ** 0.5, -1)
        g.case(name, {"op": "sdp", "lq": lq, "lk": lk, "d": d, "dv": dv},
               **{"q": q, "k": k, "v": v, "alpha": alpha, "out": alpha @ v})
    g.write()


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    conv_goldens()
    pool_goldens()
    linear_goldens()
    se_goldens()
    cbam_goldens()
    stn_goldens()
    soft_attention_goldens()


if __name__ == "__main__":
    main()
