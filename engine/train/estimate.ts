// What a run will cost before it starts: parameters (counted from the model config, nothing allocated),
// memory (a formula over fp32 tensors) and time per step (the step's FLOPs divided by the FLOP rate this
// machine reached on a measured calibration step). Estimates, labelled as such wherever they are shown.
import * as tf from '@tensorflow/tfjs'
import { currentDevice } from '../compute/webgpu/device'
import { FEWER_TOKENS, overBindingLimit } from '../compute/webgpu/runner'
import type { BertConfig } from '../model/config'
import type { HeadSpec } from '../model/heads'
import { parameterShapes } from '../model/weights'
import { BENCH_CONFIGS } from '../model/config'
import { BENCH_MASK_RATIO, BENCH_SEQUENCE, benchBatchSize, benchTrain } from './bench'
import { activeObjectives, type TrainConfig } from './config'
import { headsFor } from './objectives'

const FLOAT_BYTES = 4

/** The step's shape: sequences per optimizer step, tokens per sequence, masked tokens per sequence. */
export interface StepShape {
  sequences: number
  seqLength: number
  maskedPerSequence: number
}

export interface MemoryEstimate {
  /** Weights (fp16: the f32 masters and the f16 copies the products read), their gradients, and the optimizer's two moments (AdamW and LAMB both keep m and v). */
  weights: number
  gradients: number
  optimizer: number
  /** Tensors the forward pass keeps for backward, for one micro-batch. */
  activations: number
  total: number
}

/** The heads a pretraining config trains (one per objective, as the loop builds them). */
export const pretrainingHeads = (config: TrainConfig): HeadSpec[] => headsFor(activeObjectives(config))

export function countParameters(bert: BertConfig, heads: HeadSpec[], pooler = true): number {
  let n = 0
  for (const shape of parameterShapes({ config: bert, heads, pooler }).values()) n += shape.reduce((a, b) => a * b, 1)
  return n
}

/**
 * Activations kept for backward, per layer and sequence of T tokens (H hidden, I intermediate, A heads):
 * the Q/K/V projections' input and outputs (4·T·H), attention probabilities and their dropout mask
 * (2·A·T²), the context and the attention output's dropout mask and LayerNorm input/output (4·T·H), the
 * feed-forward input, its pre- and post-GELU activations (T·H + 2·T·I), its dropout mask and LayerNorm
 * (3·T·H): 11·T·H + 2·T·I + 2·A·T². The MLM head keeps the logits and their softmax on masked positions
 * only (2·M·V) plus its transform (2·M·H).
 */
export function activationBytes(bert: BertConfig, batchSize: number, seqLength: number, maskedPerSequence: number): number {
  const { hidden_size: H, intermediate_size: I, num_attention_heads: A, num_hidden_layers: L, vocab_size: V } = bert
  const T = seqLength
  const perLayer = 11 * T * H + 2 * T * I + 2 * A * T * T
  const embeddings = 3 * T * H
  const head = 2 * maskedPerSequence * (V + H)
  return FLOAT_BYTES * batchSize * (L * perLayer + embeddings + head)
}

export function memoryEstimate(parameters: number, bert: BertConfig, microBatch: number, seqLength: number, maskedPerSequence: number): MemoryEstimate {
  const weights = FLOAT_BYTES * parameters
  const gradients = FLOAT_BYTES * parameters
  const optimizer = 2 * FLOAT_BYTES * parameters
  const activations = activationBytes(bert, microBatch, seqLength, maskedPerSequence)
  return { weights, gradients, optimizer, activations, total: weights + gradients + optimizer + activations }
}

/** A tensor one micro-batch makes, to hold against a device's limits. */
export interface StepTensor {
  what: string
  shape: number[]
  bytes: number
  /** Whether fewer tokens per micro-batch make it smaller. */
  perBatch: boolean
}

/**
 * The largest float32 tensors of a step whose micro-batch is `shape.sequences` sequences at full length:
 * the feed-forward activations [tokens, I], the fused Q, K, V projection [tokens, 3H], the word embeddings
 * and their gradient [V, H], and with MLM the decoder's logits [masked, V] at the expected masked count.
 */
export function largestStepTensors(bert: BertConfig, shape: StepShape): StepTensor[] {
  const { hidden_size: H, intermediate_size: I, vocab_size: V } = bert
  const tokens = shape.sequences * shape.seqLength
  const masked = shape.sequences * shape.maskedPerSequence
  const tensor = (what: string, dims: number[], perBatch: boolean): StepTensor => ({ what, shape: dims, bytes: FLOAT_BYTES * dims[0] * dims[1], perBatch })
  const list = [tensor('the feed-forward activations', [tokens, I], true), tensor('the Q, K, V projections', [tokens, 3 * H], true), tensor('the word embeddings', [V, H], false)]
  if (masked > 0) list.push(tensor("the MLM decoder's logits", [masked, V], true))
  return list
}

/**
 * Warnings for each of those tensors over `limit` bytes (an adapter's maxStorageBufferBindingSize): the
 * kernel that binds it refuses it (runner.ts), when a batch gets that long, perhaps hours in.
 */
export function bindingLimitWarnings(bert: BertConfig, shape: StepShape, limit: number): string[] {
  return largestStepTensors(bert, shape)
    .filter((t) => t.bytes > limit)
    .map((t) => {
      const tensor = `a [${t.shape.join(', ')}] float32 tensor that ${overBindingLimit(t.bytes, limit)}`
      return t.perBatch
        ? `warning: at full length (${shape.sequences} × ${shape.seqLength} tokens per micro-batch) ${t.what} would be ${tensor}; a batch that long will fail the run. ${FEWER_TOKENS[0].toUpperCase()}${FEWER_TOKENS.slice(1)} would fit`
        : `warning: ${t.what} are ${tensor}; the run will fail at its first step. A smaller vocab_size or hidden_size would fit`
    })
}

/** The warnings for a run about to train on webgpu (none on another backend), for its log. */
export function webgpuBindingWarnings(bert: BertConfig, shape: StepShape): string[] {
  const limit = tf.getBackend() === 'webgpu' ? currentDevice()?.report.limits.maxStorageBufferBindingSize : undefined
  return limit === undefined ? [] : bindingLimitWarnings(bert, shape, limit)
}

/** The micro-batch a pretraining run feeds at full length (what its loop warns about as it starts). */
export const pretrainingMicroBatch = (config: TrainConfig): StepShape => ({
  sequences: config.batchSize,
  seqLength: config.maxSeqLength,
  maskedPerSequence: activeObjectives(config).includes('mlm') ? maskedPerSequence(config) : 0,
})

/** The micro-batch a fine-tuning run feeds at full length: a sequence per choice of each example (choice tasks), no MLM. */
export const finetuneMicroBatch = (config: Pick<TrainConfig, 'batchSize' | 'maxSeqLength'>, sequencesPerExample: number): StepShape => ({
  sequences: config.batchSize * sequencesPerExample,
  seqLength: config.maxSeqLength,
  maskedPerSequence: 0,
})

/** Masked tokens per sequence at full length: the MLM probability of the tokens between [CLS] and [SEP]. */
export const maskedPerSequence = (config: Pick<TrainConfig, 'mlmProbability' | 'maxSeqLength'>) => Math.round(config.mlmProbability * (config.maxSeqLength - 2))

/**
 * Floating-point operations of one training step (forward + backward ≈ 3 × forward): per token and layer
 * 8·H² (Q, K, V, output projections) + 4·H·I (feed-forward) + 4·T·H (scores and context); per masked
 * token 2·H² + 2·H·V (the MLM transform and decoder).
 */
export function trainingFlops(bert: BertConfig, shape: StepShape): number {
  const { hidden_size: H, intermediate_size: I, num_hidden_layers: L, vocab_size: V } = bert
  const T = shape.seqLength
  const perToken = L * (8 * H * H + 4 * H * I + 4 * T * H)
  const perMasked = 2 * H * H + 2 * H * V
  return 3 * shape.sequences * (T * perToken + shape.maskedPerSequence * perMasked)
}

/** The calibration: FLOPs per second this machine reached on a measured training step. */
export interface Calibration {
  backend: string
  flopsPerSecond: number
  /** What was measured, for the UI to say. */
  measured: string
}

/** Times the benchmark's model A (2×128, batch 16 × 128 tokens) for a few steps on `backend`. */
export async function calibrateTraining(backend: TrainConfig['backend']): Promise<Calibration> {
  const result = await benchTrain({ config: 'A', backend, warmupSteps: 1, timedSteps: 3 })
  const shape: StepShape = { sequences: benchBatchSize('A'), seqLength: BENCH_SEQUENCE, maskedPerSequence: Math.round(BENCH_MASK_RATIO * BENCH_SEQUENCE) }
  const flops = trainingFlops(BENCH_CONFIGS.A, shape)
  const seconds = result.medianStepMs / 1000
  return {
    backend: result.backend,
    flopsPerSecond: flops / seconds,
    measured: `median of 3 training steps of model A (2×128, batch 16×128) on ${result.backend} in fp32: ${result.medianStepMs.toFixed(0)} ms`,
  }
}

export interface RunEstimate {
  parameters: number
  memory: MemoryEstimate
  flopsPerStep: number
  /** null until a calibration for the backend exists. */
  secondsPerStep: number | null
  totalSeconds: number | null
  tokensPerStep: number
  method: { parameters: string; memory: string; time: string }
}

/** The estimate for a parsed config and its model; `calibration` turns FLOPs into seconds. */
export function estimateRun(config: TrainConfig, bert: BertConfig, calibration: Calibration | null): RunEstimate {
  const parameters = countParameters(bert, pretrainingHeads(config))
  // POS/NE heads and the pair head add little next to the MLM decoder; MLM's masked positions dominate
  const { seqLength, maskedPerSequence: masked } = pretrainingMicroBatch(config)
  const fp32 = memoryEstimate(parameters, bert, config.batchSize, seqLength, masked)
  // fp16 (webgpu): the update writes an f16 copy of every weight beside its f32 master
  const halfCopies = config.precision === 'fp16' ? 2 * parameters : 0
  const memory = { ...fp32, weights: fp32.weights + halfCopies, total: fp32.total + halfCopies }
  const sequences = config.batchSize * config.gradientAccumulation
  const flopsPerStep = trainingFlops(bert, { sequences, seqLength, maskedPerSequence: masked })
  const secondsPerStep = calibration ? flopsPerStep / calibration.flopsPerSecond : null
  return {
    parameters,
    memory,
    flopsPerStep,
    secondsPerStep,
    totalSeconds: secondsPerStep === null ? null : secondsPerStep * config.totalSteps,
    tokensPerStep: sequences * seqLength,
    method: {
      parameters: 'counted from the model config (encoder, pooler and one head per objective)',
      memory:
        config.precision === 'fp16'
          ? 'formula: fp32 master weights + their f16 copies + fp32 gradients + 2 optimizer moments (18 bytes/parameter) + activations kept for backward at the full sequence length, counted at fp32 sizes (fp16 stores most of them in f16: about half the bytes, measured by test/bench/fp16-memory.ts)'
          : 'formula: fp32 weights + gradients + 2 optimizer moments (16 bytes/parameter) + activations kept for backward at the full sequence length',
      time: calibration
        ? `FLOPs per step at the full sequence length ÷ ${(calibration.flopsPerSecond / 1e9).toFixed(1)} GFLOP/s measured here (${calibration.measured}); shorter lines train faster`
        : 'needs a calibration step on the backend',
    },
  }
}
