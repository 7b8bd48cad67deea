"""BERT for pretraining in plain PyTorch, module for module HuggingFace's modeling_bert.py.

The module path is the checkpoint key (`bert.encoder.layer.0.attention.self.query.weight`), so a
state dict saved from here loads into transformers' BertForPreTraining unchanged, and the
workbench's own checkpoints load here. The MLM decoder is tied to the word embeddings and not
stored separately (HF ties `cls.predictions.decoder.weight` on load); its bias is
`cls.predictions.bias`, as in HF. `cls.seq_relationship` serves NSP and SOP (same shape, other labels).
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


class BertEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c['vocab_size'], c['hidden_size'], padding_idx=c.get('pad_token_id', 0))
        self.position_embeddings = nn.Embedding(c['max_position_embeddings'], c['hidden_size'])
        self.token_type_embeddings = nn.Embedding(c['type_vocab_size'], c['hidden_size'])
        self.LayerNorm = nn.LayerNorm(c['hidden_size'], eps=c['layer_norm_eps'])  # HF's name, kept for the keys
        self.dropout = nn.Dropout(c['hidden_dropout_prob'])

    def forward(self, input_ids, token_type_ids):
        t = input_ids.shape[1]
        positions = torch.arange(t, device=input_ids.device)
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids) + self.position_embeddings(positions)
        return self.dropout(self.LayerNorm(x))  # [B, T, H]


class BertSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, self.heads = c['hidden_size'], c['num_attention_heads']
        if h % self.heads:
            raise ValueError(f'hidden size ({h}) is not a multiple of the number of attention heads ({self.heads})')
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.dropout = nn.Dropout(c['attention_probs_dropout_prob'])

    def forward(self, x, additive_mask):
        b, t, h = x.shape
        split = lambda y: y.view(b, t, self.heads, h // self.heads).transpose(1, 2)  # [B, nh, T, hd]
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(h // self.heads) + additive_mask  # [B, nh, T, T]
        probs = self.dropout(scores.softmax(-1))
        return (probs @ v).transpose(1, 2).reshape(b, t, h)


class BertSelfOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c['hidden_size'], c['hidden_size'])
        self.LayerNorm = nn.LayerNorm(c['hidden_size'], eps=c['layer_norm_eps'])
        self.dropout = nn.Dropout(c['hidden_dropout_prob'])

    def forward(self, x, residual):
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class BertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = BertSelfOutput(c)

    def forward(self, x, additive_mask):
        return self.output(self.self(x, additive_mask), x)


class BertIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c['hidden_size'], c['intermediate_size'])

    def forward(self, x):
        return F.gelu(self.dense(x))  # HF's "gelu": the exact erf form


class BertOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c['intermediate_size'], c['hidden_size'])
        self.LayerNorm = nn.LayerNorm(c['hidden_size'], eps=c['layer_norm_eps'])
        self.dropout = nn.Dropout(c['hidden_dropout_prob'])

    def forward(self, x, residual):
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertOutput(c)

    def forward(self, x, additive_mask):
        a = self.attention(x, additive_mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(c) for _ in range(c['num_hidden_layers']))


class BertPooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c['hidden_size'], c['hidden_size'])

    def forward(self, sequence):
        return torch.tanh(self.dense(sequence[:, 0]))  # [B, H], from [CLS]


class BertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = BertEmbeddings(c)
        self.encoder = BertEncoder(c)
        self.pooler = BertPooler(c)

    def forward(self, input_ids, attention_mask, token_type_ids):
        x = self.embeddings(input_ids, token_type_ids)
        # HF's extended mask: 0 where attended, the dtype's minimum where padded; [B, 1, 1, T]
        additive = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        hidden = [x]
        for layer in self.encoder.layer:
            x = layer(x, additive)
            hidden.append(x)
        return hidden


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c['hidden_size'], c['hidden_size'])
        self.LayerNorm = nn.LayerNorm(c['hidden_size'], eps=c['layer_norm_eps'])

    def forward(self, x):
        return self.LayerNorm(F.gelu(self.dense(x)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transform = BertPredictionHeadTransform(c)
        self.bias = nn.Parameter(torch.zeros(c['vocab_size']))

    def forward(self, x, word_embeddings):
        return F.linear(self.transform(x), word_embeddings, self.bias)  # tied decoder: [N, V]


OBJECTIVES = ('mlm', 'pos', 'ner', 'nsp', 'sop')
POS_CLASSES, NER_CLASSES = 18, 35  # 17 UPOS + "none" for [CLS]/[SEP]; O + B-/I- of 17 OntoNotes labels


class BertPreTrainingHeads(nn.Module):
    """docs/objectives.md: cls.predictions (MLM), cls.seq_relationship (NSP, HF's name), cls.sop, cls.pos,
    cls.ner; one linear layer each for the pair and token heads, no dropout before them."""

    def __init__(self, c, objectives):
        super().__init__()
        h = c['hidden_size']
        if 'mlm' in objectives:
            self.predictions = BertLMPredictionHead(c)
        if 'nsp' in objectives:
            self.seq_relationship = nn.Linear(h, 2)
        if 'sop' in objectives:
            self.sop = nn.Linear(h, 2)
        if 'pos' in objectives:
            self.pos = nn.Linear(h, POS_CLASSES)
        if 'ner' in objectives:
            self.ner = nn.Linear(h, NER_CLASSES)


class BertForPreTraining(nn.Module):
    """The encoder and the heads of the run's objectives; losses as the local engine's (engine/train/objectives.ts)."""

    def __init__(self, c, objectives=('mlm',)):
        super().__init__()
        self.config = c
        self.objectives = [o for o in OBJECTIVES if o in objectives]
        self.bert = BertModel(c)
        self.cls = BertPreTrainingHeads(c, self.objectives)

    def encode(self, input_ids, attention_mask, token_type_ids):
        """Every hidden state (embeddings, then each layer) and the pooled [CLS]."""
        hidden = self.bert(input_ids, attention_mask, token_type_ids)
        return hidden, self.bert.pooler(hidden[-1])

    def forward(self, batch, mlm_row_weights=None, objectives=None):
        """Per objective: (sum of cross-entropies, argmax-correct count) over its labels (-100 skipped).

        Sums, so that the caller divides by the count over every rank (a global mean, the same for any
        number of ranks); the MLM head runs on the masked rows only. With DGC's reweighting
        (`mlm_row_weights`, one per sequence), 'mlm/weighted' is the sum with each masked position's
        cross-entropy scaled by its sequence's weight: the gradient to follow, while 'mlm' is reported.
        """
        hidden = self.bert(batch['input_ids'], batch['attention_mask'], batch['token_type_ids'])[-1]  # [B, T, H]
        B, T, H = hidden.shape
        flat = hidden.reshape(B * T, H)
        out = {}

        def scored(name, logits, labels):
            keep = labels != -100
            ce = F.cross_entropy(logits.float(), labels.clamp(min=0), reduction='none') * keep
            out[name] = (ce.sum(), ((logits.argmax(-1) == labels) & keep).sum())
            return ce

        for o in self.objectives if objectives is None else objectives:
            if o == 'mlm':
                labels = batch['labels'].reshape(-1)
                picked = (labels != -100).nonzero().squeeze(1)  # [M]
                logits = self.cls.predictions(flat[picked], self.bert.embeddings.word_embeddings.weight)  # [M, V]
                ce = scored('mlm', logits, labels[picked])
                if mlm_row_weights is not None:
                    out['mlm/weighted'] = (ce * mlm_row_weights[picked // T]).sum()
            elif o in ('pos', 'ner'):
                scored(o, getattr(self.cls, o)(flat), batch[f'{o}_labels'].reshape(-1))  # [B·T, C]
            else:
                pooled = self.bert.pooler(hidden)
                head = self.cls.seq_relationship if o == 'nsp' else self.cls.sop
                scored(o, head(pooled), batch[f'{o}_labels'])  # [B, 2]
        return out


def init_weights(model, config, generator):
    """HF's _init_weights: Linear/Embedding weights ~ N(0, initializer_range), biases 0, LayerNorm 1/0, [PAD] row 0."""
    std = config['initializer_range']
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('LayerNorm.weight'):
                p.fill_(1.0)
            elif name.endswith('.bias'):
                p.zero_()
            else:
                p.normal_(0.0, std, generator=generator)
        pad = config.get('pad_token_id', 0)
        if pad is not None:
            model.bert.embeddings.word_embeddings.weight[pad].zero_()


def load_weights(model, tensors, source):
    """Copies a state dict in, checking every key and shape first (nanoGPT style); extra keys of
    a checkpoint (HF's tied decoder, position_ids) are ignored, missing heads keep their init."""
    own = model.state_dict()
    # a bare BertModel's keys (no "bert." prefix), as HF saves one
    tensors = {(f'bert.{k}' if k not in own and f'bert.{k}' in own else k): t for k, t in tensors.items()}
    missing = [k for k in own if k not in tensors and not k.startswith(('cls.', 'bert.pooler.'))]
    if missing:
        raise ValueError(f'{source}: missing {len(missing)} parameters, e.g. "{missing[0]}"')
    for k, t in tensors.items():
        if k in own and tuple(own[k].shape) != tuple(t.shape):
            raise ValueError(f'{source}: "{k}" has shape {list(t.shape)}, the model expects {list(own[k].shape)}')
    with torch.no_grad():
        for k, p in own.items():
            if k in tensors:
                p.copy_(tensors[k].to(p.dtype))
