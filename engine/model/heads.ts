// Task heads on top of the encoder, with HF's parameter names, and their losses. Each head is a
// HeadSpec (plain data, so it can live in a run config); the functions below read its weights.
//
//   mlm       cls.predictions.{transform.dense, transform.LayerNorm, bias}, decoder tied to the word
//             embeddings (HF BertLMPredictionHead; the decoder weight is not stored separately)
//   nsp       cls.seq_relationship (2-way on the pooled [CLS]; also serves SOP: same shape, other labels)
//   token     <name>.{weight,bias}: per-token labels (POS, NE); HF's BertForTokenClassification uses "classifier"
//   sequence  <name>.{weight,bias} on the pooled output; HF's BertForSequenceClassification uses "classifier"
//   span      <name>: 2 logits per token (start, end); HF's BertForQuestionAnswering uses "qa_outputs"
//   choice    <name>: 1 logit per (example, choice) on the pooled output; HF's BertForMultipleChoice uses "classifier"
//
// Losses ignore label -100 (PyTorch's CrossEntropyLoss ignore_index) and average over the rest.
import * as tf from '@tensorflow/tfjs'
import type { BertConfig } from './config'
import { linear } from './ops/dense'
import { reshapeKeepingNothing } from './ops/reshape'
import { softmaxCrossEntropy } from './ops/softmax-cross-entropy'
import { dense, dropout, gatherRows, gelu, layerNorm, weight, type ForwardContext, type Weights } from './bert'

export type HeadSpec =
  | { kind: 'mlm' }
  | { kind: 'nsp' }
  | { kind: 'token'; name: string; numLabels: number }
  | { kind: 'sequence'; name: string; numLabels: number }
  | { kind: 'span'; name: string }
  | { kind: 'choice'; name: string }

export const IGNORE_INDEX = -100

// names and shapes of every head's parameters: the one table in tensor-names.ts
export { headParameterShapes } from './tensor-names'

/** Whether a head reads the pooled output (and so needs the pooler). */
export const usesPooler = (head: HeadSpec) => head.kind === 'nsp' || head.kind === 'sequence' || head.kind === 'choice'

// --- forward ----------------------------------------------------------------------------------------

/** BertLMPredictionHead: [..., H] → [..., V]. */
export function mlmLogits(w: Weights, config: BertConfig, hidden: tf.Tensor): tf.Tensor {
  const lead = hidden.shape.slice(0, -1)
  const h = dense(w, 'cls.predictions.transform.dense', hidden)
  const t = reshapeKeepingNothing<tf.Tensor2D>(layerNorm(w, 'cls.predictions.transform.LayerNorm', gelu(h), config.layer_norm_eps), [-1, config.hidden_size]) // [N, H]
  // Tied decoder: the word-embedding table [V, H] used as a Linear weight, hence the transpose.
  const table = weight(w, 'bert.embeddings.word_embeddings.weight')
  const logits = linear(t as tf.Tensor2D, table as tf.Tensor2D, weight(w, 'cls.predictions.bias') as tf.Tensor1D) // [N, V]
  // Training passes gathered rows [M, H], so the logits need no reshape; tfjs's Reshape would keep its
  // input for backward, and nothing else keeps these vocabulary-sized f32 logits (26 MB at bench config A).
  return lead.length === 1 ? logits : logits.reshape([...lead, config.vocab_size])
}

/** BertOnlyNSPHead: pooled [B, H] → [B, 2]. */
export function nspLogits(w: Weights, pooled: tf.Tensor2D): tf.Tensor2D {
  return dense(w, 'cls.seq_relationship', pooled) as tf.Tensor2D
}

/** Token classification: sequence output [B, T, H] → [B, T, C] (dropout first, as HF). */
export function tokenLogits(w: Weights, name: string, config: BertConfig, sequence: tf.Tensor3D, ctx: ForwardContext): tf.Tensor3D {
  return dense(w, name, dropout(sequence, config.hidden_dropout_prob, ctx)) as tf.Tensor3D
}

/** Sequence classification: pooled [B, H] → [B, C]. */
export function sequenceLogits(w: Weights, name: string, config: BertConfig, pooled: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
  return dense(w, name, dropout(pooled, config.hidden_dropout_prob, ctx)) as tf.Tensor2D
}

/** Extractive QA: sequence output [B, T, H] → start and end logits, [B, T] each. */
export function spanLogits(w: Weights, name: string, sequence: tf.Tensor3D): { start: tf.Tensor2D; end: tf.Tensor2D } {
  const [B, T] = sequence.shape
  const both = dense(w, name, sequence) // [B, T, 2]
  const [start, end] = tf.split(both, 2, -1)
  return { start: start.reshape([B, T]), end: end.reshape([B, T]) }
}

/** Multiple choice: pooled output of the flattened [B·C, T] inputs, [B·C, H] → [B, C]. */
export function choiceLogits(w: Weights, name: string, config: BertConfig, pooled: tf.Tensor2D, numChoices: number, ctx: ForwardContext): tf.Tensor2D {
  return dense(w, name, dropout(pooled, config.hidden_dropout_prob, ctx)).reshape([-1, numChoices])
}

// --- losses -----------------------------------------------------------------------------------------

/**
 * Mean cross-entropy of logits [N, C] against labels (N ints, -100 = ignore), one fused op
 * (ops/softmax-cross-entropy). Returns 0 (with zero gradients) when every label is ignored: PyTorch
 * returns NaN there, which would poison training.
 */
export function crossEntropy(logits: tf.Tensor2D, labels: Int32Array): tf.Scalar {
  if (labels.length !== logits.shape[0]) throw new Error(`cross-entropy: ${logits.shape[0]} rows of logits but ${labels.length} labels`)
  return softmaxCrossEntropy(logits, labels)
}

/** Rows of a flattened [B·T] label array that are not ignored. */
export function targetPositions(labels: Int32Array): Int32Array {
  let n = 0
  for (const y of labels) if (y !== IGNORE_INDEX) n++
  const out = new Int32Array(n)
  n = 0
  for (let i = 0; i < labels.length; i++) if (labels[i] !== IGNORE_INDEX) out[n++] = i
  return out
}

/**
 * MLM loss over masked positions only: gather those rows of the sequence output first, so the
 * vocabulary-sized logits are computed for ~15% of the tokens, not all of them.
 */
export function mlmLoss(w: Weights, config: BertConfig, sequence: tf.Tensor3D, labels: Int32Array): tf.Scalar {
  const [B, T, H] = sequence.shape
  if (labels.length !== B * T) throw new Error(`MLM labels: expected ${B}×${T} = ${B * T}, got ${labels.length}`)
  const positions = targetPositions(labels)
  if (positions.length === 0) {
    // Nothing masked: the loss is identically 0, so every parameter (head included) gets a zero gradient.
    return mlmLogits(w, config, sequence.slice([0, 0, 0], [1, 1, H])).sum().mul(0) as tf.Scalar
  }
  const picked = gatherRows(sequence.reshape([B * T, H]), tf.tensor1d(positions, 'int32')) // [M, H]
  const targets = Int32Array.from(positions, (i) => labels[i])
  return crossEntropy(mlmLogits(w, config, picked) as tf.Tensor2D, targets)
}

/**
 * HF BertForQuestionAnswering's loss: positions clamped to [0, T]; T (out of the sequence) is
 * ignored; the mean of start and end cross-entropies.
 */
export function spanLoss(start: tf.Tensor2D, end: tf.Tensor2D, startPositions: Int32Array, endPositions: Int32Array): tf.Scalar {
  const T = start.shape[1]
  const clamp = (p: Int32Array) => Int32Array.from(p, (x) => (x < 0 ? 0 : x >= T ? IGNORE_INDEX : x))
  return crossEntropy(start, clamp(startPositions)).add(crossEntropy(end, clamp(endPositions))).div(2) as tf.Scalar
}

/** HF's regression loss for a 1-label sequence head: mean squared error. */
export function mseLoss(predictions: tf.Tensor, targets: Float32Array): tf.Scalar {
  return tf.losses.meanSquaredError(tf.tensor(targets, predictions.shape), predictions) as tf.Scalar
}
