#!/usr/bin/env python3
"""One forward pass of a checkpoint folder with the trainer's BERT, outputs under the names
`mengzi model forward` writes (hidden_states.0..L, pooler_output, prediction_logits,
seq_relationship_logits), so the two engines' forward passes can be compared.

  python3 forward.py --model CHECKPOINT_DIR --inputs IN.safetensors --output OUT.safetensors
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from modeling import BertForPreTraining, load_weights  # noqa: E402
from safetensors_io import load_file, save_file  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--model', required=True)
    parser.add_argument('--inputs', required=True)
    parser.add_argument('--output', required=True)
    args = parser.parse_args()
    with open(os.path.join(args.model, 'config.json'), encoding='utf-8') as f:
        config = json.load(f)
    weights = load_file(os.path.join(args.model, 'model.safetensors'))
    heads = {'mlm': 'cls.predictions.bias', 'nsp': 'cls.seq_relationship.weight', 'sop': 'cls.sop.weight', 'pos': 'cls.pos.weight', 'ner': 'cls.ner.weight'}
    model = BertForPreTraining(config, [o for o, key in heads.items() if key in weights])
    load_weights(model, weights, args.model)
    model.eval()
    inputs = load_file(args.inputs)
    ids = inputs['input_ids'].long()
    mask = inputs.get('attention_mask', torch.ones_like(ids)).long()
    types = inputs.get('token_type_ids', torch.zeros_like(ids)).long()
    with torch.no_grad():
        hidden, pooled = model.encode(ids, mask, types)
        out = {f'hidden_states.{i}': h for i, h in enumerate(hidden)}
        out['pooler_output'] = pooled
        if hasattr(model.cls, 'predictions'):
            out['prediction_logits'] = model.cls.predictions(hidden[-1], model.bert.embeddings.word_embeddings.weight)
        if hasattr(model.cls, 'seq_relationship'):
            out['seq_relationship_logits'] = model.cls.seq_relationship(pooled)
    save_file(out, args.output)


if __name__ == '__main__':
    main()
