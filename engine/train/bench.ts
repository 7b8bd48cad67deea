// `mengzi bench train`: the fixed BERT MLM training step, timed. The model and batch are fixed so other
// tools (test/bench/train_torch.py) can reproduce them: vocab 21128, sequence 128, batch 16 (A, B) or
// 32 (BASE), 15% of positions masked, Adam lr 1e-4, 3 warm-up steps then 10 timed ones. Dropout is
// off on both sides so that the two engines do the same arithmetic; `dropout` turns it on (training
// mode, as in pretraining) to time real steps.
import * as tf from '@tensorflow/tfjs'
import { BENCH_CONFIGS, type BertConfig } from '../model/config'
import { selectBackend, type BackendPreference, type BackendSelection } from '../compute/backends'
import { createBenchModel, type BenchBatch } from './bench-model'
import type { Precision } from '../compute/precision'
import { setSubmitEvery } from '../compute/webgpu/flags'
import { dawnWaitNow } from '../compute/webgpu/event-ticks'
import { watchGpuWork, type GpuWork } from '../compute/webgpu/gpu-work'
import { startKernelTimer, type KernelTimes } from '../compute/webgpu/kernel-timer'
import { joinTunings, tunePendingMatmuls, type MatmulTuneReport } from '../compute/webgpu/matmul-tune'

export type BenchConfigName = keyof typeof BENCH_CONFIGS

export const BENCH_SEQUENCE = 128
export const BENCH_MASK_RATIO = 0.15
export const benchBatchSize = (config: BenchConfigName) => (config === 'BASE' ? 32 : 16)

export interface TrainBenchOptions {
  config: BenchConfigName
  backend?: BackendPreference
  warmupSteps?: number
  timedSteps?: number
  wasmThreads?: number
  /** Native kernels on wasm (default on where available) and their BLAS threads. */
  native?: boolean
  nativeThreads?: number
  /** Dropout on hidden states and attention probabilities (training mode); default 0, the fixed benchmark. */
  dropout?: number
  /** fp16 mixed precision with dynamic loss scaling (webgpu only), as `precision` in a run config; default fp32. */
  precision?: Precision
  /** webgpu: dispatches recorded before each submission (MENGZI_WEBGPU_SUBMIT_EVERY; default flags.ts's). */
  submitEvery?: number
  /** webgpu: after the timed steps, one more with the GPU's time for each kernel (timestamp queries). */
  kernelTimes?: boolean
  /**
   * Read each step's loss while the next step records, as the training loop does (default: read it
   * before the next step, as PyTorch's `loss.item()`); a step's time then runs from one loss landing to the next.
   */
  pipelined?: boolean
  /** Called after each step (warm-up ones included) with its time and loss. */
  onStep?: (step: { index: number; warmup: boolean; ms: number; loss: number }) => void
}

export interface TrainBenchResult {
  config: BenchConfigName
  backend: BackendSelection['name']
  backendDetail: string
  skipped: BackendSelection['skipped']
  threads: number | null
  batchSize: number
  sequenceLength: number
  maskedPerSequence: number
  parameters: number
  /** Whether each step's loss was read while the next recorded (`pipelined`). */
  pipelined: boolean
  stepMs: number[]
  medianStepMs: number
  /** Process CPU time per step (all threads), median: steadier than wall time on a shared machine. */
  medianCpuMs: number
  /**
   * Wall time per step this thread spent recording the step (tfjs, our kernels' JavaScript, Dawn's
   * validation), not waiting for the device, median. On webgpu the device waits are the loss read and,
   * in fp16, the norm read; on wasm and cpu kernels run as they are recorded, so this is the step.
   */
  medianHostMs: number
  /** webgpu: dispatches and queue submissions in the last timed step, the submit interval, and how waits for the device tick (event-ticks.ts); null elsewhere. */
  gpuWork: (Omit<GpuWork, 'programs'> & { submitEvery: number; wait: 'yield' | 'spin' }) | null
  /** With `kernelTimes`: the GPU's time per kernel in one extra step (not among the timed ones); else null. */
  kernelTimes: KernelTimes | null
  tokensPerSec: number
  losses: number[]
  precision: Precision
  /** fp16: the loss scale after the last step, and how many steps overflowed (skipped); null in fp32. */
  lossScale: { scale: number; skipped: number } | null
  /**
   * webgpu with product tuning on (flags.ts setMatmulTuning; 'auto': hardware adapters): the tuning run
   * after each warm-up step for the product classes it recorded (none with no warm-up); else null.
   */
  matmulTuning: MatmulTuneReport | null
}

/** Seeded integers in [0, n) (mulberry32), so every run and engine sees the same batch. */
function seededInts(count: number, n: number, seed: number): Int32Array {
  const out = new Int32Array(count)
  let s = seed >>> 0
  for (let i = 0; i < count; i++) {
    s = (s + 0x6d2b79f5) >>> 0
    let t = Math.imul(s ^ (s >>> 15), s | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n
  }
  return out
}

/** The fixed synthetic batch: random word ids (never 0, [PAD]), the first round(15%·T) positions of each sequence after [CLS] masked. */
export function benchBatch(config: BertConfig, batchSize: number, seq = BENCH_SEQUENCE): BenchBatch {
  const ids = seededInts(batchSize * seq, config.vocab_size - 1, 1234).map((v) => v + 1)
  const perSequence = Math.round(BENCH_MASK_RATIO * seq)
  const labels = new Int32Array(batchSize * seq).fill(-100)
  for (let b = 0; b < batchSize; b++) {
    // Spread the masked positions evenly over the sequence, skipping position 0 ([CLS]).
    for (let j = 0; j < perSequence; j++) {
      const p = b * seq + 1 + Math.floor((j * (seq - 1)) / perSequence)
      labels[p] = ids[p]
      ids[p] = 103 // [MASK] in bert-base-chinese's vocab
    }
  }
  return {
    inputIds: tf.tensor2d(ids, [batchSize, seq], 'int32'),
    tokenTypeIds: tf.zeros([batchSize, seq], 'int32') as tf.Tensor2D,
    attentionMask: tf.ones([batchSize, seq], 'int32') as tf.Tensor2D,
    labels,
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export async function benchTrain(options: TrainBenchOptions): Promise<TrainBenchResult> {
  const { config: name, warmupSteps = 3, timedSteps = 10 } = options
  const selection = await selectBackend(options.backend ?? 'auto', { wasmThreads: options.wasmThreads, native: options.native, nativeThreads: options.nativeThreads })
  const dropout = options.dropout ?? 0
  const config: BertConfig = { ...BENCH_CONFIGS[name], hidden_dropout_prob: dropout, attention_probs_dropout_prob: dropout }
  const batchSize = benchBatchSize(name)
  const precision = options.precision ?? 'fp32'
  const pipelined = options.pipelined ?? false
  const onWebgpu = selection.name === 'webgpu'
  if (options.submitEvery !== undefined && !onWebgpu) throw new Error(`submitEvery is a webgpu setting; this bench runs on ${selection.name}`)
  if (options.kernelTimes && !onWebgpu) throw new Error(`kernel times are measured on webgpu; this bench runs on ${selection.name}`)
  const restoreSubmit = onWebgpu && options.submitEvery !== undefined ? setSubmitEvery(options.submitEvery) : null // refuses a bad one
  const model = createBenchModel(config, 42, precision)
  const batch = benchBatch(config, batchSize)
  const submitEvery = onWebgpu ? (tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number) : 0
  const stepMs: number[] = []
  const cpuMs: number[] = []
  const hostMs: number[] = []
  let gpuWork = null as GpuWork | null // set inside record(): a plain annotation narrows it to null here
  const losses: number[] = []
  let lossScale: TrainBenchResult['lossScale'] = null
  let kernelTimes: KernelTimes | null = null
  let matmulTuning: MatmulTuneReport | null = null
  try {
    let lastLanded = performance.now()
    let cpuMark = process.cpuUsage()
    // records step i and issues its loss read (with its norm in fp16: model.readLoss)
    const record = async (index: number) => {
      const start = performance.now()
      const stopCounting = onWebgpu ? watchGpuWork() : null
      try {
        const lossTensor = await model.step(batch, 1e-4)
        const host = performance.now() - start - model.deviceWaitMs()
        const loss = model.readLoss(lossTensor) // a device error fails the bench instead of hanging it
        loss.catch(() => {}) // awaited in land()
        return { index, loss, host }
      } finally {
        gpuWork = stopCounting?.() ?? null
      }
    }
    // waits for a step's loss: its time runs from the last loss landing (or its own start) to this one
    const land = async (step: Awaited<ReturnType<typeof record>>) => {
      const loss = await step.loss
      const now = performance.now()
      const ms = now - lastLanded
      const cpu = process.cpuUsage(cpuMark)
      lastLanded = now
      cpuMark = process.cpuUsage()
      const warmup = step.index < warmupSteps
      if (!warmup) {
        stepMs.push(ms)
        hostMs.push(step.host)
        cpuMs.push((cpu.user + cpu.system) / 1000)
        losses.push(loss)
      }
      options.onStep?.({ index: step.index, warmup, ms, loss })
    }
    let unread: Awaited<ReturnType<typeof record>> | null = null
    for (let i = 0; i < warmupSteps + timedSteps; i++) {
      if (!pipelined) {
        lastLanded = performance.now()
        cpuMark = process.cpuUsage()
        await land(await record(i))
      } else {
        const step = await record(i)
        if (unread) await land(unread)
        unread = step
      }
      if (onWebgpu && i < warmupSteps) {
        // the products' kernels tuned on the device (matmul-tune.ts) before the timed steps
        if (unread) await land(unread)
        unread = null
        matmulTuning = joinTunings(matmulTuning, await tunePendingMatmuls())
        lastLanded = performance.now()
      }
    }
    if (unread) await land(unread)
    lossScale = model.lossScale()
    if (options.kernelTimes) {
      const timer = startKernelTimer()
      try {
        await model.readLoss(await model.step(batch, 1e-4))
      } finally {
        kernelTimes = await timer.stop() // the backend's own methods back, whatever happened
      }
    }
  } finally {
    if (restoreSubmit !== null) setSubmitEvery(restoreSubmit)
    model.dispose()
    tf.dispose([batch.inputIds, batch.tokenTypeIds, batch.attentionMask])
  }
  const medianStepMs = median(stepMs)
  return {
    config: name,
    backend: selection.name,
    backendDetail: selection.detail,
    skipped: selection.skipped,
    pipelined,
    threads: selection.threads ?? null,
    batchSize,
    sequenceLength: BENCH_SEQUENCE,
    maskedPerSequence: Math.round(BENCH_MASK_RATIO * BENCH_SEQUENCE),
    parameters: model.parameters,
    stepMs,
    medianStepMs,
    medianCpuMs: median(cpuMs),
    medianHostMs: median(hostMs),
    gpuWork: gpuWork && { dispatches: gpuWork.dispatches, submits: gpuWork.submits, submitEvery, wait: dawnWaitNow() },
    kernelTimes,
    tokensPerSec: (batchSize * BENCH_SEQUENCE * 1000) / medianStepMs,
    losses,
    precision,
    lossScale,
    matmulTuning,
  }
}
