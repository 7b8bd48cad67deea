// The BERT encoder, following HuggingFace transformers' modeling_bert.py (BertModel) step by step, in
// forward order: embeddings → layers (self-attention → output → intermediate → output) → pooler.
// Weights live in a Map keyed by the HF checkpoint key, so the names below *are* the checkpoint's.
//
// Layout note: a PyTorch Linear stores its weight as [out, in] and computes x·Wᵀ + b. We keep that
// layout (it is what checkpoints hold, and what the optimizer state is saved against) and multiply by
// the transpose inside `dense` — the only place a transpose of a weight happens, besides the MLM
// decoder, which reuses the [vocab, hidden] word-embedding table the same way.
//
// Import the full @tensorflow/tfjs (not tfjs-core) so that gradients are registered.
import * as tf from '@tensorflow/tfjs'
import type { BertConfig } from './config'
import { attentionCore, fusedSelfAttention } from './ops/attention'
import { linear, linearGelu } from './ops/dense'
import { dropout as dropoutOp } from './ops/dropout'
import { embeddingSum } from './ops/embeddings'
import { gelu as geluOp } from './ops/gelu'
import { layerNorm as layerNormOp } from './ops/layer-norm'
import { reshapeKeepingNothing } from './ops/reshape'
import { hasFusedKernel, runFused } from '../compute/kernels/fused'

export { gatherRows } from './ops/gather-rows'

export type Weights = Map<string, tf.Variable>

/** What a forward pass needs besides weights and inputs: train mode switches dropout on. */
export interface ForwardContext {
  training: boolean
  /** Draws a seed for the next dropout mask; required when training with dropout. */
  nextSeed?: () => number
}

export const EVAL: ForwardContext = { training: false }

export interface BertInputs {
  inputIds: tf.Tensor2D // [B, T] int32
  attentionMask: tf.Tensor2D // [B, T] 1 = token, 0 = padding
  tokenTypeIds: tf.Tensor2D // [B, T] int32, segment A = 0, B = 1
}

export interface EncoderOutput {
  /** Embedding output then every layer's output: L + 1 tensors of [B, T, H] (HF's hidden_states). */
  hiddenStates: tf.Tensor3D[]
  /** tanh(dense(hidden of [CLS])): [B, H]; absent when the model has no pooler. */
  pooled?: tf.Tensor2D
}

/** torch.finfo(torch.float32).min, which HF adds to the scores of padded keys. */
export const FLOAT32_MIN = -3.4028234663852886e38

export function weight(w: Weights, name: string): tf.Variable {
  const v = w.get(name)
  if (!v) throw new Error(`BERT weight "${name}" is missing`)
  return v
}

export function checkConfig(config: BertConfig): void {
  if (config.hidden_size % config.num_attention_heads !== 0) {
    throw new Error(
      `hidden size (${config.hidden_size}) is not a multiple of the number of attention heads (${config.num_attention_heads})`,
    )
  }
  if (config.hidden_act !== 'gelu') throw new Error(`hidden_act ${JSON.stringify(config.hidden_act)} is not supported; only "gelu" (erf)`)
  if (config.position_embedding_type !== undefined && config.position_embedding_type !== 'absolute') {
    throw new Error(`position_embedding_type ${JSON.stringify(config.position_embedding_type)} is not supported; only "absolute"`)
  }
}

// --- building blocks -----------------------------------------------------------------------------

/**
 * nn.Linear: x·Wᵀ + b with W stored [out, in], optionally followed by GELU (fused where the backend can).
 * Works on any leading shape.
 */
export function dense(w: Weights, prefix: string, x: tf.Tensor, activation?: 'gelu'): tf.Tensor {
  const kernel = weight(w, `${prefix}.weight`) // [out, in]
  const lead = x.shape.slice(0, -1)
  // under fp16 storage the layer keeps an f16 copy of x for backward, so the reshapes must keep no f32 one
  const x2 = reshapeKeepingNothing<tf.Tensor2D>(x, [-1, x.shape[x.shape.length - 1]]) // [N, in]
  const y = (activation === 'gelu' ? linearGelu : linear)(x2, kernel as tf.Tensor2D, weight(w, `${prefix}.bias`) as tf.Tensor1D) // [N, out]
  return reshapeKeepingNothing(y, [...lead, kernel.shape[0]])
}

/**
 * nn.LayerNorm over the last axis, biased variance, eps inside the square root (one op, ops/layer-norm);
 * of x + residual when given (the sublayer outputs' residual connection, fused where the backend can).
 */
export function layerNorm(w: Weights, prefix: string, x: tf.Tensor, eps: number, residual?: tf.Tensor): tf.Tensor {
  return layerNormOp(x, weight(w, `${prefix}.weight`) as tf.Tensor1D, weight(w, `${prefix}.bias`) as tf.Tensor1D, eps, residual)
}

/** HF's "gelu": the exact form with erf, x · Φ(x) (one op with its own gradient, ops/gelu). */
export const gelu = (x: tf.Tensor): tf.Tensor => geluOp(x)

/** The seed of the next dropout mask, from the run's RNG. */
function dropoutSeed(ctx: ForwardContext): number {
  if (!ctx.nextSeed) throw new Error('dropout in training mode needs ForwardContext.nextSeed')
  return ctx.nextSeed()
}

export function dropout(x: tf.Tensor, rate: number, ctx: ForwardContext): tf.Tensor {
  if (!ctx.training || rate <= 0) return x
  return dropoutOp(x, rate, dropoutSeed(ctx))
}

/** Converts a [B, T] 0/1 padding mask into HF's additive [B, 1, 1, T] score mask (0 or finfo.min). */
export function additiveMask(attentionMask: tf.Tensor2D): tf.Tensor4D {
  const [B, T] = attentionMask.shape
  if ((attentionMask.dtype === 'int32' || attentionMask.dtype === 'float32') && hasFusedKernel('MengziAdditiveMask')) {
    return runFused('MengziAdditiveMask', { mask: attentionMask }, { min: FLOAT32_MIN })[0] as tf.Tensor4D // one dispatch, same bits
  }
  return tf.scalar(1).sub(attentionMask.cast('float32')).mul(FLOAT32_MIN).reshape([B, 1, 1, T])
}

// --- the model, in forward order -----------------------------------------------------------------

function embeddings(w: Weights, config: BertConfig, inputs: BertInputs, ctx: ForwardContext): tf.Tensor3D {
  const T = inputs.inputIds.shape[1]
  if (T > config.max_position_embeddings) {
    throw new Error(`sequence length (${T}) exceeds max_position_embeddings (${config.max_position_embeddings})`)
  }
  const tables = {
    words: weight(w, 'bert.embeddings.word_embeddings.weight') as tf.Tensor2D,
    types: weight(w, 'bert.embeddings.token_type_embeddings.weight') as tf.Tensor2D,
    positions: weight(w, 'bert.embeddings.position_embeddings.weight') as tf.Tensor2D, // absolute 0..T-1
  }
  // nn.Embedding(padding_idx=pad_token_id): the [PAD] row gets no gradient from the lookup.
  const x = embeddingSum(tables, inputs.inputIds, inputs.tokenTypeIds, config.pad_token_id) // [B, T, H]
  return dropout(layerNorm(w, 'bert.embeddings.LayerNorm', x, config.layer_norm_eps), config.hidden_dropout_prob, ctx) as tf.Tensor3D
}

function selfAttention(w: Weights, prefix: string, config: BertConfig, x: tf.Tensor3D, mask: tf.Tensor4D, ctx: ForwardContext): tf.Tensor3D {
  const dropoutRate = ctx.training ? config.attention_probs_dropout_prob : 0
  const seed = dropoutRate > 0 ? dropoutSeed(ctx) : 0
  const options = { heads: config.num_attention_heads, dropoutRate, seed }
  const projection = (name: string, part: 'weight' | 'bias') => weight(w, `${prefix}.${name}.${part}`)
  const projections = {
    wq: projection('query', 'weight') as tf.Tensor2D,
    bq: projection('query', 'bias') as tf.Tensor1D,
    wk: projection('key', 'weight') as tf.Tensor2D,
    bk: projection('key', 'bias') as tf.Tensor1D,
    wv: projection('value', 'weight') as tf.Tensor2D,
    bv: projection('value', 'bias') as tf.Tensor1D,
  }
  // on webgpu the three projections are one product read in place by the attention (ops/attention.ts)
  const fused = fusedSelfAttention(x, projections, mask, options)
  if (fused) return fused
  const q = dense(w, `${prefix}.query`, x) as tf.Tensor3D // [B, T, H]
  const k = dense(w, `${prefix}.key`, x) as tf.Tensor3D
  const v = dense(w, `${prefix}.value`, x) as tf.Tensor3D
  return attentionCore(q, k, v, mask, options)
}

function layer(w: Weights, index: number, config: BertConfig, x: tf.Tensor3D, mask: tf.Tensor4D, ctx: ForwardContext): tf.Tensor3D {
  const p = `bert.encoder.layer.${index}`
  const eps = config.layer_norm_eps
  const p_drop = config.hidden_dropout_prob
  // BertAttention = BertSelfAttention + BertSelfOutput (dense, dropout, residual LayerNorm)
  const context = selfAttention(w, `${p}.attention.self`, config, x, mask, ctx)
  // fp16 storage: this layer keeps the attention's own f16 copy of the context (ops/attention.ts)
  const projected = dense(w, `${p}.attention.output.dense`, context)
  const attended = layerNorm(w, `${p}.attention.output.LayerNorm`, dropout(projected, p_drop, ctx), eps, x)
  // BertIntermediate (dense to intermediate_size, GELU) + BertOutput (dense back, dropout, residual LayerNorm)
  const inner = dense(w, `${p}.intermediate.dense`, attended, 'gelu') // [B, T, I]
  const out = dropout(dense(w, `${p}.output.dense`, inner), p_drop, ctx) // [B, T, H]
  return layerNorm(w, `${p}.output.LayerNorm`, out, eps, attended) as tf.Tensor3D
}

function pooler(w: Weights, last: tf.Tensor3D): tf.Tensor2D {
  const [B, , H] = last.shape
  const first = last.slice([0, 0, 0], [B, 1, H]).reshape([B, H]) // the [CLS] position
  return tf.tanh(dense(w, 'bert.pooler.dense', first)) as tf.Tensor2D
}

/** BertModel.forward with output_hidden_states=True. Call inside tf.tidy. */
export function bertEncoder(
  w: Weights,
  config: BertConfig,
  inputs: BertInputs,
  ctx: ForwardContext = EVAL,
  options: { pooler?: boolean; embeddingDelta?: tf.Tensor3D } = {},
): EncoderOutput {
  const mask = additiveMask(inputs.attentionMask)
  // embeddingDelta: a perturbation of the embedding output (SMART's adversarial noise), [B, T, H]
  const embedded = embeddings(w, config, inputs, ctx)
  const hiddenStates: tf.Tensor3D[] = [options.embeddingDelta ? embedded.add(options.embeddingDelta) : embedded]
  for (let i = 0; i < config.num_hidden_layers; i++) {
    hiddenStates.push(layer(w, i, config, hiddenStates[i], mask, ctx))
  }
  const last = hiddenStates[hiddenStates.length - 1]
  return { hiddenStates, pooled: options.pooler === false ? undefined : pooler(w, last) }
}
