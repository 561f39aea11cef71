# SPDX-License-Identifier: LGPL-2.1-or-later
"""The describe model (tools/train.py --describe; docs/describe-model.md):
the default model's CBAM ResNet with an encoder–decoder soft-attention head
(docs/model-format.md, "decoder") that names the one to three shapes of a
scene from left to right, "disc square <end>", attending to each shape as it
names it.

The backbone starts from models/default.safetensors and keeps its
classifier, which now names the scene's largest shape. The decoder
(tools/reference_models.SoftAttentionDecoder: GRU, additive attention, the
gate β) reads the last block's 64 × 8 × 8 map. Training is teacher-forced
cross-entropy on the tokens up to and including the end token, plus two
auxiliary losses: each shape token's α towards that shape's mask (area-pooled
to the 8 × 8 grid, as a distribution), and the CBAM gates of the last two
stages towards the union of the masks, as the default model's training does.
What the plugin shows is still the network's own α, computed from pixels
alone. Augmentation: vertical flips, and horizontal flips with the sentence
reversed.
"""
import json
import multiprocessing
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import attn_safetensors
import reference_models
import scenes
import train

HIDDEN, EMBED, ATT_DIM = 128, 32, 64
MAX_LENGTH = scenes.DESCRIBE_MAX + 1
ALPHA_WEIGHT = 0.5
GATE_WEIGHT = 0.5
CHUNK = 1000


class DescribeNet(train.Net):
    """train.Net with a decoder head on its last block's output; the state
    dict is the model file's tensor list (decoder.* the head's)."""

    def __init__(self):
        super().__init__(len(scenes.CLASSES))
        self.decoder = reference_models.SoftAttentionDecoder(
            train.WIDTHS[-1], len(scenes.VOCABULARY), HIDDEN, EMBED, ATT_DIM,
            "gru", "additive", gate=True)

    def forward(self, x, targets=None):
        """(class logits, CBAM maps per stage, token logits (N, T, V), α (N, T,
        L)); teacher-forced with targets (N, T), else greedy MAX_LENGTH steps."""
        logits, maps = super().forward(x)
        tok, alpha = self.decoder(self.last, scenes.START, scenes.END, MAX_LENGTH,
                                  targets)
        return logits, maps, tok, alpha


def _chunk(job):
    seq, n, size = job
    return scenes.make_describe_batch(np.random.default_rng(seq), n, size)


def describe_scenes(seed, n, size, workers):
    """n scenes in chunks of CHUNK, each from its own child of the seed: the
    same scenes whatever the number of worker processes. Masks as uint8."""
    seqs = np.random.SeedSequence(seed).spawn((n + CHUNK - 1) // CHUNK)
    jobs = [(s, min(CHUNK, n - i * CHUNK), size) for i, s in enumerate(seqs)]
    x = np.empty((n, size, size, 3), np.uint8)
    t = np.empty((n, MAX_LENGTH), np.int64)
    m = np.empty((n, scenes.DESCRIBE_MAX, size, size), np.uint8)
    b = np.empty((n, scenes.DESCRIBE_MAX, 4), np.float32)
    if workers > 1:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.imap(_chunk, jobs)
            for i, p in enumerate(parts):
                rows = slice(i * CHUNK, i * CHUNK + len(p[0]))
                x[rows], t[rows], m[rows], b[rows] = p[0], p[1], np.round(p[2] * 255), p[3]
    else:
        for i, job in enumerate(jobs):
            p = _chunk(job)
            rows = slice(i * CHUNK, i * CHUNK + len(p[0]))
            x[rows], t[rows], m[rows], b[rows] = p[0], p[1], np.round(p[2] * 255), p[3]
    return x, t, m, b


def held_out(seed, size, n=2000):
    """The held-out scenes: their own seed, never among the training ones."""
    return describe_scenes(seed + 7919, n, size, 1)


def frame_label(tokens, masks):
    """The classifier's target: the class of the scene's largest shape."""
    area = masks.reshape(len(masks), scenes.DESCRIBE_MAX, -1).sum(2)
    big = area.argmax(1)
    vocab_id = tokens[np.arange(len(tokens)), big]
    return vocab_id - 1            # vocabulary 2.. are CLASSES 1..


def augment(rng, imgs, tokens, masks):
    """A vertical flip keeps the sentence; a horizontal flip reverses it."""
    if rng.random() < 0.5:
        imgs, masks = imgs[:, ::-1], masks[:, :, ::-1]
    if rng.random() < 0.5:
        imgs, masks = imgs[:, :, ::-1], masks[:, :, :, ::-1]
        n = (tokens != scenes.END).sum(1)
        tokens, masks = tokens.copy(), masks.copy()
        for i, k in enumerate(n):
            tokens[i, :k] = tokens[i, :k][::-1]
            masks[i, :k] = masks[i, :k][::-1]
    return np.ascontiguousarray(imgs), tokens, np.ascontiguousarray(masks)


def alpha_targets(masks, grid):
    """(N, K, L): each object's coverage area-pooled to the grid, summing to
    1 (uniform for an empty slot, which no loss reads)."""
    m = torch.from_numpy(masks).float() / 255
    p = F.adaptive_avg_pool2d(m, grid).flatten(2)
    s = p.sum(2, keepdim=True)
    return torch.where(s > 0, p / s.clamp_min(1e-12), torch.full_like(p, 1 / p.shape[2]))


def sentences(tok_logits):
    """Greedy token ids (N, T) with everything after the first end token
    set to END."""
    ids = tok_logits.argmax(2).clone()
    ended = torch.zeros(len(ids), dtype=torch.bool)
    for t in range(ids.shape[1]):
        ids[ended, t] = scenes.END
        ended |= ids[:, t] == scenes.END
    return ids


def evaluate(net, held, bs=250):
    """Held-out figures: whole-sentence exact match (overall and per number
    of shapes), the classifier's accuracy on the largest shape, and how often
    each correctly named shape token's α peaks inside that shape: the argmax
    cell of α (8 × 8), as the input pixels it covers, overlaps the shape's
    mask (coverage > 0.5). Returns (exact, peak, line)."""
    x, t, m, _ = held
    net.eval()
    exact, n_obj, cls_ok, hits, named = [], [], [], 0, 0
    size = x.shape[1]
    with torch.no_grad():
        for i in range(0, len(x), bs):
            logits, _, tok, alpha = net(train.to_input(x[i:i + bs]))
            ids = sentences(tok).numpy()
            tt = t[i:i + bs]
            exact.append((ids == tt).all(1))
            n_obj.append((tt != scenes.END).sum(1))
            mm = m[i:i + bs]
            cls_ok.append(logits.argmax(1).numpy() == frame_label(tt, mm))
            g = int(round(alpha.shape[2] ** 0.5))
            cell = size // g
            peak = alpha.argmax(2).numpy()              # (N, T)
            for j in range(len(tt)):
                for k in range((tt[j] != scenes.END).sum()):
                    if ids[j, k] != tt[j, k]:
                        continue
                    named += 1
                    cy, cx = divmod(int(peak[j, k]), g)
                    sq = mm[j, k, cy * cell:(cy + 1) * cell, cx * cell:(cx + 1) * cell]
                    hits += bool((sq > 127).any())
    net.train()
    exact, n_obj = np.concatenate(exact), np.concatenate(n_obj)
    per = ", ".join(f"{k} shape{'s' if k > 1 else ''} {exact[n_obj == k].mean():.4f} "
                    f"(n={(n_obj == k).sum()})" for k in range(1, scenes.DESCRIBE_MAX + 1))
    peak = hits / max(named, 1)
    line = (f"held-out ({len(x)} scenes): exact sentence {exact.mean():.4f} ({per}); "
            f"alpha peak inside the named shape {peak:.4f} ({hits}/{named} tokens); "
            f"classifier (largest shape) {np.concatenate(cls_ok).mean():.4f}")
    return exact.mean(), peak, line


def export(net, path, exact, peak, seed, size, how):
    net.eval()
    tensors = {k: v.detach().contiguous().numpy().astype(np.float32)
               for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    arch = {"family": "resnet", "block": "basic", "layers": train.LAYERS,
            "widths": train.WIDTHS, "stem_width": train.STEM, "stem_pool": train.STEM_POOL,
            "stride_on": "3x3", "attention": "cbam", "spatial_kernel": 7,
            "num_classes": len(scenes.CLASSES), "bn_eps": 1e-5, "stn": None,
            "decoder": {"cell": "gru", "attention": "additive", "hidden": HIDDEN,
                        "embed": EMBED, "attention_dim": ATT_DIM, "gate": True,
                        "vocabulary": scenes.VOCABULARY, "start": scenes.START,
                        "end": scenes.END, "max_length": MAX_LENGTH}}
    pre = {"width": size, "height": size, "color": "RGB", "mean": [train.MEAN] * 3,
           "std": [train.STD] * 3, "scale": 255, "resize": "stretch"}
    meta = {"format": "gst-attention-model", "format_version": "1",
            "name": "attention-shapes-describe", "architecture": json.dumps(arch),
            "labels": json.dumps(scenes.CLASSES), "preprocess": json.dumps(pre),
            "source": f"trained by tools/train.py --describe{how} seed {seed}, held-out "
                      f"exact sentence {exact:.4f}, alpha peak inside the named shape "
                      f"{peak:.4f}"}
    attn_safetensors.save(path, tensors, meta)


def load(path):
    """A describe model file back into DescribeNet (strict: the file's
    tensors are the network's)."""
    tensors, meta = attn_safetensors.load(path)
    arch = json.loads(meta["architecture"])
    if not arch.get("decoder"):
        raise SystemExit(f"{path}: no decoder head")
    net = DescribeNet()
    res = net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in tensors.items()},
                              strict=False)
    missing = [k for k in res.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or res.unexpected_keys:
        raise SystemExit(f"{path}: not this version's network ({missing[:3]} missing, "
                         f"{res.unexpected_keys[:3]} unexpected)")
    return net, json.loads(meta["preprocess"])["width"]


def main(args, models):
    if args.evaluate:
        torch.set_num_threads(args.threads)
        net, size = load(args.evaluate)
        print(evaluate(net, held_out(args.seed, size, args.held_out))[2])
        return
    out = args.out or os.path.join(models, "describe.safetensors")
    init = args.init or os.path.join(models, "default.safetensors")
    n_train = args.train_images or 40000
    steps = args.steps or 6000
    if args.quick:
        n_train, steps = 2000, 120
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    size = args.input_size
    rng = np.random.default_rng(args.seed)
    t0 = time.time()
    tr_x, tr_t, tr_m, _ = describe_scenes(args.seed, n_train, size, args.threads)
    held = held_out(args.seed, size, 400 if args.quick else args.held_out)
    print(f"generated {len(tr_x)} training and {len(held[0])} held-out scenes in "
          f"{time.time() - t0:.0f} s", flush=True)
    net = DescribeNet()
    if init != "none":
        train.load_backbone(net, init, head="decoder.")
        print(f"backbone from {init}", flush=True)
    net = net.to(memory_format=torch.channels_last)
    head = list(net.decoder.parameters())
    rest = [p for n, p in net.named_parameters() if not n.startswith("decoder.")]
    lrs = [3e-3, 1e-3 if init != "none" else 3e-3]
    opt = torch.optim.AdamW([{"params": head}, {"params": rest}], lr=lrs[0],
                            weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lrs, total_steps=steps,
                                                pct_start=0.15)
    tlast = time.time()
    last = -1
    for step in range(steps):
        idx = rng.integers(0, len(tr_x), args.batch)
        imgs, toks, masks = augment(rng, tr_x[idx], tr_t[idx], tr_m[idx])
        targets = torch.from_numpy(toks)
        logits, maps, tok, alpha = net(train.to_input(imgs), targets)
        # tokens up to and including the first end token
        n = (toks != scenes.END).sum(1)
        valid = torch.from_numpy(np.arange(MAX_LENGTH)[None] <= n[:, None])
        ce = F.cross_entropy(tok.reshape(-1, tok.shape[2]), targets.reshape(-1),
                             reduction="none").view(len(toks), -1)
        loss_tok = (ce * valid).sum() / valid.sum()
        loss_cls = F.cross_entropy(logits, torch.from_numpy(frame_label(toks, masks)))
        # each shape token's α towards its shape
        g = int(round(alpha.shape[2] ** 0.5))
        tgt = alpha_targets(masks, (g, g))                         # (N, K, L)
        k = scenes.DESCRIBE_MAX
        shape_tok = torch.from_numpy(np.arange(k)[None] < n[:, None])
        kl = -(tgt * torch.log(alpha[:, :k].clamp_min(1e-8))).sum(2)
        loss_alpha = (kl * shape_tok).sum() / shape_tok.sum().clamp_min(1)
        loss = loss_tok + loss_cls + ALPHA_WEIGHT * loss_alpha
        union = torch.from_numpy(masks.max(1))[:, None].float() / 255
        for stage in maps[-2:]:
            target = F.adaptive_max_pool2d(union, stage[0].shape[-2:])
            for ms in stage:
                loss = loss + GATE_WEIGHT / len(stage) * F.binary_cross_entropy(ms, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 250 == 0 or step == steps - 1:
            now = time.time()
            print(f"step {step}/{steps} loss {loss.item():.4f} (tokens {loss_tok.item():.4f}, "
                  f"alpha {loss_alpha.item():.4f}, class {loss_cls.item():.4f}) "
                  f"{(now - tlast) / (step - last):.3f} s/step lately", flush=True)
            tlast, last = now, step
    exact, peak, line = evaluate(net, held)
    print(f"{line}; training took {(time.time() - t0) / 60:.1f} min", flush=True)
    how = "" if init == os.path.join(models, "default.safetensors") else \
        f" (from {os.path.basename(init)})"
    export(net, out, exact, peak, args.seed, size, how)
    print(f"wrote {out} ({os.path.getsize(out)} bytes)")

