# SPDX-License-Identifier: LGPL-2.1-or-later
"""Synthetic scenes for the default model: one object (or none) on a varied
background, with clutter that is none of the object shapes.

make_batch(rng, n, size) returns images (n, size, size, 3) uint8, labels (n,)
and object masks (n, size, size) float32 in 0..1; make_batch_stn the "stn"
variant (small to medium objects, off-centre; tools/train.py --stn) with the
objects' centres and extents too. Deterministic for a given
numpy Generator. Shapes are drawn anti-aliased from signed distances, so a
disc looks like videotestsrc's ball and not like a blocky polygon.
"""
import numpy as np

CLASSES = ["none", "disc", "square", "triangle", "ring", "cross"]
R_MIN, R_MAX = 0.045, 0.3         # object radius, fraction of the scene
ASPECT_MIN, ASPECT_MAX = 0.55, 1.6  # x stretch: 16:9 squeezed .. portrait


def _grid(size):
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    return x + 0.5, y + 0.5


def _blur(img, passes):
    for _ in range(passes):
        img = (img + np.roll(img, 1, 0) + np.roll(img, -1, 0)
               + np.roll(img, 1, 1) + np.roll(img, -1, 1)) / 5
    return img


def _colour(rng):
    return rng.uniform(0, 255, 3).astype(np.float32)


def background(rng, size):
    """A (size, size, 3) float32 background in 0..255."""
    x, y = _grid(size)
    kind = rng.integers(0, 10)
    if kind == 0:                                    # flat colour
        c = _colour(rng)
        if rng.random() < 0.4:                       # black, white or grey
            c = np.full(3, rng.choice([0.0, 255.0, rng.uniform(0, 255)]), np.float32)
        img = np.broadcast_to(c, (size, size, 3)).copy()
    elif kind == 1:                                  # linear gradient
        a = rng.uniform(0, 2 * np.pi)
        t = ((x * np.cos(a) + y * np.sin(a)) / size + 1) / 2
        c0, c1 = _colour(rng), _colour(rng)
        img = c0 + (c1 - c0) * np.clip(t, 0, 1)[..., None]
    elif kind == 2:                                  # stripes
        a, f = rng.uniform(0, np.pi), rng.uniform(2, 16)
        t = np.sin((x * np.cos(a) + y * np.sin(a)) / size * 2 * np.pi * f) > 0
        c0, c1 = _colour(rng), _colour(rng)
        img = np.where(t[..., None], c0, c1)
    elif kind == 3:                                  # checkerboard
        s = rng.integers(3, 24)
        t = ((x // s + y // s) % 2).astype(bool)
        c0, c1 = _colour(rng), _colour(rng)
        img = np.where(t[..., None], c0, c1)
    elif kind == 4:                                  # colour bars
        n = rng.integers(3, 9)
        cols = rng.uniform(0, 255, (n, 3)).astype(np.float32)
        img = cols[np.minimum((x / size * n).astype(int), n - 1)]
    elif kind == 5:                                  # per-pixel snow
        if rng.random() < 0.5:
            img = np.repeat(rng.uniform(0, 255, (size, size, 1)), 3, 2)
        else:
            img = rng.uniform(0, 255, (size, size, 3))
    elif kind == 6:                                  # smooth random texture
        small = rng.uniform(0, 255, (size // 8 + 2, size // 8 + 2, 3))
        img = np.kron(small, np.ones((8, 8, 1)))[:size, :size]
        img = _blur(img, 4)
    elif kind == 7:                                  # sum of sinusoids
        img = np.zeros((size, size, 3), np.float32)
        for _ in range(3):
            a, f = rng.uniform(0, np.pi), rng.uniform(1, 8)
            ph = rng.uniform(0, 2 * np.pi)
            img += np.sin((x * np.cos(a) + y * np.sin(a)) / size * 2 * np.pi * f + ph)[..., None] \
                * rng.uniform(20, 60, 3)
        img += _colour(rng)
    elif kind == 8:                                  # blurred noise
        img = _blur(rng.uniform(0, 255, (size, size, 3)), int(rng.integers(1, 6)))
    else:                                            # gradient + noise
        c0, c1 = _colour(rng), _colour(rng)
        img = c0 + (c1 - c0) * (y / size)[..., None] + rng.normal(0, 20, (size, size, 3))
    return np.clip(img, 0, 255).astype(np.float32)


def _sdf(shape, x, y, cx, cy, r, rot, aspect=1.0):
    """Signed distance in pixels to the object's edge (negative inside).

    aspect stretches the object along the scene's x axis (after rotation),
    as the element does to a frame that is not square; the distance is then
    measured in the unstretched frame and scaled back, which is exact enough
    for a one-pixel anti-aliased edge."""
    if aspect != 1.0:
        return _sdf(shape, cx + (x - cx) / aspect, y, cx, cy, r, rot) * min(aspect, 1.0)
    dx, dy = x - cx, y - cy
    c, s = np.cos(rot), np.sin(rot)
    u, v = c * dx + s * dy, -s * dx + c * dy
    if shape == "disc":
        return np.hypot(dx, dy) - r
    if shape == "ring":
        return np.abs(np.hypot(dx, dy) - r * 0.75) - r * 0.25
    if shape == "square":
        h = r * 0.85
        q = np.stack([np.abs(u) - h, np.abs(v) - h])
        return np.hypot(np.maximum(q[0], 0), np.maximum(q[1], 0)) + np.minimum(np.max(q, 0), 0)
    if shape == "cross":
        a, b = r, r * 0.3
        d1 = np.maximum(np.abs(u) - a, np.abs(v) - b)
        d2 = np.maximum(np.abs(u) - b, np.abs(v) - a)
        return np.minimum(d1, d2)
    if shape == "triangle":
        # equilateral, circumradius r: max of the three edge half-planes
        d = None
        for k in range(3):
            ang = rot + np.pi / 2 + k * 2 * np.pi / 3
            e = dx * np.cos(ang) + dy * np.sin(ang) - r * 0.5
            d = e if d is None else np.maximum(d, e)
        return d
    raise ValueError(shape)


def _object_colour(rng, under, black_white=True):
    """A colour that stands out from `under` (the mean colour below the
    object) by more than 80 in one channel and 120 in all three, in up to 10
    tries (the last one otherwise); with black_white, 30 % of the tries are
    black or white."""
    for _ in range(10):
        col = _colour(rng)
        if black_white and rng.random() < 0.3:
            col = np.full(3, rng.choice([0.0, 255.0]), np.float32)
        diff = np.abs(col - under)
        if diff.max() > 80 and diff.sum() > 120:
            break
    return col


def _clutter(rng, img, size):
    """Thin lines and partial arcs: edges everywhere, none of the shapes."""
    x, y = _grid(size)
    for _ in range(rng.integers(0, 5)):
        col = _colour(rng)
        if rng.random() < 0.6:
            a = rng.uniform(0, np.pi)
            off = rng.uniform(-size / 2, size / 2)
            d = np.abs((x - size / 2) * np.cos(a) + (y - size / 2) * np.sin(a) - off)
            w = rng.uniform(0.5, 1.5)
        else:
            cx, cy = rng.uniform(0, size, 2)
            r = rng.uniform(size * 0.1, size * 0.5)
            ang = np.arctan2(y - cy, x - cx)
            a0 = rng.uniform(-np.pi, np.pi)
            span = rng.uniform(0.3, 2.0)            # under 180°: never a ring
            inside = ((ang - a0) % (2 * np.pi)) < span
            d = np.where(inside, np.abs(np.hypot(x - cx, y - cy) - r), 99)
            w = rng.uniform(0.5, 1.5)
        alpha = np.clip(w - d + 0.5, 0, 1)[..., None]
        img = img * (1 - alpha) + col * alpha
    return img


def make_image(rng, size):
    """One scene of the default model's distribution: (image, label, mask)."""
    return _scene(rng, size, False)[:3]


def make_image_stn(rng, size):
    """One scene of the STN model's distribution (the "stn" variant): the
    same backgrounds, clutter, colours and shapes, but the object is small to
    medium (radius STN_R_MIN..STN_R_MAX of the scene, log-uniform), wholly
    inside the scene and off-centre (its centre at least STN_OFF of the side
    from the scene's centre along x or y). Returns (image, label, mask,
    (cx, cy, extent)): the object's centre in continuous pixel coordinates
    (the top-left corner of the scene is (0, 0), pixel i spans [i, i+1]) and
    how far it reaches from there along x or y, whichever is further, in
    pixels (whatever its rotation); (size/2, size/2, 0) when there is no
    object."""
    return _scene(rng, size, True)


STN_R_MIN, STN_R_MAX = 0.045, 0.16   # "stn" variant: object radius, fraction
STN_OFF = 0.15                       # "stn" variant: minimum offset from centre


def _scene(rng, size, stn):
    label = int(rng.integers(0, len(CLASSES)))
    img = background(rng, size)
    if rng.random() < 0.6:
        img = _clutter(rng, img, size)
    mask = np.zeros((size, size), np.float32)
    geom = (size / 2, size / 2, 0.0)
    if label:
        x, y = _grid(size)
        # log-uniform radius: as many objects of 3-6 px as of 15-30 px
        r_min, r_max = (STN_R_MIN, STN_R_MAX) if stn else (R_MIN, R_MAX)
        r = size * np.exp(rng.uniform(np.log(r_min), np.log(r_max)))
        # a frame of aspect A (4:3, 16:9, portrait) is stretched to the square
        # input, so an object arrives squeezed by 1/A along x
        aspect = np.exp(rng.uniform(np.log(ASPECT_MIN), np.log(ASPECT_MAX))) \
            if rng.random() < 0.7 else 1.0
        rx = r * max(aspect, 1.0)
        if stn:   # wholly inside, off-centre
            # the shape's reach from its centre: a square's corner is 0.85·√2 r
            reach = r * {"square": 1.21, "cross": 1.05}.get(CLASSES[label], 1.0)
            rx = reach * max(aspect, 1.0)
            while True:
                cx = rng.uniform(rx + 1, size - rx - 1)
                cy = rng.uniform(reach + 1, size - reach - 1)
                if max(abs(cx - size / 2), abs(cy - size / 2)) >= STN_OFF * size:
                    break
        else:
            cx = rng.uniform(rx * 0.6, size - rx * 0.6)
            cy = rng.uniform(r * 0.6, size - r * 0.6)
        geom = (float(cx), float(cy), float(rx))
        d = _sdf(CLASSES[label], x, y, cx, cy, r, rng.uniform(0, 2 * np.pi), aspect)
        alpha = np.clip(0.5 - d, 0, 1)
        # an object colour that stands out from what lies under it
        under = (img * alpha[..., None]).sum((0, 1)) / max(alpha.sum(), 1)
        col = _object_colour(rng, under)
        img = img * (1 - alpha[..., None]) + col * alpha[..., None]
        mask = alpha
    if rng.random() < 0.3:
        img = img + rng.normal(0, rng.uniform(2, 12), img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), label, mask, geom


def make_frame(rng, width=1920, height=1080, n_min=1, n_max=4, d_min=0.02, d_max=0.06):
    """A video-sized scene for coarse-to-fine inference: n_min..n_max shapes,
    each d_min..d_max of the frame height across, apart from each other, on a
    textured background (the same kinds as the training scenes, drawn at the
    frame's width). Returns (height, width, 3) uint8 and the objects as
    (label, centre x, centre y, radius) in pixels, deterministic for the
    generator."""
    img = background(rng, width)[:height].copy()
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    x += 0.5
    y += 0.5
    objs = []
    for _ in range(int(rng.integers(n_min, n_max + 1))):
        for _try in range(50):
            r = height * rng.uniform(d_min, d_max) / 2
            cx = rng.uniform(r + 4, width - r - 4)
            cy = rng.uniform(r + 4, height - r - 4)
            if all(np.hypot(cx - o[1], cy - o[2]) > r + o[3] + 20 for o in objs):
                break
        label = int(rng.integers(1, len(CLASSES)))
        x0, x1 = int(max(cx - r - 3, 0)), int(min(cx + r + 3, width))
        y0, y1 = int(max(cy - r - 3, 0)), int(min(cy + r + 3, height))
        d = _sdf(CLASSES[label], x[y0:y1, x0:x1], y[y0:y1, x0:x1], cx, cy, r,
                 rng.uniform(0, 2 * np.pi))
        alpha = np.clip(0.5 - d, 0, 1)[..., None]
        under = img[y0:y1, x0:x1].reshape(-1, 3).mean(0)
        col = _object_colour(rng, under, black_white=False)
        img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - alpha) + col * alpha
        objs.append((label, float(cx), float(cy), float(r)))
    return np.clip(img, 0, 255).astype(np.uint8), objs


def make_coarse_image(rng, size, factor=3):
    """What a coarse-to-fine pass sees: a size·factor square cut from a
    video frame (background textures and objects at the frame's pixel scale:
    radius 8-40 px, as make_frame's 2-6 % of a 1080-line frame), shrunk by
    factor with area averaging as the element's pre-processing does. One
    object or none (label 0), like make_image; the mask is shrunk the same
    way."""
    big = size * factor
    label = int(rng.integers(0, len(CLASSES)))
    img = background(rng, big)
    if rng.random() < 0.6:
        img = _clutter(rng, img, big)
    mask = np.zeros((big, big), np.float32)
    if label:
        x, y = _grid(big)
        r = np.exp(rng.uniform(np.log(8.0), np.log(40.0)))
        cx = rng.uniform(r * 0.6, big - r * 0.6)
        cy = rng.uniform(r * 0.6, big - r * 0.6)
        d = _sdf(CLASSES[label], x, y, cx, cy, r, rng.uniform(0, 2 * np.pi))
        alpha = np.clip(0.5 - d, 0, 1)
        under = (img * alpha[..., None]).sum((0, 1)) / max(alpha.sum(), 1)
        col = _object_colour(rng, under)
        img = img * (1 - alpha[..., None]) + col * alpha[..., None]
        mask = alpha
    if rng.random() < 0.3:
        img = img + rng.normal(0, rng.uniform(2, 12), img.shape)
    img = np.clip(img, 0, 255).reshape(size, factor, size, factor, 3).mean((1, 3))
    mask = mask.reshape(size, factor, size, factor).mean((1, 3))
    return np.round(img).astype(np.uint8), label, mask


def make_coarse_batch(rng, n, size, factor=3):
    imgs = np.empty((n, size, size, 3), np.uint8)
    labels = np.empty(n, np.int64)
    masks = np.empty((n, size, size), np.float32)
    for i in range(n):
        imgs[i], labels[i], masks[i] = make_coarse_image(rng, size, factor)
    return imgs, labels, masks


def make_batch(rng, n, size):
    imgs = np.empty((n, size, size, 3), np.uint8)
    labels = np.empty(n, np.int64)
    masks = np.empty((n, size, size), np.float32)
    for i in range(n):
        imgs[i], labels[i], masks[i] = make_image(rng, size)
    return imgs, labels, masks


def make_batch_stn(rng, n, size):
    """make_batch for the "stn" variant, plus the objects' (cx, cy, extent)
    as an (n, 3) float32 array (make_image_stn)."""
    imgs = np.empty((n, size, size, 3), np.uint8)
    labels = np.empty(n, np.int64)
    masks = np.empty((n, size, size), np.float32)
    geoms = np.empty((n, 3), np.float32)
    for i in range(n):
        imgs[i], labels[i], masks[i], geoms[i] = make_image_stn(rng, size)
    return imgs, labels, masks, geoms


# The describe model's scenes (tools/train.py --describe): one to three
# shapes whose sentence names them left to right.
VOCABULARY = ["<start>", "<end>"] + CLASSES[1:]
START, END = 0, 1
DESCRIBE_MAX = 3                      # shapes per scene
DESCRIBE_R_MIN, DESCRIBE_R_MAX = 0.07, 0.14   # radius, fraction of the side
DESCRIBE_GAP = 3.0                    # pixels between objects' x extents


def make_describe_image(rng, size, count=None):
    """One describe scene: (image, tokens, masks, boxes). 1..DESCRIBE_MAX
    shapes on the default scenes' backgrounds and clutter, each wholly inside
    the scene, their x extents apart by DESCRIBE_GAP pixels (so "left to
    right" is never ambiguous; they may share rows). tokens: the shapes'
    vocabulary ids left to right, then END, padded with END to
    DESCRIBE_MAX + 1; masks (DESCRIBE_MAX, size, size): each object's
    coverage in the same order, zeros after the last; boxes
    (DESCRIBE_MAX, 4): x0, y0, x1, y1 of each object's reach, pixels. count:
    that many shapes (tried for; default: 1..DESCRIBE_MAX at random)."""
    img = background(rng, size)
    if rng.random() < 0.6:
        img = _clutter(rng, img, size)
    x, y = _grid(size)
    want = count or int(rng.integers(1, DESCRIBE_MAX + 1))
    objs = []
    for _ in range(want):
        for _try in range(100):
            r = size * np.exp(rng.uniform(np.log(DESCRIBE_R_MIN), np.log(DESCRIBE_R_MAX)))
            label = int(rng.integers(1, len(CLASSES)))
            reach = r * {"square": 1.21, "cross": 1.05}.get(CLASSES[label], 1.0)
            cx = rng.uniform(reach + 1, size - reach - 1)
            cy = rng.uniform(reach + 1, size - reach - 1)
            if all(abs(cx - o[1]) > reach + o[3] + DESCRIBE_GAP for o in objs):
                objs.append((label, cx, cy, reach, r))
                break
    objs.sort(key=lambda o: o[1])
    masks = np.zeros((DESCRIBE_MAX, size, size), np.float32)
    boxes = np.zeros((DESCRIBE_MAX, 4), np.float32)
    tokens = np.full(DESCRIBE_MAX + 1, END, np.int64)
    for i, (label, cx, cy, reach, r) in enumerate(objs):
        d = _sdf(CLASSES[label], x, y, cx, cy, r, rng.uniform(0, 2 * np.pi))
        alpha = np.clip(0.5 - d, 0, 1)
        under = (img * alpha[..., None]).sum((0, 1)) / max(alpha.sum(), 1)
        col = _object_colour(rng, under)
        img = img * (1 - alpha[..., None]) + col * alpha[..., None]
        masks[i] = alpha
        boxes[i] = (cx - reach, cy - reach, cx + reach, cy + reach)
        tokens[i] = VOCABULARY.index(CLASSES[label])
    if rng.random() < 0.3:
        img = img + rng.normal(0, rng.uniform(2, 12), img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), tokens, masks, boxes


def make_describe_batch(rng, n, size):
    imgs = np.empty((n, size, size, 3), np.uint8)
    tokens = np.empty((n, DESCRIBE_MAX + 1), np.int64)
    masks = np.empty((n, DESCRIBE_MAX, size, size), np.float32)
    boxes = np.empty((n, DESCRIBE_MAX, 4), np.float32)
    for i in range(n):
        imgs[i], tokens[i], masks[i], boxes[i] = make_describe_image(rng, size)
    return imgs, tokens, masks, boxes
