"""The workbench's training token shards (docs/shards.md), memory-mapped, as micro-batches.

Each rank maps the split's .tok/.idx files (numpy memmap: the OS pages in what a rank reads) and
builds its own rows of every global micro-batch. Order: blocks of at most 512 consecutive segments per
shard (engine/train/stream.ts blockRanges); each epoch takes the blocks in a random order, 8 at a time
(a window), and visits the segments of a window in one random order, drawn from (seed, epoch[, window]),
so a batch mixes distant stretches of the corpus and a data position is all a checkpoint needs. Batches as docs/objectives.md and engine/train/batch.ts build them: POS/NE labels, token or
whole-word masking (15%, 80/10/10, one forced when none was chosen), NSP/SOP pairs within a block,
per-sequence units for DGC. The random draws are torch's, seeded per (seed, step, micro, rank).
"""
import json
import os

import numpy as np
import torch

from batches import rank_rows

TOK = np.dtype([('id', '<i4'), ('pos', 'u1'), ('ner', 'u1'), ('flags', 'u1'), ('pad', 'u1')])
IDX = np.dtype([('start', '<u4'), ('length', '<u4'), ('record', '<u4')])
BLOCK = 512
WINDOW = 8  # blocks visited together (engine/train/stream.ts WINDOW_BLOCKS)
NO_LABEL, WORD_START = 255, 1
POS_NONE, NER_OUTSIDE = 17, 0


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
        """The tokens of segment i: a structured array (id, pos, ner, flags)."""
        s = int(np.searchsorted(self.offsets, i, side='right')) - 1
        entry = self.idx[s][i - self.offsets[s]]
        start, length = int(entry['start']), int(entry['length'])
        return np.asarray(self.tok[s][start:start + length])

    def blocks(self):
        """engine/train/stream.ts blockRanges per shard: runs of <= BLOCK; a 1-segment tail joins the block before."""
        out = []
        for s in range(len(self.tok)):
            first, count = self.offsets[s], self.offsets[s + 1] - self.offsets[s]
            ranges = [(first + a, min(BLOCK, count - a)) for a in range(0, count, BLOCK)]
            if len(ranges) > 1 and ranges[-1][1] < 2:
                tail = ranges.pop()
                ranges[-1] = (ranges[-1][0], ranges[-1][1] + tail[1])
            out += ranges
        return out


def seeded(*parts):
    """A generator seeded from a tuple of ints (distinct tuples, distinct streams)."""
    h = 1469598103934665603
    for p in parts:
        h = ((h ^ (int(p) & 0xFFFFFFFFFFFF)) * 1099511628211) & 0x7FFFFFFFFFFFFFFF
    return torch.Generator().manual_seed(h)


class BlockOrder:
    """Position (segments consumed since the start) -> (block range, index of the segment)."""

    def __init__(self, blocks, seed):
        self.blocks, self.seed, self.epoch = blocks, seed, -1
        self.size = sum(c for _, c in blocks)

    def at(self, position):
        epoch = position // self.size
        if epoch != self.epoch:
            order = torch.randperm(len(self.blocks), generator=seeded(self.seed, epoch)).tolist()
            self.windows = [[self.blocks[b] for b in order[w:w + WINDOW]] for w in range(0, len(order), WINDOW)]
            self.ends = np.cumsum([sum(c for _, c in window) for window in self.windows])
            self.perm, self.epoch = None, epoch
        q = position - epoch * self.size
        w = int(np.searchsorted(self.ends, q, side='right'))
        q -= int(self.ends[w - 1]) if w else 0
        if self.perm is None or self.perm[0] != w:
            total = sum(c for _, c in self.windows[w])
            self.perm = (w, torch.randperm(total, generator=seeded(self.seed, epoch, w)))
        i = int(self.perm[1][q])
        for block in self.windows[w]:
            if i < block[1]:
                return block, block[0] + i
            i -= block[1]
        raise IndexError(position)

    def index_at(self, position):
        return self.at(position)[1]


class ShardBatches:
    def __init__(self, directory, run, bert, specials=None, split='train', objectives=('mlm',)):
        self.split = ShardSplit(directory, split)
        m = self.split.manifest
        self.specials = specials or m['vocab']['specials']
        if m['vocab']['size'] > bert['vocab_size']:
            raise ValueError(f'{directory}: vocab of {m["vocab"]["size"]} tokens, more than the model\'s vocab_size ({bert["vocab_size"]})')
        tagged = [o for o in objectives if o in ('pos', 'ner')]
        if tagged and m.get('tags') is None:
            raise ValueError(f'objectives {", ".join(tagged)} learn the dataset\'s tags, and the training data has none (tag the dataset first, or train on an imported dataset)')
        self.run, self.vocab_size, self.objectives = run, bert['vocab_size'], list(objectives)
        self.pairs = 'nsp' in objectives or 'sop' in objectives
        self.order = BlockOrder(self.split.blocks(), run['seed'])

    def _pair(self, block, index, g, objectives):
        """engine/train/loop.ts sentencePair: the segment cut at a uniform point into A and B (adjacent text of
        one record; a 1-token segment pairs with its neighbour), NSP replacing B half the time (blocks of 3+)
        by a random other segment, A and B trimmed by adjacent_window, SOP swapping them half the time."""
        lo, n = block
        local = index - lo
        budget = self.run['maxSeqLength'] - 3
        s = self.split.segment(index)
        if len(s) >= 2:
            length = min(len(s), budget)
            cut = 1 + int(torch.randint(length - 1, (), generator=g))
            a, b = s[:cut], s[cut:length]
        else:
            first = local if local + 1 < n else max(0, local - 1)
            a = self.split.segment(lo + first)
            b = self.split.segment(lo + min(n - 1, first + 1))
        nsp, sop = 0, -100
        if 'nsp' in objectives and n > 2 and float(torch.rand((), generator=g)) < 0.5:
            other = int(torch.randint(n - 1, (), generator=g))
            if other >= local:
                other += 1
            b, nsp = self.split.segment(lo + other), 1
        a, b = adjacent_window(a, b, budget)
        if 'sop' in objectives and nsp == 0:
            sop = 0 if float(torch.rand((), generator=g)) < 0.5 else 1
            if sop == 1:
                return (b, a), nsp, sop
        return (a, b), nsp, sop

    def block_of(self, index):
        return next(b for b in self.order.blocks if b[0] <= index < b[0] + b[1])

    def rows(self, positions, g, in_order=False, objectives=None, whole_word=None):
        """The batch of these stream positions (or, in_order, of these segment indices: evaluation), for
        the run's objectives or a subset of them."""
        objectives = self.objectives if objectives is None else objectives
        pairs = 'nsp' in objectives or 'sop' in objectives
        items, nsp, sop = [], [], []
        for position in positions:
            block, index = (self.block_of(position), position) if in_order else self.order.at(position)
            if not pairs:
                items.append((self.split.segment(index),))
            else:
                item, n, s = self._pair(block, index, g, objectives)
                items.append(item)
                nsp.append(n)
                sop.append(s)
        run = self.run
        whole_word = run.get('wholeWordMask', False) if whole_word is None else whole_word
        batch = build_batch(items, run['maxSeqLength'], run['mlmProbability'], self.vocab_size, self.specials, g, whole_word)
        batch['nsp_labels'] = torch.tensor(nsp if pairs else [0] * len(items))
        batch['sop_labels'] = torch.tensor(sop if pairs else [0] * len(items))
        return batch

    def micro_batch(self, step, micro, rank, world):
        B, accumulation = self.run['batchSize'], self.run['gradientAccumulation']
        rows = rank_rows(B, rank, world)
        first = (step * accumulation + micro) * B
        return self.rows(range(first + rows.start, first + rows.stop), seeded(self.run['seed'], step, micro, rank))


def adjacent_window(a, b, budget):
    """engine/train/loop.ts adjacentWindow: longest-first, A losing tokens from its start and B from its end."""
    na, nb = len(a), len(b)
    while na + nb > budget:
        if na >= nb:
            na -= 1
        else:
            nb -= 1
    return a[len(a) - na:], b[:nb]


def truncate(segments, budget):
    """HF's longest_first: drop tokens from the end of the longer segment until all fit."""
    lengths = [len(s) for s in segments]
    while sum(lengths) > budget:
        i = max(range(len(lengths)), key=lambda k: (lengths[k], -k))
        lengths[i] -= 1
    return [s[:n] for s, n in zip(segments, lengths)]


def build_batch(items, max_seq_length, p, vocab_size, specials, g, whole_word=False):
    """engine/train/batch.ts buildBatch: [CLS] A [SEP] (B [SEP]), token types, POS/NE labels ("none"/O at
    [CLS]/[SEP], -100 at padding and untagged), masking per token or per whole word, units for DGC."""
    items = [truncate(list(it), max_seq_length - 1 - len(it)) for it in items]
    T = max(1 + sum(len(s) + 1 for s in it) for it in items)
    B = len(items)
    ids = np.full((B, T), specials['pad'], dtype=np.int64)
    types = np.zeros((B, T), dtype=np.int64)
    attention = np.zeros((B, T), dtype=np.int64)
    pos = np.full((B, T), -100, dtype=np.int64)
    ner = np.full((B, T), -100, dtype=np.int64)
    labels = np.full((B, T), -100, dtype=np.int64)
    units, units_hit = np.zeros(B, dtype=np.int64), np.zeros(B, dtype=np.int64)
    maskable = []
    mask_id = specials['mask']

    def replace(b, t, u):
        if u < 0.8:
            ids[b, t] = mask_id
        elif u < 0.9:
            ids[b, t] = int(torch.randint(vocab_size, (), generator=g))

    for b, segs in enumerate(items):
        at = 0

        def special(token, kind):
            nonlocal at
            ids[b, at], types[b, at], pos[b, at], ner[b, at] = token, kind, POS_NONE, NER_OUTSIDE
            at += 1

        special(specials['cls'], 0)
        words, entities = [], []
        real = 0
        for kind, seg in enumerate(segs):
            for i, tok in enumerate(seg):
                ids[b, at], types[b, at] = int(tok['id']), kind
                if tok['pos'] != NO_LABEL:
                    pos[b, at] = int(tok['pos'])
                if tok['ner'] != NO_LABEL:
                    ner[b, at] = int(tok['ner'])
                if i == 0 or tok['flags'] & WORD_START:
                    words.append([at, at + 1])
                else:
                    words[-1][1] = at + 1
                e = int(tok['ner'])
                if e != NO_LABEL and e % 2 == 1:
                    entities.append([at, at + 1])
                elif e != NO_LABEL and e > 0 and entities and entities[-1][1] == at:
                    entities[-1][1] = at + 1
                maskable.append((b, at))
                at += 1
                real += 1
            special(specials['sep'], kind)
        attention[b, :at] = 1
        if whole_word:
            budget = max(1, round(real * p))
            spent = 0
            for w in torch.randperm(len(words), generator=g).tolist():
                if spent >= budget:
                    break
                s, e = words[w]
                if spent + (e - s) > budget:
                    continue
                spent += e - s
                u = float(torch.rand((), generator=g))
                for t in range(s, e):
                    labels[b, t] = ids[b, t]
                    replace(b, t, u)
        else:
            draws = torch.rand(at, generator=g).tolist()
            for s, e in words:
                for t in range(s, e):
                    if draws[t] >= p:
                        continue
                    labels[b, t] = ids[b, t]
                    replace(b, t, float(torch.rand((), generator=g)))
        units[b] = len(words) + len(entities)
        units_hit[b] = sum(1 for s, e in words + entities if (labels[b, s:e] != -100).any())
    if not (labels != -100).any() and maskable:
        b, t = maskable[int(torch.randint(len(maskable), (), generator=g))]
        labels[b, t] = ids[b, t]
        replace(b, t, float(torch.rand((), generator=g)))  # units_hit stays as counted (as the local engine)
    t = torch.from_numpy
    return {'input_ids': t(ids), 'attention_mask': t(attention), 'token_type_ids': t(types), 'labels': t(labels),
            'pos_labels': t(pos), 'ner_labels': t(ner), 'units': t(units), 'units_hit': t(units_hit)}
