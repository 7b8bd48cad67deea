// What a fine-tuning run will cost before it starts, from its data as the run packs it (finetune-counts.ts):
// parameters (the encoder, pooler and task head as the run builds them), memory (the pretraining formula
// at the longest training feature, plus what each strategy keeps), steps, and time (FLOPs ÷ the rate
// measured on this machine's calibration step, as the run form's estimate). Batches pad to their longest
// row and the run shuffles, so a step's FLOPs are averaged over the longest of a random batch's lengths.
import type { BertConfig } from '../model/config'
import { TASK_SPECS } from '../tasks'
import { activationBytes, countParameters, memoryEstimate, trainingFlops, type Calibration, type MemoryEstimate } from './estimate'
import type { FinetuneConfig } from './finetune-config'
import type { FinetuneCounts } from './finetune-counts'
import { taskHead } from './finetune-model'

const FLOAT_BYTES = 4

export interface FinetuneMemory extends MemoryEstimate {
  /** Distillation: the teacher's fp32 weights and the hidden states its forward pass keeps for the loss. */
  teacher: number
  /** SMART's Bregman term: the momentum (EMA) copy of the weights. */
  momentum: number
}

export interface FinetuneEstimate {
  parameters: number
  memory: FinetuneMemory
  /** Training features per epoch; with augmentation, at most this many (copies that come out the same are dropped). */
  trainFeatures: number
  stepsPerEpoch: number
  totalSteps: number
  /** Tokens a training batch is padded to, on average over random batches. */
  meanBatchLength: number
  /** A training step's FLOPs (strategies included), on average over random batches. */
  flopsPerStep: number
  /** One evaluation of the dev split (forward passes, each batch at its longest row). */
  evalFlops: number
  secondsPerStep: number | null
  /** Every step and an evaluation after each epoch. */
  totalSeconds: number | null
  method: { parameters: string; memory: string; time: string }
}

/**
 * P(the longest of a batch of `batch` features drawn without replacement has length l), for each l:
 * with K(l) features of length ≤ l among n, P(longest ≤ l) = C(K(l), batch) / C(n, batch).
 */
export function longestInBatch(lengthCounts: number[], batch: number): number[] {
  const n = lengthCounts.reduce((a, b) => a + b, 0)
  const atMost = (k: number) => {
    if (batch >= n) return k === n ? 1 : 0 // one batch holds every feature
    let p = 1
    for (let i = 0; i < batch; i++) p *= Math.max(0, k - i) / (n - i)
    return p
  }
  const out: number[] = []
  let below = 0
  let k = 0
  for (const count of lengthCounts) {
    k += count
    const p = atMost(k)
    out.push(p - below)
    below = p
  }
  return out
}

/** One forward pass over `sequences` rows of `length` tokens (no MLM head): a third of trainingFlops. */
const forwardFlops = (bert: BertConfig, sequences: number, length: number) => trainingFlops(bert, { sequences, seqLength: length, maskedPerSequence: 0 }) / 3

/**
 * The passes a step runs, in forwards of the student (F) and of the teacher: the task loss's forward and
 * backward (3F); distillation, the teacher's forward; SMART, its clean forward (F), each ascent step's
 * forward and backward to the perturbation only (2F: no weight gradients), and the perturbed pass inside
 * the loss (3F); its Bregman term, the momentum copy's forward (F).
 */
export function stepForwards(config: FinetuneConfig): { student: number; teacher: number } {
  const smart = config.strategies.smart
  const student = 3 + (smart ? 1 + 2 * smart.steps + 3 + (smart.bregman ? 1 : 0) : 0)
  return { student, teacher: config.strategies.distill ? 1 : 0 }
}

export function estimateFinetune(config: FinetuneConfig, bert: BertConfig, counts: FinetuneCounts, teacher: BertConfig | null, calibration: Calibration | null): FinetuneEstimate {
  const shape = TASK_SPECS[config.task].shape
  const parameters = countParameters(bert, [taskHead(shape, counts.labels)], shape !== 'span')
  const rowsPerFeature = counts.choices
  const augment = config.strategies.augment && (shape === 'single' || shape === 'pair') ? config.strategies.augment.copies : 0
  // augmented copies are made as the run starts and may come out longer (insertions): bound them by maxSeqLength
  const longest = augment ? config.maxSeqLength : counts.trainLengths.length - 1
  const rows = config.batchSize * rowsPerFeature

  const base = memoryEstimate(parameters, bert, rows, longest, 0)
  const halfCopies = config.precision === 'fp16' ? 2 * parameters : 0 // the update's f16 copy of every weight
  const smart = config.strategies.smart
  const activations = base.activations * (smart ? 2 : 1) // SMART's perturbed forward is in the tape beside the clean one
  const teacherBytes = teacher
    ? FLOAT_BYTES * (countParameters(teacher, [taskHead(shape, counts.labels)], shape !== 'span') + rows * longest * teacher.hidden_size * (teacher.num_hidden_layers + 1))
    : 0
  const momentum = smart?.bregman ? FLOAT_BYTES * parameters : 0
  const weights = base.weights + halfCopies
  const memory: FinetuneMemory = {
    weights,
    gradients: base.gradients,
    optimizer: base.optimizer,
    activations,
    teacher: teacherBytes,
    momentum,
    total: weights + base.gradients + base.optimizer + activations + teacherBytes + momentum,
  }

  const packed = counts.trainLengths.reduce((a, b) => a + b, 0) // features: CMRC2018's windows, not its examples
  const trainFeatures = packed * (1 + augment)
  const stepsPerEpoch = Math.ceil(trainFeatures / config.batchSize)
  const passes = stepForwards(config)
  let flopsPerStep = 0
  let meanBatchLength = 0
  // augmented copies keep their example's length, near enough
  longestInBatch(counts.trainLengths.map((c) => c * (1 + augment)), config.batchSize).forEach((p, length) => {
    if (p === 0) return
    meanBatchLength += p * length
    flopsPerStep += p * (passes.student * forwardFlops(bert, rows, length) + (teacher ? passes.teacher * forwardFlops(teacher, rows, length) : 0))
  })
  let evalFlops = 0
  for (let i = 0; i < counts.devLengths.length; i += config.evalBatchSize) {
    const batch = counts.devLengths.slice(i, i + config.evalBatchSize)
    evalFlops += forwardFlops(bert, batch.length * rowsPerFeature, Math.max(...batch))
  }
  const totalSteps = stepsPerEpoch * config.epochs
  const rate = calibration?.flopsPerSecond
  const strategies = [
    passes.teacher ? "the teacher's forward" : '',
    smart ? `SMART's clean forward, ${smart.steps} ascent step${smart.steps === 1 ? '' : 's'} (forward and backward) and perturbed pass` : '',
    smart?.bregman ? "the momentum copy's forward" : '',
  ].filter(Boolean)
  return {
    parameters,
    memory,
    trainFeatures,
    stepsPerEpoch,
    totalSteps,
    meanBatchLength,
    flopsPerStep,
    evalFlops,
    secondsPerStep: rate ? flopsPerStep / rate : null,
    totalSeconds: rate ? (flopsPerStep * totalSteps + evalFlops * config.epochs) / rate : null,
    method: {
      parameters: `counted from the model config (encoder, ${shape === 'span' ? '' : 'pooler, '}the ${config.task} head)`,
      memory: [
        `formula: fp32 weights${halfCopies ? ' + their f16 copies' : ''} + gradients + 2 AdamW moments (${halfCopies ? 18 : 16} bytes/parameter)`,
        ` + activations kept for backward at the ${augment ? 'full sequence length (augmented copies may be longer than their examples)' : 'longest training feature'} (${longest} tokens × ${rows} rows${smart ? ', twice: SMART keeps its perturbed pass' : ''})`,
        teacher ? " + the teacher's weights and hidden states" : '',
        momentum ? ' + the momentum copy of the weights' : '',
      ].join(''),
      time: rate
        ? `FLOPs ÷ ${(rate / 1e9).toFixed(1)} GFLOP/s measured here (${calibration!.measured}): a step's forward and backward${strategies.length ? ' plus ' + strategies.join(', ') : ''}, at the longest row of a random batch (${meanBatchLength.toFixed(1)} tokens on average); ${config.epochs} dev evaluation${config.epochs === 1 ? '' : 's'} of ${counts.devLengths.length} features`
        : 'needs a calibration step on the backend',
    },
  }
}
