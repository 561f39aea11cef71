#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Write the PyTorch goldens that tests/kernels/test_goldens.c checks our kernels against.

Reads nothing. Writes tests/kernels/goldens/{conv,pool,linear,se,cbam,stn,
soft_attention,decoder}.safetensors (together about 0.5 MB), every tensor
float32 (token ids too, exactly):

  - tensors are named "<case>.<tensor>" ("k3s2p1_odd.in", "k3s2p1_odd.weight",
    "k3s2p1_odd.out");
  - __metadata__ has one entry per case, key = the case name, value = a JSON
    object of the case's parameters (ints, bools, strings, and a float eps),
    always with "op" naming the kernel; plus "format": "attn-goldens-1" and
    "generator": "tools/make_goldens.py torch <version>".

The test iterates over the cases it finds and dispatches on "op", so a case
added here needs no change in C. The .safetensors files are written with
struct + json (u64 little-endian header length, JSON header padded with spaces
to a multiple of 8, raw little-endian data); no safetensors package needed.

Seeded (one seed per file, so a case added to one file leaves the others'
bytes alone) and single-threaded: rerunning gives identical bytes with the
same torch build on the same CPU. Run from anywhere with Debian's
python3-torch:

    /usr/bin/python3 tools/make_goldens.py
"""
import json
import os
import struct
import warnings

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "kernels",
                   "goldens")
FORMAT = "attn-goldens-1"


def write_safetensors(path, tensors, metadata):
    """tensors: [(name, float32 tensor)] in file order; metadata: {str: str}."""
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, t in tensors:
        t = t.detach().to(torch.float32).contiguous()
        data = struct.pack(f"<{t.numel()}f", *t.reshape(-1).tolist())
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("ascii")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


class Golden:
    """One fixture file: cases of named tensors plus their parameters."""

    def __init__(self, name, seed):
        self.name, self.tensors, self.meta = name, [], {}
        torch.manual_seed(seed)

    def case(self, case, params, **tensors):
        assert "." not in case and case not in self.meta and "op" in params, case
        for k, v in params.items():
            assert isinstance(v, (bool, int, str, float)), (case, k)
        self.meta[case] = json.dumps(params, sort_keys=True, separators=(",", ":"))
        for k, v in tensors.items():
            assert v.dtype == torch.float32, (case, k)
            self.tensors.append((f"{case}.{k}", v))

    def write(self):
        meta = dict(self.meta)
        meta["format"] = FORMAT
        meta["generator"] = f"tools/make_goldens.py torch {torch.__version__}"
        path = os.path.join(OUT, f"{self.name}.safetensors")
        write_safetensors(path, self.tensors, meta)
        print(f"{os.path.relpath(path)}: {len(self.meta)} cases, "
              f"{os.path.getsize(path)} bytes")


def rand(*shape, lo=-1.0, hi=1.0):
    return torch.rand(*shape) * (hi - lo) + lo


def pair(v):
    return v if isinstance(v, tuple) else (v, v)


def random_eps():
    """An eps between 1e-5 and 1e-1, exactly representable in float32."""
    return float(torch.tensor(10.0 ** float(rand(1, lo=-5.0, hi=-1.0)), dtype=torch.float32))


def random_bn(c):
    """Eval-mode BatchNorm2d(c) with random γ, β, running stats and eps."""
    bn = torch.nn.BatchNorm2d(c, eps=random_eps()).eval()
    with torch.no_grad():
        bn.weight.copy_(rand(c, lo=-1.5, hi=1.5))
        bn.bias.copy_(rand(c, lo=-0.5, hi=0.5))
        bn.running_mean.copy_(rand(c, lo=-0.5, hi=0.5))
        bn.running_var.copy_(rand(c, lo=0.01, hi=2.0))
    return bn


def bn_tensors(bn):
    return {"bn_gamma": bn.weight.detach(), "bn_beta": bn.bias.detach(),
            "bn_mean": bn.running_mean, "bn_var": bn.running_var}


def conv_goldens():
    g = Golden("conv", 1)
    # name, n, c_in, c_out, h, w, k, stride, pad, dil, groups, extras
    # (k/stride/pad/dil: an int, or (h, w))
    cases = [
        ("k3s1p1", 1, 5, 7, 8, 8, 3, 1, 1, 1, 1, ""),
        ("k3s2p1_odd", 1, 3, 17, 9, 11, 3, 2, 1, 1, 1, "bias"),
        ("k1s1_gemm", 1, 33, 17, 7, 5, 1, 1, 0, 1, 1, "bias"),
        ("k1s1_gemm_batch2", 2, 17, 5, 3, 4, 1, 1, 0, 1, 1, "bias,relu"),
        ("k1s1p1", 1, 5, 3, 4, 3, 1, 1, 1, 1, 1, "bias"),     # 1×1 but padded: no sgemm
        ("k1s2", 1, 16, 33, 9, 11, 1, 2, 0, 1, 1, ""),
        ("k1s1_groups2", 1, 6, 10, 5, 5, 1, 1, 0, 1, 2, ""),
        ("k7s2p3_stem", 1, 3, 8, 23, 19, 7, 2, 3, 1, 1, "bn,relu"),
        ("k7p3_on_5x5", 1, 2, 3, 5, 5, 7, 1, 3, 1, 1, "bias"),
        ("k5s3_tiny", 1, 3, 4, 4, 6, 5, 3, 1, 1, 1, ""),
        ("dil2", 1, 4, 6, 10, 9, 3, 1, 2, 2, 1, "bias"),
        ("groups2_odd", 1, 6, 10, 7, 7, 3, 1, 1, 1, 2, ""),      # 3 in, 5 out per group
        ("depthwise", 1, 17, 17, 9, 7, 3, 1, 1, 1, 17, "bias"),
        ("depthwise_s2_bn", 1, 5, 5, 11, 9, 3, 2, 1, 1, 5, "bn,relu"),
        ("groups_c_mult2", 1, 5, 10, 6, 7, 3, 1, 1, 1, 5, ""),  # groups = C_in, 2 out each
        ("nonsquare", 1, 3, 5, 9, 12, (3, 5), (2, 1), (1, 2), (1, 2), 1, "bias"),
        ("k3_c48_long", 1, 48, 8, 6, 5, 3, 1, 1, 1, 1, "bias"),  # 432-term sums
        ("bias_bn", 1, 5, 6, 6, 6, 3, 1, 1, 1, 1, "bias,bn"),
        ("bn_residual_relu", 1, 8, 8, 6, 5, 3, 1, 1, 1, 1, "bn,residual,relu"),
        ("batch2", 2, 6, 4, 7, 6, 3, 2, 1, 1, 1, "bias,relu"),
    ]
    for name, n, cin, cout, h, w, k, s, p, d, gr, extras in cases:
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = pair(k), pair(s), pair(p), pair(d)
        x = rand(n, cin, h, w)
        wt = rand(cout, cin // gr, kh, kw, lo=-0.5, hi=0.5)
        b = rand(cout, lo=-0.5, hi=0.5) if "bias" in extras else None
        t = {"in": x, "weight": wt}
        if b is not None:
            t["bias"] = b
        params = {"op": "conv2d", "n": n, "c_in": cin, "c_out": cout, "h": h, "w": w,
                  "kh": kh, "kw": kw, "stride_h": sh, "stride_w": sw, "pad_h": ph,
                  "pad_w": pw, "dil_h": dh, "dil_w": dw, "groups": gr,
                  "bias": b is not None, "bn": "bn" in extras,
                  "residual": "residual" in extras,
                  "act": "relu" if "relu" in extras else "none"}
        with torch.no_grad():
            y = F.conv2d(x, wt, b, (sh, sw), (ph, pw), (dh, dw), gr)
            if "bn" in extras:
                bn = random_bn(cout)
                y = bn(y)
                t.update(bn_tensors(bn))
                params["eps"] = bn.eps
            if "residual" in extras:
                r = rand(*y.shape)
                y = y + r
                t["residual"] = r
            if "relu" in extras:
                y = F.relu(y)
        # the epilogue's per-channel pools of the final values (CBAM/SE fusion)
        t.update({"out": y, "out_avg": y.mean((2, 3)), "out_max": y.amax((2, 3))})
        g.case(name, params, **t)
    g.write()


def pool_goldens():
    g = Golden("pool", 2)
    # name, op, planes, h, w, k, stride, pad, dil, ceil_mode, count_include_pad, lo, hi
    cases = [
        ("max_stem", "max", 3, 23, 17, 3, 2, 1, 1, False, True, -2, 2),  # ResNet 3/2 pad 1
        ("max_cadene_odd", "max", 2, 15, 11, 3, 2, 0, 1, True, True, -2, 2),  # 3/2 ceil
        ("max_cadene_mixed", "max", 2, 14, 9, 3, 2, 0, 1, True, True, -2, 2),
        ("max_ceil_even", "max", 2, 8, 10, 3, 2, 0, 1, True, True, -2, 2),
        ("max_ceil_drop", "max", 2, 5, 7, 3, 3, 1, 1, True, True, -2, 2),  # last window dropped
        ("max_negative_pad", "max", 2, 6, 5, 3, 2, 1, 1, False, True, -3, -1),  # pad is −∞
        ("max_dil2", "max", 2, 9, 8, 3, 1, 1, 2, False, True, -2, 2),
        ("max_dil2_ceil", "max", 2, 10, 9, 3, 2, 1, 2, True, True, -2, 2),
        ("max_nonsquare", "max", 3, 9, 10, (3, 2), (2, 1), (1, 0), (1, 2), False, True, -2, 2),
        ("avg_incl_pad", "avg", 3, 9, 11, 3, 2, 1, 1, False, True, -2, 2),
        ("avg_excl_pad", "avg", 3, 9, 11, 3, 2, 1, 1, False, False, -2, 2),
        ("avg_ceil_incl", "avg", 2, 10, 7, 3, 2, 1, 1, True, True, -2, 2),
        ("avg_ceil_excl", "avg", 2, 10, 7, 3, 2, 1, 1, True, False, -2, 2),
        ("avg_ceil_drop_incl", "avg", 2, 5, 7, 3, 3, 1, 1, True, True, -2, 2),
        ("avg_ceil_drop_excl", "avg", 2, 5, 7, 3, 3, 1, 1, True, False, -2, 2),
        ("avg_k2s2", "avg", 4, 7, 7, 2, 2, 0, 1, False, True, -2, 2),
        ("avg_nonsquare_excl", "avg", 2, 8, 9, (2, 3), (1, 2), (1, 1), 1, True, False, -2, 2),
    ]
    for name, op, c, h, w, k, s, p, d, ceil, inc, lo, hi in cases:
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = pair(k), pair(s), pair(p), pair(d)
        x = rand(1, c, h, w, lo=lo, hi=hi)
        if op == "max":
            y = F.max_pool2d(x, (kh, kw), (sh, sw), (ph, pw), (dh, dw), ceil_mode=ceil)
        else:
            assert (dh, dw) == (1, 1)
            y = F.avg_pool2d(x, (kh, kw), (sh, sw), (ph, pw), ceil_mode=ceil,
                             count_include_pad=inc)
        g.case(name, {"op": op + "pool2d", "planes": c, "h": h, "w": w, "kh": kh, "kw": kw,
                      "stride_h": sh, "stride_w": sw, "pad_h": ph, "pad_w": pw,
                      "dil_h": dh, "dil_w": dw, "ceil_mode": ceil,
                      "count_include_pad": inc},
               **{"in": x, "out": y})
    for name, c, h, w, lo, hi in [("global_7x7", 17, 7, 7, -1, 1), ("global_1x1", 5, 1, 1, -1, 1),
                                  ("global_3x5_negative", 3, 3, 5, -2, -0.5)]:
        x = rand(1, c, h, w, lo=lo, hi=hi)
        g.case(name + "_avg", {"op": "global_avgpool", "planes": c, "h": h, "w": w},
               **{"in": x, "out": x.mean((2, 3))})
        g.case(name + "_max", {"op": "global_maxpool", "planes": c, "h": h, "w": w},
               **{"in": x, "out": x.amax((2, 3))})
    g.write()


def linear_goldens():
    g = Golden("linear", 3)
    for name, n, k, m, bias in [("gemv_512_20", 1, 512, 20, True), ("batch3", 3, 37, 5, True),
                                ("k1", 1, 1, 4, True), ("nobias_batch2", 2, 9, 6, False)]:
        x, w = rand(n, k), rand(m, k)
        b = rand(m) if bias else None
        t = {"in": x, "weight": w, "out": F.linear(x, w, b)}
        if bias:
            t["bias"] = b
        g.case(name, {"op": "linear", "n": n, "k": k, "m": m, "bias": bias}, **t)
    g.write()


def se_goldens():
    g = Golden("se", 4)
    for name, c, hd, h, w in [("c64_hd8_5x3", 64, 8, 5, 3), ("c3_hd1_4x4", 3, 1, 4, 4),
                              ("c24_hd8_1x1", 24, 8, 1, 1), ("c17_hd2_3x9", 17, 2, 3, 9)]:
        u, idt = rand(c, h, w, lo=-1, hi=2), rand(c, h, w)
        fc1 = torch.nn.Conv2d(c, hd, 1)   # timm's SE: 1×1 convs with bias
        fc2 = torch.nn.Conv2d(hd, c, 1)
        with torch.no_grad():
            for p in list(fc1.parameters()) + list(fc2.parameters()):
                p.copy_(rand(*p.shape))
            z = u.mean((1, 2), keepdim=True)[None]
            s = torch.sigmoid(fc2(F.relu(fc1(z))))[0, :, 0, 0]
            scaled = u * s[:, None, None]
        g.case(name, {"op": "se", "c": c, "hidden": hd, "h": h, "w": w},
               **{"in": u, "identity": idt, "fc1_w": fc1.weight[:, :, 0, 0].detach(),
                  "fc1_b": fc1.bias.detach(), "fc2_w": fc2.weight[:, :, 0, 0].detach(),
                  "fc2_b": fc2.bias.detach(), "z": z.reshape(c), "s": s, "scaled": scaled,
                  "out": F.relu(scaled + idt)})
    g.write()


# The official CBAM code (Jongchan/attention-module, MODELS/cbam.py), re-written.
class BasicConv(torch.nn.Module):
    def __init__(self, cin, cout, k, padding, eps):
        super().__init__()
        self.conv = torch.nn.Conv2d(cin, cout, k, padding=padding, bias=False)
        self.bn = torch.nn.BatchNorm2d(cout, eps=eps, momentum=0.01, affine=True)

    def forward(self, x):
        return self.bn(self.conv(x))   # relu=False in SpatialGate


class ChannelGate(torch.nn.Module):
    """σ(MLP(avgpool F) + MLP(maxpool F)); one shared MLP with biases."""

    def __init__(self, c, hidden):
        super().__init__()
        self.mlp = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(c, hidden),
                                       torch.nn.ReLU(), torch.nn.Linear(hidden, c))

    def forward(self, x):
        avg = F.avg_pool2d(x, (x.size(2), x.size(3)), stride=(x.size(2), x.size(3)))
        mx = F.max_pool2d(x, (x.size(2), x.size(3)), stride=(x.size(2), x.size(3)))
        return torch.sigmoid(self.mlp(avg) + self.mlp(mx))   # (N, C)


class ChannelPool(torch.nn.Module):
    def forward(self, x):   # channel 0 the MAX, channel 1 the MEAN
        return torch.cat((torch.max(x, 1)[0].unsqueeze(1), torch.mean(x, 1).unsqueeze(1)), 1)


class SpatialGate(torch.nn.Module):
    """σ(BN(conv7×7(ChannelPool(F')))), conv 2→1 pad 3 without bias."""

    def __init__(self, eps, k=7):
        super().__init__()
        self.compress = ChannelPool()
        self.spatial = BasicConv(2, 1, k, (k - 1) // 2, eps)

    def forward(self, x):
        return torch.sigmoid(self.spatial(self.compress(x)))   # (N, 1, H, W)


def cbam_goldens():
    g = Golden("cbam", 5)
    for name, c, hd, h, w in [("c24_r8_7x5", 24, 3, 7, 5), ("c64_r16_5x3", 64, 4, 5, 3),
                              ("c3_hd1_1x1", 3, 1, 1, 1), ("c17_hd2_3x9", 17, 2, 3, 9),
                              ("c8_hd1_14x14", 8, 1, 14, 14)]:
        f, idt = rand(1, c, h, w, lo=-1, hi=2), rand(1, c, h, w)
        cg, sg = ChannelGate(c, hd), SpatialGate(random_eps()).eval()
        with torch.no_grad():
            for p in cg.parameters():
                p.copy_(rand(*p.shape))
            bn = sg.spatial.bn
            sg.spatial.conv.weight.copy_(rand(1, 2, 7, 7, lo=-0.3, hi=0.3))
            bn.weight.copy_(rand(1, lo=-1.5, hi=1.5))
            bn.bias.copy_(rand(1, lo=-0.5, hi=0.5))
            bn.running_mean.copy_(rand(1, lo=-0.3, hi=0.3))
            bn.running_var.copy_(rand(1, lo=0.05, hi=2.0))
            mc = cg(f)                        # (1, C)
            f1 = f * mc[:, :, None, None]     # F'
            pooled = sg.compress(f1)          # P (1, 2, H, W)
            ms = sg(f1)                       # (1, 1, H, W)
            f2 = f1 * ms                      # F''
            out = F.relu(f2 + idt)
        g.case(name, {"op": "cbam", "c": c, "hidden": hd, "h": h, "w": w, "k": 7,
                      "eps": bn.eps},
               **{"in": f[0], "identity": idt[0],
                  "mlp1_w": cg.mlp[1].weight.detach(), "mlp1_b": cg.mlp[1].bias.detach(),
                  "mlp2_w": cg.mlp[3].weight.detach(), "mlp2_b": cg.mlp[3].bias.detach(),
                  "sp_w": sg.spatial.conv.weight.detach(), "bn_gamma": bn.weight.detach(),
                  "bn_beta": bn.bias.detach(), "bn_mean": bn.running_mean,
                  "bn_var": bn.running_var,
                  "avg": f.mean((2, 3))[0], "max": f.amax((2, 3))[0],
                  "mc": mc[0], "f1": f1[0], "pooled": pooled[0], "ms": ms[0, 0],
                  "refined": f2[0], "out": out[0]})
    g.write()


def wild_theta():
    """A random affine θ (2,3) whose grid reaches up to ~4.5 image half-widths
    out: scaled up to 2.2×, sheared, translated by up to ±1.6."""
    a = torch.eye(2) * float(rand(1, lo=0.7, hi=2.2)) + rand(2, 2, lo=-0.7, hi=0.7)
    return torch.cat((a, rand(2, 1, lo=-1.6, hi=1.6)), 1)


def stn_goldens():
    g = Golden("stn", 6)
    # name, c, h, w, h_out, w_out
    shapes = [("odd", 3, 5, 7, 4, 9), ("up", 2, 4, 4, 9, 11), ("in1x1", 1, 1, 1, 3, 2),
              ("out1x1", 2, 5, 6, 1, 1)]
    runs = []
    for sname, c, h, w, ho, wo in shapes:
        for mode in ("bilinear", "nearest"):
            for pad in ("zeros", "border", "reflection"):
                for ac in (False, True):
                    runs.append((f"{sname}_{mode}_{pad}_{int(ac)}", c, h, w, ho, wo, mode,
                                 pad, ac, wild_theta()))
    for ac in (False, True):   # identity θ at the same size: out == in
        runs.append((f"identity_bilinear_zeros_{int(ac)}", 3, 5, 7, 5, 7, "bilinear",
                     "zeros", ac, torch.eye(2, 3)))
    for name, c, h, w, ho, wo, mode, pad, ac, theta in runs:
        x = rand(1, c, h, w)
        with warnings.catch_warnings():
            # the out1x1 cases are meant: PyTorch warns that a unit-size grid
            # with align_corners=True changed in 1.3 (base coordinate 0)
            warnings.filterwarnings("ignore", message=".*unit-size grids.*")
            grid = F.affine_grid(theta[None], (1, c, ho, wo), align_corners=ac)
        y = F.grid_sample(x, grid, mode=mode, padding_mode=pad, align_corners=ac)
        g.case(name, {"op": "stn", "c": c, "h": h, "w": w, "ho": ho, "wo": wo,
                      "mode": mode, "padding": pad, "align_corners": ac},
               **{"theta": theta, "in": x[0], "grid": grid[0], "out": y[0]})
    g.write()


def soft_attention_goldens():
    g = Golden("soft_attention", 7)
    # additive: name, L, D, Dh, Da, bias, scale of v (large → near one-hot α)
    for name, l, d, dh, da, bias, vs in [("add_196", 196, 11, 13, 16, True, 1.0),
                                         ("add_1", 1, 8, 5, 7, True, 1.0),
                                         ("add_49_nobias", 49, 9, 6, 11, False, 1.0),
                                         ("add_sharp", 20, 5, 3, 4, True, 40.0)]:
        a, h = rand(l, d), rand(dh)
        wa, wh = rand(da, d, lo=-0.3, hi=0.3), rand(da, dh, lo=-0.3, hi=0.3)
        b = rand(da, lo=-0.1, hi=0.1)
        v = rand(da) * vs
        pre = a @ wa.T + wh @ h
        if bias:
            pre = pre + b
        e = torch.tanh(pre) @ v                 # (L)
        alpha = torch.softmax(e, 0)
        t = {"a": a, "h": h, "wa": wa, "wh": wh, "v": v, "alpha": alpha, "ctx": alpha @ a}
        if bias:
            t["b"] = b
        g.case(name, {"op": "additive_attention", "l": l, "d": d, "dh": dh, "da": da,
                      "bias": bias}, **t)
    # scaled dot-product: name, Lq, Lk, D, Dv, scale of q and k
    for name, lq, lk, d, dv, qs in [("sdp_lk196", 2, 196, 9, 5, 1.0),
                                    ("sdp_odd", 3, 11, 13, 5, 1.0),
                                    ("sdp_lk1", 4, 1, 7, 3, 1.0),
                                    ("sdp_l1", 1, 1, 5, 2, 1.0),
                                    ("sdp_sharp", 5, 9, 16, 4, 8.0)]:
        q, k, v = rand(lq, d) * qs, rand(lk, d) * qs, rand(lk, dv)
        alpha = torch.softmax(q @ k.T / d ** 0.5, -1)
        g.case(name, {"op": "sdp_attention", "lq": lq, "lk": lk, "d": d, "dv": dv},
               **{"q": q, "k": k, "v": v, "alpha": alpha, "out": alpha @ v})
    g.write()


def decoder_goldens():
    """The decoder head (kernels/compute/decoder.c) against PyTorch: its
    cells alone (nn.GRUCell, nn.LSTMCell), then whole heads
    (reference_models.SoftAttentionDecoder) on a random D × H × W map,
    teacher-forced for `steps` steps (every step's logits and α) and greedy
    for up to max_length (the tokens up to and including the end token, and
    their steps' logits and α). The weights are names of the head's state
    dict; targets and tokens are float32 ids."""
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from reference_models import SoftAttentionDecoder, greedy_sequence
    g = Golden("decoder", 19)
    for cell in ("gru", "lstm"):
        for i, (n_in, hidden) in enumerate([(7, 5), (37, 19), (64, 32)]):
            m = (torch.nn.GRUCell if cell == "gru" else torch.nn.LSTMCell)(n_in, hidden)
            x, h, c = rand(1, n_in), rand(1, hidden), rand(1, hidden)
            t = {"x": x[0], "h": h[0], "w_ih": m.weight_ih.detach(),
                 "b_ih": m.bias_ih.detach(), "w_hh": m.weight_hh.detach(),
                 "b_hh": m.bias_hh.detach()}
            with torch.no_grad():
                if cell == "gru":
                    t["h_out"] = m(x, h)[0]
                else:
                    ho, co = m(x, (h, c))
                    t.update(c=c[0], h_out=ho[0], c_out=co[0])
            g.case(f"{cell}_cell_{i}", {"op": f"{cell}_cell", "in": n_in, "hidden": hidden}, **t)
    # name, cell, attention, gate, D, H, W, Dh, E, Da, V, max_length, steps,
    # greedy: "stop" (the end token before max_length) or "full"
    cases = [("gru_add_gate", "gru", "additive", True, 13, 3, 5, 11, 4, 7, 9, 6, 5, "stop"),
             ("gru_add", "gru", "additive", False, 16, 8, 8, 16, 8, 16, 7, 4, 4, "full"),
             ("lstm_add_gate", "lstm", "additive", True, 9, 1, 1, 5, 3, 1, 2, 5, 5, "stop"),
             ("gru_dot_gate", "gru", "dot", True, 13, 4, 3, 10, 5, 0, 11, 7, 6, "full"),
             ("lstm_dot", "lstm", "dot", False, 21, 7, 2, 19, 6, 0, 6, 8, 8, "full"),
             ("lstm_add_64", "lstm", "additive", True, 64, 8, 8, 32, 16, 24, 30, 12, 12, "stop")]
    for (name, cell, att, gate, d, hh, ww, dh, e, da, v, max_len, steps, greedy) in cases:
        dec = SoftAttentionDecoder(d, v, dh, e, da, cell, att, gate).eval()
        feats = rand(1, d, hh, ww, lo=-2.0, hi=2.0)
        targets = torch.randint(0, v, (1, steps))
        with torch.no_grad():
            # the start and end tokens: for "stop" an end token that greedy
            # decoding (never stopping) first emits at a step k >= 1 and not
            # before, so the run stops after k + 1 tokens; for "full" one it
            # never emits (the first start token that allows it)
            for start in range(v):
                glog, _ = dec(feats, start, -1, max_len)
                seq = glog[0].argmax(1).tolist()
                if greedy == "stop":
                    ks = [k for k in range(1, max_len - 1)
                          if seq[k] not in seq[:k] and seq[k] != start]
                    end = seq[ks[0]] if ks else None
                else:
                    end = next((t for t in range(v) if t not in seq and t != start), None)
                if end is not None:
                    break
            assert end is not None, name
            glog, galpha = dec(feats, start, end, max_len)
            toks = greedy_sequence(glog, end)
            assert (len(toks) < max_len) == (greedy == "stop"), (name, toks)
            flog, falpha = dec(feats, start, end, steps, targets)
        n = len(toks)
        t = {"feats": feats[0].reshape(d, hh * ww)}
        t.update({k: p.detach().clone() for k, p in dec.state_dict().items()})
        t.update(targets=targets[0].float(), logits=flog[0], alpha=falpha[0],
                 greedy_tokens=torch.tensor(toks, dtype=torch.float32),
                 greedy_logits=glog[0, :n], greedy_alpha=galpha[0, :n])
        g.case(name, {"op": "decoder", "cell": cell, "attention": att, "gate": gate,
                      "d": d, "l": hh * ww, "h": hh, "w": ww, "hidden": dh, "embed": e,
                      "att_dim": da, "vocab": v, "start": start, "end": end,
                      "max_length": max_len, "steps": steps}, **t)
    g.write()


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    conv_goldens()
    pool_goldens()
    linear_goldens()
    se_goldens()
    cbam_goldens()
    stn_goldens()
    soft_attention_goldens()
    decoder_goldens()


if __name__ == "__main__":
    main()
