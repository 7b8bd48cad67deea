#!/usr/bin/python3
"""Vendor Baidu LAC-small (the BiGRU-CRF shipped in Debian's python3-jieba, jieba/lac_small) into
resources/tagging/lac/ without PaddlePaddle.

    /usr/bin/python3 scripts/vendor-lac.py

Each file in lac_small/model_baseline/ is one LoDTensor as fluid.io.save_vars writes it:
  uint32 version | uint64 lod_level | (uint64 bytes + data) per level | uint32 version |
  int32 desc_size | VarType.TensorDesc protobuf (1: data_type enum, 2: repeated int64 dims) | raw data
We check every header and write the tensors unchanged (float32, Paddle's names) into lac-small.safetensors,
plus word.dic / tag.dic verbatim, a manifest and the Apache-2.0 licence text.
"""
import json
import os
import struct

LAC = "/usr/lib/python3/dist-packages/jieba/lac_small"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "tagging", "lac")
NAMES = ["word_emb"] + [f"fc_{i}.{p}_0" for i in range(5) for p in "wb"] + \
        [f"gru_{i}.{p}_0" for i in range(4) for p in "wb"] + ["crfw"]
FP32 = 5  # VarType.Type.FP32


def varint(buf, pos):
    value, shift = 0, 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def tensor_desc(buf):
    dtype, dims, pos = None, [], 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        field, wire = key >> 3, key & 7
        if field == 1 and wire == 0:
            dtype, pos = varint(buf, pos)
        elif field == 2 and wire == 0:
            dim, pos = varint(buf, pos)
            dims.append(dim)
        elif field == 2 and wire == 2:  # packed dims
            size, pos = varint(buf, pos)
            end = pos + size
            while pos < end:
                dim, pos = varint(buf, pos)
                dims.append(dim)
        else:
            raise ValueError(f"unexpected TensorDesc field {field} (wire type {wire})")
    return dtype, dims


def read_lod_tensor(path):
    data = open(path, "rb").read()
    (version,) = struct.unpack_from("<I", data, 0)
    (lod_level,) = struct.unpack_from("<Q", data, 4)
    pos = 12
    for _ in range(lod_level):
        (size,) = struct.unpack_from("<Q", data, pos)
        pos += 8 + size
    (tensor_version,) = struct.unpack_from("<I", data, pos)
    (desc_size,) = struct.unpack_from("<i", data, pos + 4)
    pos += 8
    dtype, dims = tensor_desc(data[pos:pos + desc_size])
    pos += desc_size
    raw = data[pos:]
    count = 1
    for d in dims:
        count *= d
    if version != 0 or tensor_version != 0 or dtype != FP32 or len(raw) != 4 * count:
        raise ValueError(f"{path}: version {version}/{tensor_version}, dtype {dtype}, dims {dims}, {len(raw)} bytes")
    return dims, raw


def main():
    os.makedirs(OUT, exist_ok=True)
    header, chunks, offset = {}, [], 0
    for name in NAMES:
        dims, raw = read_lod_tensor(os.path.join(LAC, "model_baseline", name))
        header[name] = {"dtype": "F32", "shape": dims, "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"source": "jieba/lac_small/model_baseline (python3-jieba)", "format": "paddle-fluid"}
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)
    with open(os.path.join(OUT, "lac-small.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(chunks))
    for name in ["word.dic", "tag.dic"]:
        with open(os.path.join(LAC, name), "rb") as src, open(os.path.join(OUT, name), "wb") as dst:
            dst.write(src.read())
    manifest = {
        "model": "Baidu LAC-small (lexical analysis of Chinese), as shipped in jieba/lac_small",
        "licence": "Apache-2.0 (Copyright (c) 2019 PaddlePaddle Authors), see LICENSE",
        "weights": "lac-small.safetensors",
        "vocab": "word.dic",
        "tags": "tag.dic",
        "oov": "OOV",
        "embedding": 128,
        "hidden": 128,
        "bigru_layers": 2,
        "network": [
            "word_emb: [vocab, 128] lookup per character of the stripped input",
            "layer l (0, 1): forward fc_{2l} -> gru_{2l}; reverse fc_{2l+1} -> gru_{2l+1} (is_reverse); concat [fwd, rev]",
            "fc_k: y = x W + b; W [in, 384] with gates ordered update, reset, candidate",
            "gru_k.w_0 [128, 384]: first 128*256 floats are the [128, 256] update|reset weights, the last 128*128 the [128, 128] candidate weights (Paddle's gate_weight / state_weight)",
            "gru: u,r = sigmoid(x_ur + h W_ur + b_ur); c = tanh(x_c + (r*h) W_c + b_c); h = (1-u)*h + u*c",
            "fc_4: emission [256, 57]; crfw [59, 57]: row 0 start, row 1 end, rows 2.. transitions from->to",
        ],
    }
    with open(os.path.join(OUT, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=2)
        f.write("\n")
    with open("/usr/share/common-licenses/Apache-2.0", encoding="utf-8") as src:
        text = src.read()
    with open(os.path.join(OUT, "LICENSE"), "w", encoding="utf-8") as f:
        f.write("Baidu LAC-small model (jieba/lac_small in python3-jieba)\n"
                "Copyright (c) 2019 PaddlePaddle Authors. All Rights Reserved.\n\n" + text)


if __name__ == "__main__":
    main()
