#!/usr/bin/python3
"""PyTorch side of `mengzi bench train`: the same BERT MLM training step, for comparison.

Run with Debian's torch (not the pyenv shim) and OpenBLAS limited to 2 threads:
  OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 test/bench/train_torch.py --config A [--json]

Model: BERT with HF's layout (Linear weights [out, in], LayerNorm eps 1e-12, erf GELU, MLM transform
and decoder tied to the word embeddings), dropout off (--dropout P turns it on in HF's places); vocab 21128; sequence 128; batch 16 (A, B)
or 32 (BASE); round(15% x 128) = 19 masked positions per sequence (the same ids and positions as
engine/train/bench.ts); MLM cross-entropy on the gathered masked rows; Adam lr 1e-4; 3 warm-up steps,
10 timed. The last line of --json is one JSON object with medianStepMs and tokensPerSec. --precision fp16
(CUDA only): torch.autocast to float16 with a GradScaler, PyTorch's automatic mixed precision.
"""
import argparse
import contextlib
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

CONFIGS = {  # layers, hidden, heads, intermediate
    'A': (2, 128, 2, 512),
    'B': (4, 256, 4, 1024),
    'BASE': (12, 768, 12, 3072),
}
VOCAB, MAX_POSITIONS, TYPES, SEQ, MASK_ID = 21128, 512, 2, 128, 103


def seeded_ints(count, n, seed):
    """mulberry32, as engine/train/bench.ts, so both engines train on the same batch."""
    out, s = [], seed & 0xFFFFFFFF

    def imul(a, b):
        return (a * b) & 0xFFFFFFFF

    for _ in range(count):
        s = (s + 0x6D2B79F5) & 0xFFFFFFFF
        t = imul(s ^ (s >> 15), s | 1)
        t = (t ^ ((t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        out.append(int(((t ^ (t >> 14)) & 0xFFFFFFFF) / 2**32 * n))
    return out


def bench_batch(batch_size):
    ids = [v + 1 for v in seeded_ints(batch_size * SEQ, VOCAB - 1, 1234)]
    per_sequence = round(0.15 * SEQ)
    positions, labels = [], []
    for b in range(batch_size):
        for j in range(per_sequence):
            p = b * SEQ + 1 + (j * (SEQ - 1)) // per_sequence
            positions.append(p)
            labels.append(ids[p])
            ids[p] = MASK_ID
    return (torch.tensor(ids).view(batch_size, SEQ), torch.tensor(positions), torch.tensor(labels))


class Layer(nn.Module):
    def __init__(self, h, heads, inter, dropout):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.attn_out, self.attn_norm = nn.Linear(h, h), nn.LayerNorm(h, eps=1e-12)
        self.inter, self.out, self.out_norm = nn.Linear(h, inter), nn.Linear(inter, h), nn.LayerNorm(h, eps=1e-12)

    def forward(self, x, mask):
        b, t, h = x.shape
        split = lambda y: y.view(b, t, self.heads, h // self.heads).transpose(1, 2)  # [B, nh, T, hd]
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(h // self.heads) + mask
        probs = F.dropout(scores.softmax(-1), self.dropout, self.training)
        context = (probs @ v).transpose(1, 2).reshape(b, t, h)
        x = self.attn_norm(F.dropout(self.attn_out(context), self.dropout, self.training) + x)
        return self.out_norm(F.dropout(self.out(F.gelu(self.inter(x))), self.dropout, self.training) + x)


class BertMLM(nn.Module):
    def __init__(self, layers, h, heads, inter, dropout=0.0):
        super().__init__()
        self.dropout = dropout
        self.word, self.position, self.token_type = nn.Embedding(VOCAB, h), nn.Embedding(MAX_POSITIONS, h), nn.Embedding(TYPES, h)
        self.emb_norm = nn.LayerNorm(h, eps=1e-12)
        self.layers = nn.ModuleList(Layer(h, heads, inter, dropout) for _ in range(layers))
        self.transform, self.transform_norm = nn.Linear(h, h), nn.LayerNorm(h, eps=1e-12)
        self.decoder_bias = nn.Parameter(torch.zeros(VOCAB))
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)

    def forward(self, ids, positions, labels):
        b, t = ids.shape
        x = self.word(ids) + self.token_type(torch.zeros_like(ids)) + self.position(torch.arange(t, device=ids.device))
        x = F.dropout(self.emb_norm(x), self.dropout, self.training)
        mask = torch.zeros(b, 1, 1, t, device=ids.device, dtype=x.dtype)  # no padding: HF's additive mask is all zeros
        for layer in self.layers:
            x = layer(x, mask)
        picked = x.reshape(b * t, -1)[positions]  # [M, H]
        logits = self.transform_norm(F.gelu(self.transform(picked))) @ self.word.weight.t() + self.decoder_bias
        return F.cross_entropy(logits, labels)


def blas_library():
    """The BLAS shared object torch actually loaded (Debian's torch reports BLAS_INFO=generic)."""
    try:
        with open('/proc/self/maps') as maps:
            names = {line.split()[-1] for line in maps if 'blas' in line.lower()}
        return ', '.join(sorted(n.rsplit('/', 1)[-1] for n in names)) or 'unknown'
    except OSError:
        return 'unknown'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', choices=CONFIGS, default='A')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--dropout', type=float, default=0.0, help='hidden and attention dropout (HF places); default off')
    parser.add_argument('--device', default='cpu', help='cpu, or cuda (gpu-vs-torch.sh)')
    parser.add_argument('--precision', choices=('fp32', 'fp16'), default='fp32',
                        help='fp16: autocast to float16 with a GradScaler (automatic mixed precision; CUDA only)')
    parser.add_argument('--json', action='store_true')
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.precision == 'fp16' and device.type != 'cuda':
        parser.error('--precision fp16 is automatic mixed precision on CUDA; use --device cuda')
    amp = args.precision == 'fp16'
    scaler = torch.cuda.amp.GradScaler(enabled=amp)

    torch.set_num_threads(args.threads)
    torch.manual_seed(42)
    batch_size = 32 if args.config == 'BASE' else 16
    model = BertMLM(*CONFIGS[args.config], dropout=args.dropout).train().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    ids, positions, labels = (t.to(device) for t in bench_batch(batch_size))

    times, cpu_times, losses = [], [], []
    for i in range(args.warmup + args.steps):
        start = time.perf_counter()
        cpu_start = time.process_time()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type='cuda', dtype=torch.float16) if amp else contextlib.nullcontext():
            loss = model(ids, positions, labels)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        value = loss.item()
        ms = (time.perf_counter() - start) * 1000
        cpu_ms = (time.process_time() - cpu_start) * 1000
        if i >= args.warmup:
            times.append(ms)
            cpu_times.append(cpu_ms)
            losses.append(value)
        if not args.json:
            print(f"{'warm-up' if i < args.warmup else 'step'} {i + 1}: {ms:.0f} ms, loss {value:.4f}")

    median = statistics.median(times)
    result = {
        'engine': 'pytorch',
        'torch': torch.__version__,
        'blas': blas_library(),
        'device': torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu',
        'config': args.config,
        'precision': args.precision,
        'threads': torch.get_num_threads(),
        'batchSize': batch_size,
        'sequenceLength': SEQ,
        'parameters': sum(p.numel() for p in model.parameters()),
        'stepMs': times,
        'medianStepMs': median,
        'medianCpuMs': statistics.median(cpu_times),  # process CPU time, all threads
        'tokensPerSec': batch_size * SEQ * 1000 / median,
        'losses': losses,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"pytorch {result['torch']} ({result['blas']}, {result['threads']} threads), config {args.config}: "
              f"{result['parameters']:,} parameters; median {median:.1f} ms/step, {result['tokensPerSec']:.0f} tokens/s")


if __name__ == '__main__':
    main()
