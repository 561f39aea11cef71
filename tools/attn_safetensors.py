# SPDX-License-Identifier: LGPL-2.1-or-later
"""Read and write .safetensors files without the safetensors package.

    save(path, {name: numpy array}, {"key": "string value"})
    tensors, metadata = load(path)

Layout: u64 little-endian header length N, N bytes of JSON
{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets"}}, the
header padded with spaces to a multiple of 8, then the raw little-endian data,
tensors back to back in sorted name order. save() is deterministic: the same
arrays and metadata give the same bytes. Writes F32 (and F16, I64, I32, U8
arrays as they are; anything else becomes F32); reads those and BF16 (widened
to float32).
"""
import json
import struct

import numpy as np

_DTYPES = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "I64": np.dtype("<i8"),
           "I32": np.dtype("<i4"), "U8": np.dtype("u1")}
_NAMES = {v.str: k for k, v in _DTYPES.items()}


def save(path, tensors, metadata=None):
    header = {}
    if metadata:   # safetensors metadata is str → str
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs, offset = [], 0
    for name in sorted(tensors):
        if name == "__metadata__":
            raise ValueError("'__metadata__' is not a tensor name")
        a = np.asarray(tensors[name])
        if a.dtype.newbyteorder("<").str not in _NAMES:
            a = a.astype(np.float32)
        a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
        data = a.tobytes()
        header[name] = {"dtype": _NAMES[a.dtype.str], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load(path):
    """Returns ({name: numpy array (float32 for F32/F16/BF16)}, metadata)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", None) or {}
    data = raw[8 + n:]
    out = {}
    for name, t in header.items():
        b, e = t["data_offsets"]
        count = int(np.prod(t["shape"], dtype=np.int64))
        if t["dtype"] == "BF16":
            u = np.frombuffer(data[b:e], dtype="<u2").astype(np.uint32) << 16
            a = u.view(np.float32)
        else:
            a = np.frombuffer(data[b:e], dtype=_DTYPES[t["dtype"]])
            if t["dtype"] == "F16":
                a = a.astype(np.float32)
        if a.size != count or not 0 <= b <= e <= len(data):
            raise ValueError(f"{path}: tensor '{name}' has {a.size} values for shape {t['shape']}")
        out[name] = a.reshape(t["shape"])
    return out, meta
