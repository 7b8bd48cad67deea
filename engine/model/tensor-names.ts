// The one table of HuggingFace BERT tensor names and shapes, and the one renaming of foreign keys. The
// parameter inventory (weights.ts), the checkpoint reader and writer (hf-checkpoint.ts) and the heads
// (heads.ts) all take names and shapes from here. No tfjs: reading a checkpoint's header needs none.
//
// Names are BertForPreTraining's module paths (`bert.encoder.layer.0.attention.self.query.weight`), odd
// ones (`LayerNorm`) kept on purpose; a Linear's weight is [out, in], as torch.nn.Linear stores it.
import type { BertConfig } from './config'
import type { HeadSpec } from './heads'

type Shapes = Map<string, number[]>

function linear(m: Shapes, name: string, out: number, inp: number): void {
  m.set(`${name}.weight`, [out, inp])
  m.set(`${name}.bias`, [out])
}

function layerNorm(m: Shapes, name: string, H: number): void {
  m.set(`${name}.weight`, [H])
  m.set(`${name}.bias`, [H])
}

/** The encoder's parameters in HF's module order: embeddings, layers, and the pooler when it has one. */
export function encoderShapes(config: BertConfig, options: { pooler: boolean }): Shapes {
  const { vocab_size: V, hidden_size: H, intermediate_size: I, max_position_embeddings: P, type_vocab_size: T } = config
  const m: Shapes = new Map()
  m.set('bert.embeddings.word_embeddings.weight', [V, H])
  m.set('bert.embeddings.position_embeddings.weight', [P, H])
  m.set('bert.embeddings.token_type_embeddings.weight', [T, H])
  layerNorm(m, 'bert.embeddings.LayerNorm', H)
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `bert.encoder.layer.${l}`
    linear(m, `${p}.attention.self.query`, H, H)
    linear(m, `${p}.attention.self.key`, H, H)
    linear(m, `${p}.attention.self.value`, H, H)
    linear(m, `${p}.attention.output.dense`, H, H)
    layerNorm(m, `${p}.attention.output.LayerNorm`, H)
    linear(m, `${p}.intermediate.dense`, I, H)
    linear(m, `${p}.output.dense`, H, I)
    layerNorm(m, `${p}.output.LayerNorm`, H)
  }
  if (options.pooler) linear(m, 'bert.pooler.dense', H, H)
  return m
}

/** The parameters a head adds, name → shape (the MLM decoder is tied to the word embeddings: not stored). */
export function headParameterShapes(head: HeadSpec, config: BertConfig): [string, number[]][] {
  const H = config.hidden_size
  const m: Shapes = new Map()
  switch (head.kind) {
    case 'mlm':
      linear(m, 'cls.predictions.transform.dense', H, H)
      layerNorm(m, 'cls.predictions.transform.LayerNorm', H)
      m.set('cls.predictions.bias', [config.vocab_size])
      break
    case 'nsp':
      linear(m, 'cls.seq_relationship', 2, H)
      break
    case 'token':
    case 'sequence':
      linear(m, head.name, head.numLabels, H)
      break
    case 'span':
      linear(m, head.name, 2, H)
      break
    case 'choice':
      linear(m, head.name, 1, H)
      break
  }
  return [...m]
}

/**
 * The one renaming: checkpoint keys (with or without the `bert.` prefix that a bare BertModel leaves off;
 * TF-era LayerNorm gamma/beta) → our names. null drops a key that carries no parameter of its own: the
 * position_ids buffer, and the MLM decoder when it is tied to the word embeddings (its bias is always
 * tied to cls.predictions.bias).
 */
export function canonicalName(key: string, tied: boolean): string | null {
  let k = key.replace(/\.LayerNorm\.gamma$/, '.LayerNorm.weight').replace(/\.LayerNorm\.beta$/, '.LayerNorm.bias')
  if (/^(embeddings|encoder|pooler)\./.test(k)) k = `bert.${k}`
  if (k === 'bert.embeddings.position_ids') return null
  if (k === 'cls.predictions.decoder.weight' && tied) return null
  if (k === 'cls.predictions.decoder.bias') return null
  return k
}
