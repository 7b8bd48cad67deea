// The model a fine-tuning run trains: the encoder plus the task's head (HF's names: `classifier` for
// sequence and multiple-choice models, `qa_outputs` for span extraction), loaded from an HF folder with
// every compatible tensor kept and the rest (a new head, a head of another shape) initialised fresh and
// reported — which is what transfer from another fine-tuned run needs. Batches pad to their longest member.
import * as tf from '@tensorflow/tfjs'
import { bertEncoder, type ForwardContext, type Weights } from '../model/bert'
import type { BertConfig } from '../model/config'
import { choiceLogits, sequenceLogits, spanLogits, type HeadSpec } from '../model/heads'
import { readHfCheckpoint } from '../model/hf-checkpoint'
import type { StoredTensor } from '../model/safetensors'
import { loadWeights, parameterShapes, type BertArchitecture } from '../model/weights'
import type { ChoiceFeature, Packed, SpanFeature, TaskShape, TextFeature } from '../tasks'

export type Feature = TextFeature | ChoiceFeature | SpanFeature

export function taskHead(shape: TaskShape, numLabels: number): HeadSpec {
  if (shape === 'span') return { kind: 'span', name: 'qa_outputs' }
  if (shape === 'choice') return { kind: 'choice', name: 'classifier' }
  return { kind: 'sequence', name: 'classifier', numLabels }
}

export interface TaskModel {
  config: BertConfig
  arch: BertArchitecture
  weights: Weights
  vocab: string[]
  lowercase: boolean
  /** Parameters not taken from the starting folder (absent there, or of another shape). */
  reinitialised: string[]
  /** Tensors of the starting folder the task model does not use (pretraining heads). */
  ignored: string[]
}

/** Loads `dir` for a task; `dropout` replaces the folder's hidden and attention dropout. */
export async function loadTaskModel(dir: string, shape: TaskShape, numLabels: number, options: { dropout?: number; seed: number }): Promise<TaskModel> {
  const ckpt = await readHfCheckpoint(dir)
  const config: BertConfig = { ...ckpt.config }
  if (options.dropout !== undefined) config.hidden_dropout_prob = config.attention_probs_dropout_prob = options.dropout
  const arch: BertArchitecture = { config, heads: [taskHead(shape, numLabels)], pooler: shape !== 'span' }
  const wanted = parameterShapes(arch)
  const stored = new Map<string, StoredTensor>()
  const mismatched: string[] = []
  for (const [name, t] of ckpt.tensors) {
    const shapeWanted = wanted.get(name)
    if (shapeWanted && (shapeWanted.length !== t.shape.length || shapeWanted.some((d, i) => d !== t.shape[i]))) mismatched.push(name)
    else stored.set(name, { dtype: 'F32', shape: t.shape, data: t.data })
  }
  // the encoder must come from the folder; heads and the pooler may be new
  const fresh = (n: string) => !n.startsWith('bert.') || n.startsWith('bert.pooler.')
  const loaded = loadWeights(arch, stored, { initMissing: fresh, ignoreUnexpected: true, seed: options.seed, source: dir })
  return { config, arch, weights: loaded.weights, vocab: ckpt.vocab, lowercase: ckpt.lowercase, reinitialised: loaded.initialised, ignored: [...loaded.ignored, ...mismatched.filter((n) => !loaded.initialised.includes(n))] }
}

/** A padded batch: [N, T] inputs (N = examples × choices for multiple choice) and its targets. */
export interface TaskBatch {
  inputIds: Int32Array
  tokenTypeIds: Int32Array
  attentionMask: Int32Array
  rows: number
  length: number
  /** Gold class/choice per example (-100 none); span tasks: gold start and end positions. */
  labels: Int32Array
  starts?: Int32Array
  ends?: Int32Array
  numChoices?: number
  /** [B, C] 1 for a real choice, 0 for a padding slot. */
  choiceMask?: Float32Array
}

export function buildBatch(features: Feature[]): TaskBatch {
  const sequences: Packed[] = features.flatMap((f) => ('choices' in f ? f.choices : [f]))
  const length = Math.max(...sequences.map((s) => s.inputIds.length))
  const rows = sequences.length
  const inputIds = new Int32Array(rows * length)
  const tokenTypeIds = new Int32Array(rows * length)
  const attentionMask = new Int32Array(rows * length)
  sequences.forEach((s, r) => {
    inputIds.set(s.inputIds, r * length)
    tokenTypeIds.set(s.tokenTypeIds, r * length)
    attentionMask.fill(1, r * length, r * length + s.inputIds.length)
  })
  const batch: TaskBatch = { inputIds, tokenTypeIds, attentionMask, rows, length, labels: new Int32Array(features.length) }
  features.forEach((f, i) => {
    if ('choices' in f) batch.labels[i] = f.label
    else if ('offsets' in f) batch.labels[i] = 0
    else batch.labels[i] = f.label
  })
  const first = features[0]
  if ('choices' in first) {
    batch.numChoices = first.choices.length
    batch.choiceMask = Float32Array.from((features as ChoiceFeature[]).flatMap((f) => f.valid.map((v) => (v ? 1 : 0))))
  }
  if ('offsets' in first) {
    batch.starts = Int32Array.from(features as SpanFeature[], (f) => f.start)
    batch.ends = Int32Array.from(features as SpanFeature[], (f) => f.end)
  }
  return batch
}

export interface TaskOutput {
  /** [B, C] class or choice logits (padding choices pushed to -1e4); span tasks: start and end [B, T]. */
  logits?: tf.Tensor2D
  start?: tf.Tensor2D
  end?: tf.Tensor2D
  /** Embeddings then every layer: [N, T, H] each. */
  hidden: tf.Tensor3D[]
}

/** The batch's input tensors (dispose them when done). */
export function batchInputs(b: TaskBatch) {
  const shape: [number, number] = [b.rows, b.length]
  return {
    inputIds: tf.tensor2d(b.inputIds, shape, 'int32'),
    tokenTypeIds: tf.tensor2d(b.tokenTypeIds, shape, 'int32'),
    attentionMask: tf.tensor2d(b.attentionMask, shape, 'int32'),
  }
}

/** Forward of the task model; `embeddingDelta` perturbs the embedding output (SMART). Call inside tidy. */
export function taskForward(model: Pick<TaskModel, 'config' | 'arch'>, weights: Weights, inputs: ReturnType<typeof batchInputs>, b: TaskBatch, ctx: ForwardContext, embeddingDelta?: tf.Tensor3D): TaskOutput {
  const head = model.arch.heads[0]
  const out = bertEncoder(weights, model.config, inputs, ctx, { pooler: head.kind !== 'span', embeddingDelta })
  const sequence = out.hiddenStates[out.hiddenStates.length - 1]
  if (head.kind === 'span') {
    const { start, end } = spanLogits(weights, head.name, sequence)
    return { start, end, hidden: out.hiddenStates }
  }
  if (head.kind === 'choice') {
    const logits = choiceLogits(weights, head.name, model.config, out.pooled!, b.numChoices!, ctx)
    const pad = tf.scalar(1).sub(tf.tensor2d(b.choiceMask!, logits.shape)).mul(-1e4)
    return { logits: logits.add(pad) as tf.Tensor2D, hidden: out.hiddenStates }
  }
  return { logits: sequenceLogits(weights, head.kind === 'sequence' ? head.name : 'classifier', model.config, out.pooled!, ctx), hidden: out.hiddenStates }
}
