"""The workbench's training token shards (docs/shards.md), memory-mapped, as micro-batches.

Each rank maps the split's .tok/.idx files (numpy memmap: the OS pages in what a rank reads) and
builds its own rows of every global micro-batch. Order: segments in blocks of 4096 consecutive
ones; each epoch visits the blocks in a random order and a block's segments in a random order,
drawn from (seed, epoch[, block]), so a data position is all a checkpoint needs. Masking is drawn per
(seed, step, micro, rank) as the local engine draws it (engine/train/data.ts buildMlmBatch): 15% of
the non-special tokens, 80% [MASK] / 10% random id / 10% kept, one forced when none was chosen.
"""
import json
import os

import numpy as np
import torch

from batches import rank_rows

TOK = np.dtype([('id', '<i4'), ('pos', 'u1'), ('ner', 'u1'), ('flags', 'u1'), ('pad', 'u1')])
IDX = np.dtype([('start', '<u4'), ('length', '<u4'), ('record', '<u4')])
BLOCK = 4096


class ShardSplit:
    """All segments of one split: segment(i) -> int64 token ids."""

    def __init__(self, directory, split='train'):
        path = os.path.join(directory, 'manifest.json')
        with open(path, encoding='utf-8') as f:
            self.manifest = json.load(f)
        m = self.manifest
        if m.get('format') != 'mengzi-token-shards' or m.get('version') != 1:
            raise ValueError(f'{path}: not mengzi-token-shards version 1 (format {m.get("format")!r}, version {m.get("version")!r})')
        if split not in m['splits']:
            raise ValueError(f'{path}: no "{split}" split (has {sorted(m["splits"])})')
        self.tok, self.idx, self.offsets = [], [], [0]
        for shard in m['splits'][split]['shards']:
            for name, dtype, count in ((shard['tok'], TOK, shard['tokens']), (shard['idx'], IDX, shard['segments'])):
                size = os.path.getsize(os.path.join(directory, name))
                if size != count * dtype.itemsize:
                    raise ValueError(f'{directory}/{name}: {size} bytes, the manifest says {count} records of {dtype.itemsize}')
            self.tok.append(np.memmap(os.path.join(directory, shard['tok']), dtype=TOK, mode='r'))
            self.idx.append(np.memmap(os.path.join(directory, shard['idx']), dtype=IDX, mode='r'))
            self.offsets.append(self.offsets[-1] + shard['segments'])
        self.size = self.offsets[-1]
        if self.size == 0:
            raise ValueError(f'{directory}: the {split} split has no segments')

    def segment(self, i):
        s = int(np.searchsorted(self.offsets, i, side='right')) - 1
        entry = self.idx[s][i - self.offsets[s]]
        start, length = int(entry['start']), int(entry['length'])
        return torch.from_numpy(self.tok[s]['id'][start:start + length].astype(np.int64))


def seeded(*parts):
    """A generator seeded from a tuple of ints (distinct tuples, distinct streams)."""
    h = 1469598103934665603
    for p in parts:
        h = ((h ^ (int(p) & 0xFFFFFFFFFFFF)) * 1099511628211) & 0x7FFFFFFFFFFFFFFF
    return torch.Generator().manual_seed(h)


class BlockOrder:
    """Position (segments consumed since the start) -> segment index; docs/shards.md's block order."""

    def __init__(self, size, seed):
        self.size, self.seed, self.epoch, self.perm = size, seed, -1, None

    def index_at(self, position):
        epoch = position // self.size
        if epoch != self.epoch:
            blocks = (self.size + BLOCK - 1) // BLOCK
            parts = []
            for b in torch.randperm(blocks, generator=seeded(self.seed, epoch)).tolist():
                lo, hi = b * BLOCK, min(self.size, (b + 1) * BLOCK)
                parts.append(lo + torch.randperm(hi - lo, generator=seeded(self.seed, epoch, b)))
            self.perm, self.epoch = torch.cat(parts), epoch
        return int(self.perm[position % self.size])


class ShardBatches:
    def __init__(self, directory, run, bert, specials=None):
        self.split = ShardSplit(directory)
        m = self.split.manifest
        self.specials = specials or m['vocab']['specials']
        if m['vocab']['size'] > bert['vocab_size']:
            raise ValueError(f'{directory}: vocab of {m["vocab"]["size"]} tokens, more than the model\'s vocab_size ({bert["vocab_size"]})')
        self.run, self.vocab_size = run, bert['vocab_size']
        self.pairs = run.get('pairObjective', 'none')
        if self.pairs != 'none' and self.split.size < 2:
            raise ValueError(f'{self.pairs.upper()} needs at least two segments of text')
        self.order = BlockOrder(self.split.size, run['seed'])

    def _pair(self, index, g):
        """engine/train/data.ts pairAt: 0 = in order; NSP swaps in a random segment, SOP swaps the two."""
        n = self.split.size
        first = index if index + 1 < n else index - 1
        a, nxt = self.split.segment(first), self.split.segment(first + 1)
        coin = float(torch.rand((), generator=g))
        if self.pairs == 'sop':
            return ((a, nxt), 0) if coin < 0.5 else ((nxt, a), 1)
        if coin < 0.5:
            return (a, nxt), 0
        other = int(torch.randint(n - 1, (), generator=g))
        if other >= first + 1:
            other += 1
        return (a, self.split.segment(other)), 1

    def micro_batch(self, step, micro, rank, world):
        run = self.run
        B, accumulation = run['batchSize'], run['gradientAccumulation']
        rows = rank_rows(B, rank, world)
        first = (step * accumulation + micro) * B
        g = seeded(run['seed'], step, micro, rank)
        items, pair_labels = [], []
        for position in range(first + rows.start, first + rows.stop):
            index = self.order.index_at(position)
            if self.pairs == 'none':
                items.append((self.split.segment(index),))
            else:
                item, label = self._pair(index, g)
                items.append(item)
                pair_labels.append(label)
        batch = build_mlm_batch(items, run['maxSeqLength'], run['mlmProbability'], self.vocab_size, self.specials, g)
        if self.pairs != 'none':
            batch['pair_labels'] = torch.tensor(pair_labels)
        return batch


def truncate(segments, budget):
    """HF's longest_first: drop tokens from the end of the longer segment until all fit."""
    lengths = [len(s) for s in segments]
    while sum(lengths) > budget:
        i = max(range(len(lengths)), key=lambda k: (lengths[k], -k))
        lengths[i] -= 1
    return [s[:n] for s, n in zip(segments, lengths)]


def build_mlm_batch(items, max_seq_length, p, vocab_size, specials, g):
    """[CLS] A [SEP] (B [SEP]), token types 0/1, padded to the longest; HF-style dynamic masking."""
    items = [truncate(list(it), max_seq_length - 1 - len(it)) for it in items]
    T = max(1 + sum(len(s) + 1 for s in it) for it in items)
    B = len(items)
    ids = torch.full((B, T), specials['pad'], dtype=torch.long)
    types = torch.zeros((B, T), dtype=torch.long)
    attention = torch.zeros((B, T), dtype=torch.long)
    maskable = torch.zeros((B, T), dtype=torch.bool)
    for b, segs in enumerate(items):
        at = 0
        ids[b, at] = specials['cls']
        at += 1
        for kind, seg in enumerate(segs):
            ids[b, at:at + len(seg)] = seg
            types[b, at:at + len(seg) + 1] = kind
            maskable[b, at:at + len(seg)] = True
            at += len(seg)
            ids[b, at] = specials['sep']
            at += 1
        attention[b, :at] = 1
    chosen = (torch.rand((B, T), generator=g) < p) & maskable
    if not chosen.any() and maskable.any():
        where = maskable.flatten().nonzero().squeeze(1)
        chosen.view(-1)[where[int(torch.randint(len(where), (), generator=g))]] = True
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    u = torch.rand((B, T), generator=g)
    random_ids = torch.randint(vocab_size, (B, T), generator=g)
    ids = torch.where(chosen & (u < 0.8), torch.full_like(ids, specials['mask']), ids)
    ids = torch.where(chosen & (u >= 0.8) & (u < 0.9), random_ids, ids)
    return {'input_ids': ids, 'attention_mask': attention, 'token_type_ids': types, 'labels': labels}
