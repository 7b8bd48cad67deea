"""Where each rank's micro-batches come from.

A source answers `micro_batch(step, micro, rank, world)` with a dict of CPU tensors (engine/train/batch.ts's
PretrainBatch): input_ids, attention_mask, token_type_ids, labels (MLM, -100 = no target), pos_labels,
ner_labels, nsp_labels, sop_labels, and per sequence units / units_hit (words and entities, and those the
mask touched: DGC's reweighting). The
global micro-batch is config.batchSize sequences; rank r takes rows [r*B/W, (r+1)*B/W), so a run
means the same on any number of ranks.
"""
import torch

from safetensors_io import load_file

KEYS = ('input_ids', 'attention_mask', 'token_type_ids', 'labels', 'pos_labels', 'ner_labels', 'nsp_labels', 'sop_labels', 'units', 'units_hit')


def rank_rows(batch_size, rank, world):
    if batch_size % world:
        raise ValueError(f'batchSize ({batch_size}) is not a multiple of the number of ranks ({world})')
    per = batch_size // world
    return slice(rank * per, (rank + 1) * per)


class FixedBatches:
    """Batches exported by the workbench (engine/launch/fixed-batches.ts): one safetensors file with
    `<key>.<k>` for micro-batch k = step * accumulation + micro, already masked. For parity tests."""

    def __init__(self, path, accumulation):
        self.tensors = load_file(path)
        self.accumulation = accumulation
        self.count = len([k for k in self.tensors if k.startswith('input_ids.')])

    def micro_batch(self, step, micro, rank, world):
        k = step * self.accumulation + micro
        if k >= self.count:
            raise ValueError(f'fixed batches: micro-batch {k} requested, the file holds {self.count}')
        rows = rank_rows(self.tensors[f'input_ids.{k}'].shape[0], rank, world)
        return {key: self.tensors[f'{key}.{k}'][rows].long() for key in KEYS if f'{key}.{k}' in self.tensors}
