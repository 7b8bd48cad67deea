// The pretraining loop (MLM, optionally NSP or SOP): one function, nanoGPT style. It runs wherever it is
// called — the job runs it in a worker thread — and talks to the outside only through hooks.
//
// Determinism: model init, data order, masking and dropout derive from `config.seed`; the training
// RNG's state, the data position, the optimizer moments and the weights are all in each checkpoint, so
// a resumed run continues the exact loss curve of an uninterrupted one.
import * as tf from '@tensorflow/tfjs'
import { bertEncoder, type ForwardContext, type Weights } from '../model/bert'
import { readCheckpointDir } from '../model/checkpoint'
import type { BertConfig } from '../model/config'
import { crossEntropy, mlmLoss, nspLogits, type HeadSpec } from '../model/heads'
import { disposeWeights, initWeights, loadWeights, parameterCount, type BertArchitecture } from '../model/weights'
import { assignWeights, listCheckpoints, pruneCheckpoints, readCheckpoint, saveCheckpoint, type TrainerState } from './checkpoint'
import { presetModelConfig, type TrainConfig } from './config'
import { buildMlmBatch, DataOrder, openSource, pairAt, type BatchItem, type SpecialTokens } from './data'
import { lossAndGrads } from '../compute/grads'
import { readScalar } from '../compute/read'
import { usePrecision } from '../compute/precision'
import { DynamicLossScale, type LossScaleOptions } from './loss-scale'
import { clipByGlobalNorm, createOptimizer, type Grads } from './optimizers'
import { Rng } from '../compute/rng'
import { linearWarmupDecay } from './schedule'
import { WorkbenchError } from '../errors'

export interface TrainProgress {
  step: number
  totalSteps: number
  loss: number
  lr: number
  gradNorm: number
  tokensPerSec: number
  etaSeconds: number | null
  backend: string
  elapsedSeconds: number
}

export interface MetricValue {
  name: string // loss, lr, grad_norm, tokens_per_sec
  step: number
  value: number
}

export interface TrainHooks {
  progress?(p: TrainProgress): void
  metrics?(points: MetricValue[]): void
  checkpoint?(c: { step: number; dir: string }): void
  /** Polled between steps; true stops the run after a checkpoint. */
  stopRequested?(): boolean
  log?(line: string): void
}

export interface TrainOptions {
  /** The run's folder: checkpoints go to <runDir>/checkpoints. */
  runDir: string
  /** Continue from the newest checkpoint in runDir when there is one. */
  resume?: boolean
  /** The active tfjs backend's name, for progress reports. */
  backend?: string
  /** Stop (with a checkpoint) once this step is reached, as if cancelled there. */
  stopAtStep?: number
  /** Newest checkpoints to keep; 0 keeps all. */
  keepCheckpoints?: number
  specials?: SpecialTokens
  /** fp16 runs: the loss scaler's start and growth interval (defaults: PyTorch's GradScaler). */
  lossScale?: LossScaleOptions
}

export interface TrainResult {
  step: number
  stopped: boolean
  /** Mean loss of each optimizer step run in this call. */
  losses: number[]
  checkpointDir: string | null
  parameters: number
}

/** Config keys that may change between a run and its resumption. */
const RESUMABLE_CHANGES = new Set(['name', 'backend', 'logEvery', 'checkpointEvery'])

async function modelFor(config: TrainConfig): Promise<{ bert: BertConfig; initial?: Awaited<ReturnType<typeof readCheckpointDir>> }> {
  const preset = presetModelConfig(config.model)
  if (preset) return { bert: preset }
  const from = (config.model as { from: string }).from
  const ck = await readCheckpointDir(from)
  return { bert: ck.config, initial: ck }
}

export async function train(config: TrainConfig, options: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  const backend = options.backend ?? tf.getBackend()
  const { bert, initial } = await modelFor(config)
  const pairs = config.pairObjective !== 'none'
  // the NSP head (cls.seq_relationship) serves SOP too: same shape, other labels
  const heads: HeadSpec[] = pairs ? [{ kind: 'mlm' }, { kind: 'nsp' }] : [{ kind: 'mlm' }]
  // Keep the pooler so the saved checkpoint is a complete BertForPreTraining-style model; with MLM
  // alone it gets no gradient, so the optimizer leaves it untouched (as PyTorch does with grad None).
  const arch: BertArchitecture = { config: bert, heads, pooler: true }
  if (config.maxSeqLength > bert.max_position_embeddings) {
    throw new WorkbenchError('BAD_INPUT', `maxSeqLength (${config.maxSeqLength}) exceeds the model's max_position_embeddings (${bert.max_position_embeddings})`)
  }
  // pairs of segments share one sequence: [CLS] A [SEP] B [SEP]
  const segmentTokens = pairs ? Math.floor((config.maxSeqLength - 3) / 2) : config.maxSeqLength - 2
  const opened = await openSource(config.data, bert.vocab_size, segmentTokens + 2)
  const source = opened.source
  const specials = options.specials ?? opened.specials
  const order = new DataOrder(source.size, config.seed)

  const weights: Weights = initial
    ? loadWeights(arch, initial.tensors, { initMissing: (n) => n.startsWith('cls.') || n.startsWith('bert.pooler.'), ignoreUnexpected: true, seed: config.seed, source: initial.weightsPath }).weights
    : initWeights(arch, config.seed)
  const optimizer = createOptimizer(config.optimizer, weights, {
    beta1: config.beta1,
    beta2: config.beta2,
    eps: config.eps,
    weightDecay: config.weightDecay,
  })
  let state: TrainerState = {
    step: 0,
    dataPosition: 0,
    rng: new Rng((config.seed ^ 0x6d656e67) >>> 0).state(),
    optimizer: { kind: config.optimizer, stepCount: 0 },
    config,
  }
  const existing = options.resume ? await listCheckpoints(options.runDir) : []
  if (existing.length > 0) {
    const latest = existing[existing.length - 1]
    try {
      const ck = await readCheckpoint(latest.dir)
      checkResumable(ck.state.config, config)
      assignWeights(weights, ck.weights)
      optimizer.loadState(ck.optimizer, ck.state.optimizer.stepCount)
      state = { ...ck.state, config }
    } catch (err) {
      optimizer.dispose()
      disposeWeights(weights)
      throw err
    }
    hooks.log?.(`resumed from ${latest.dir} at step ${state.step}`)
  }

  const fp16 = config.precision === 'fp16'
  const scaler = fp16 ? new DynamicLossScale(options.lossScale, state.lossScale) : null
  let restorePrecision: () => void
  try {
    restorePrecision = usePrecision(config.precision)
  } catch (err) {
    optimizer.dispose()
    disposeWeights(weights)
    throw err
  }
  const rng = new Rng(state.rng)
  const ctx: ForwardContext = { training: true, nextSeed: () => rng.nextUint32() }
  const lrAt = linearWarmupDecay({ peak: config.learningRate, total: config.totalSteps, warmupRatio: config.warmupRatio })
  const losses: number[] = []
  const started = Date.now()
  const stopAt = Math.min(config.totalSteps, options.stopAtStep ?? Infinity)
  let stopped = false
  let checkpointDir: string | null = null
  let savedStep = existing.length > 0 ? state.step : -1
  const save = async () => {
    state.rng = rng.state()
    if (scaler) state.lossScale = scaler.state()
    state.optimizer.stepCount = optimizer.stepCount
    checkpointDir = await saveCheckpoint(options.runDir, { config: bert, weights }, optimizer, state)
    savedStep = state.step
    await pruneCheckpoints(options.runDir, options.keepCheckpoints ?? 0)
    hooks.checkpoint?.({ step: state.step, dir: checkpointDir })
  }

  try {
    while (state.step < config.totalSteps) {
      if (state.step >= stopAt || hooks.stopRequested?.()) {
        stopped = true
        break
      }
      const t0 = performance.now()
      let grads: Grads | null = null
      let lossSum = 0
      let mlmSum = 0
      let pairSum = 0
      let tokens = 0
      for (let micro = 0; micro < config.gradientAccumulation; micro++) {
        const items: BatchItem[] = []
        const pairLabels = new Int32Array(pairs ? config.batchSize : 0)
        for (let b = 0; b < config.batchSize; b++) {
          const index = order.indexAt(state.dataPosition++)
          if (!pairs) items.push(source.get(index))
          else {
            const pair = pairAt(source, index, config.pairObjective as 'nsp' | 'sop', rng)
            items.push(pair.item)
            pairLabels[b] = pair.label
          }
        }
        const batch = buildMlmBatch(items, { maxSeqLength: config.maxSeqLength, mlmProbability: config.mlmProbability, vocabSize: bert.vocab_size, specials }, rng)
        tokens += batch.tokens
        const shape: [number, number] = [batch.batchSize, batch.seqLength]
        const inputs = {
          inputIds: tf.tensor2d(batch.inputIds, shape, 'int32'),
          attentionMask: tf.tensor2d(batch.attentionMask, shape, 'int32'),
          tokenTypeIds: tf.tensor2d(batch.tokenTypeIds, shape, 'int32'),
        }
        const lossScale = scaler?.scale ?? 1
        const scale = lossScale / config.gradientAccumulation
        let parts: tf.Scalar[] = []
        const step = lossAndGrads(weights, () => {
          const out = bertEncoder(weights, bert, inputs, ctx, { pooler: pairs })
          const mlm = mlmLoss(weights, bert, out.hiddenStates[bert.num_hidden_layers], batch.labels)
          if (!pairs) return mlm.mul(scale) as tf.Scalar
          const pair = crossEntropy(nspLogits(weights, out.pooled!), pairLabels)
          parts = [tf.keep(mlm), tf.keep(pair)] // read after the step, for the per-objective metrics
          return mlm.add(pair).mul(scale) as tf.Scalar
        })
        tf.dispose(Object.values(inputs))
        lossSum += (await readScalar(step.loss)) / lossScale
        if (parts.length) {
          mlmSum += ((await readScalar(parts[0])) * scale) / lossScale
          pairSum += ((await readScalar(parts[1])) * scale) / lossScale
          tf.dispose(parts)
        }
        step.loss.dispose()
        grads = grads ? accumulate(grads, step.grads) : step.grads
      }
      const stepScale = scaler?.scale ?? 1
      const clipped = clipByGlobalNorm(grads!, config.maxGradNorm, stepScale)
      const gradNorm = await readScalar(clipped.norm)
      clipped.norm.dispose()
      const lr = lrAt(state.step)
      // fp16: gradients that overflowed skip the update (the step still counts, as with GradScaler)
      const apply = scaler ? scaler.update(Number.isFinite(gradNorm)) : true
      if (apply) optimizer.step(clipped.grads, lr)
      else hooks.log?.(`step ${state.step + 1}: gradients overflowed at loss scale ${stepScale}; update skipped, scale now ${scaler!.scale}`)
      for (const g of clipped.grads.values()) g.dispose()
      state.step++
      state.lastLoss = lossSum
      losses.push(lossSum)

      const seconds = (performance.now() - t0) / 1000
      const elapsed = (Date.now() - started) / 1000
      const perStep = elapsed / losses.length
      const progress: TrainProgress = {
        step: state.step,
        totalSteps: config.totalSteps,
        loss: lossSum,
        lr,
        gradNorm,
        tokensPerSec: tokens / seconds,
        etaSeconds: perStep * (config.totalSteps - state.step),
        backend,
        elapsedSeconds: elapsed,
      }
      hooks.progress?.(progress)
      if (state.step % config.logEvery === 0 || state.step === config.totalSteps) {
        hooks.metrics?.([
          { name: 'loss', step: state.step, value: lossSum },
          { name: 'lr', step: state.step, value: lr },
          ...(Number.isFinite(gradNorm) ? [{ name: 'grad_norm', step: state.step, value: gradNorm }] : []),
          { name: 'tokens_per_sec', step: state.step, value: progress.tokensPerSec },
          ...(scaler ? [{ name: 'loss_scale', step: state.step, value: stepScale }] : []),
          ...(pairs
            ? [
                { name: 'loss/mlm', step: state.step, value: mlmSum },
                { name: `loss/${config.pairObjective}`, step: state.step, value: pairSum },
              ]
            : []),
        ])
      }
      if (config.checkpointEvery > 0 && state.step % config.checkpointEvery === 0) await save()
    }
    if (savedStep !== state.step) await save()
    return { step: state.step, stopped, losses, checkpointDir, parameters: parameterCount(weights) }
  } finally {
    restorePrecision()
    optimizer.dispose()
    disposeWeights(weights)
  }
}

/** Adds `more` into `into` (both disposed/replaced), for gradient accumulation. */
function accumulate(into: Grads, more: Grads): Grads {
  const out: Grads = new Map()
  for (const name of new Set([...into.keys(), ...more.keys()])) {
    const a = into.get(name)
    const b = more.get(name)
    out.set(name, a && b ? tf.add(a, b) : (a ?? b)!.clone())
  }
  tf.dispose([...into.values(), ...more.values()])
  return out
}

function checkResumable(saved: TrainConfig, now: TrainConfig): void {
  for (const key of new Set([...Object.keys(saved), ...Object.keys(now)]) as Set<keyof TrainConfig>) {
    if (RESUMABLE_CHANGES.has(key)) continue
    if (JSON.stringify(saved[key]) !== JSON.stringify(now[key])) {
      throw new WorkbenchError('CONFLICT', `cannot resume: config ${key} was ${JSON.stringify(saved[key])}, now ${JSON.stringify(now[key])}`)
    }
  }
}
