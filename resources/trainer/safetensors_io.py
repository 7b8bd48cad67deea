"""Safetensors files in and out: the `safetensors` package when importable, else our own reader/writer.

The format: 8 bytes little-endian header length N, N bytes of JSON ({name: {dtype, shape,
data_offsets: [begin, end]}, "__metadata__": {str: str}}), then the raw little-endian tensor bytes,
which tile the data section exactly (no gaps, no overlaps).
"""
import json
import os
import struct

import numpy as np
import torch

DTYPES = {  # safetensors name -> (torch dtype, numpy dtype used to move the bytes)
    'F32': (torch.float32, np.float32),
    'F16': (torch.float16, np.float16),
    'BF16': (torch.bfloat16, np.int16),  # numpy has no bfloat16: move the bits as int16
    'I64': (torch.int64, np.int64),
    'I32': (torch.int32, np.int32),
    'I16': (torch.int16, np.int16),
    'U8': (torch.uint8, np.uint8),
}
NAMES = {torch_dtype: name for name, (torch_dtype, _) in DTYPES.items()}

try:  # the reference implementation, when the user has it
    from safetensors.torch import load_file as _st_load, save_file as _st_save
except ImportError:
    _st_load = _st_save = None


def save_file(tensors, path, metadata=None):
    """Writes {name: tensor} to `path` (atomically: a temporary file renamed into place)."""
    tmp = f'{path}.tmp-{os.getpid()}'
    cpu = {name: t.detach().to('cpu').contiguous() for name, t in tensors.items()}
    if _st_save is not None:
        _st_save(cpu, tmp, metadata=metadata)
    else:
        _write(cpu, tmp, metadata)
    os.replace(tmp, path)


def _write(tensors, path, metadata):
    # widest dtypes first, so every tensor starts aligned to its element size
    order = sorted(tensors, key=lambda n: (-tensors[n].element_size(), n))
    header, offset = {}, 0
    for name in order:
        t = tensors[name]
        if t.dtype not in NAMES:
            raise ValueError(f'{path}: tensor "{name}" has dtype {t.dtype}; safetensors writer supports {sorted(DTYPES)}')
        size = t.numel() * t.element_size()
        header[name] = {'dtype': NAMES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + size]}
        offset += size
    if metadata:
        header['__metadata__'] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)  # the data section starts 8-byte aligned
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for name in order:
            t = tensors[name]
            if t.dtype == torch.bfloat16:
                t = t.view(torch.int16)
            f.write(t.numpy().tobytes())


def load_file(path):
    """Reads every tensor of `path` into {name: torch tensor} (CPU)."""
    if _st_load is not None:
        return _st_load(path)
    with open(path, 'rb') as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f'{path}: truncated file ({len(raw)} bytes)')
    (n,) = struct.unpack('<Q', raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f'{path}: header length {n} but only {len(raw) - 8} bytes follow')
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    start = 8 + n
    out = {}
    for name, entry in header.items():
        if name == '__metadata__':
            continue
        if entry['dtype'] not in DTYPES:
            raise ValueError(f'{path}: tensor "{name}" has dtype {entry["dtype"]}; supported: {sorted(DTYPES)}')
        torch_dtype, np_dtype = DTYPES[entry['dtype']]
        begin, end = entry['data_offsets']
        array = np.frombuffer(raw, dtype=np_dtype, count=(end - begin) // np.dtype(np_dtype).itemsize, offset=start + begin)
        t = torch.from_numpy(array.copy()).reshape(entry['shape'])
        out[name] = t.view(torch.bfloat16) if entry['dtype'] == 'BF16' else t
    return out
