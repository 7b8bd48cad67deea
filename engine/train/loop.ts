// The pretraining loop (MLM, optionally NSP or SOP): one function, nanoGPT style. It runs wherever it is
// called — the job runs it in a worker thread — and talks to the outside only through hooks.
//
// Determinism: model init, data order, masking and dropout derive from `config.seed`; the training
// RNG's state, the data position, the optimizer moments and the weights are all in each checkpoint, so
// a resumed run continues the exact loss curve of an uninterrupted one.
import * as tf from '@tensorflow/tfjs'
import { EVAL, type ForwardContext, type Weights } from '../model/bert'
import { readCheckpointDir } from '../model/checkpoint'
import type { BertConfig } from '../model/config'
import { disposeWeights, initWeights, loadWeights, parameterCount, type BertArchitecture } from '../model/weights'
import { assignWeights, listCheckpoints, pruneCheckpoints, readCheckpoint, saveCheckpoint, type TrainerState } from './checkpoint'
import { activeObjectives, presetModelConfig, vocabOf, type Objective, type TrainConfig } from './config'
import { openSource, type SpecialTokens } from './data'
import { buildBatch, sliceSegment, type BatchInput, type BatchOptions, type BatchSegment, type PretrainBatch } from './batch'
import { projectConflicting } from './dgc'
import { headsFor, objectiveLosses, queueDistill, queueOutputs, readOutputs, teacherOutputs, usesPairs, type ObjectiveOutputs, type ObjectiveStats, type TeacherOutputs } from './objectives'
import { buildTokenShards } from './shard-build'
import { memorySource, SegmentStream, shardSource, type SegmentSource } from './stream'
import { readTokenManifest, TokenSplitReader, type SegmentBlock } from '../text/token-shards'
import { lossAndGrads } from '../compute/grads'
import { Readback } from '../compute/read'
import { usePrecision } from '../compute/precision'
import { tuningDue } from '../compute/webgpu/matmul-choice'
import { pretrainingMicroBatch, webgpuBindingWarnings } from './estimate'
import { tuneBetweenSteps } from '../compute/webgpu/matmul-tune'
import { LossScaling, type LossScaleOptions } from './loss-scale'
import { createOptimizer, type Grads } from './optimizers'
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

/** Work before the first step (building the dataset's token shards): records done of total. */
export interface PrepareProgress {
  done: number
  total: number
  unit: string
  message: string
}

export interface TrainHooks {
  progress?(p: TrainProgress): void
  /** Progress of the data preparation before the first step (the token shards' one-time build). */
  preparing?(p: PrepareProgress): void
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
  /** The last held-out evaluation (eval/... values), when the data has a dev split. */
  eval?: Record<string, number> | null
}

/** Config keys that may change between a run and its resumption. */
const RESUMABLE_CHANGES = new Set(['name', 'backend', 'logEvery', 'checkpointEvery', 'evalEvery', 'evalBatches'])

async function modelFor(config: TrainConfig): Promise<{ bert: BertConfig; initial?: Awaited<ReturnType<typeof readCheckpointDir>> }> {
  const preset = presetModelConfig(config.model)
  if (preset) return { bert: preset }
  const from = (config.model as { from: string }).from
  const ck = await readCheckpointDir(from)
  return { bert: ck.config, initial: ck }
}

interface Teacher {
  bert: BertConfig
  weights: Weights
}

/**
 * The frozen distillation teacher, loaded once: a HF folder (the service resolves "model:ID" and "run:ID"
 * to one, as it does initFrom). Refuses what cannot be distilled cleanly, each with a one-line reason.
 */
async function loadTeacher(config: TrainConfig, student: BertConfig, objectives: readonly Objective[]): Promise<Teacher | null> {
  const kd = config.distill
  if (!kd) return null
  const where = `distill.teacher ${kd.teacher}`
  if (/^(model|run):\d+$/.test(kd.teacher)) throw new WorkbenchError('BAD_INPUT', `${where}: ids are resolved by the service (mengzi train / the app); the engine takes a HF folder`)
  if (kd.logitWeight === 0 && kd.hiddenWeight === 0) throw new WorkbenchError('BAD_INPUT', 'distill: logitWeight and hiddenWeight are both 0; set one above 0 or drop distill')
  if (kd.logitWeight > 0 && !objectives.includes('mlm')) throw new WorkbenchError('BAD_INPUT', 'distill.logitWeight distils the MLM logits at masked positions; add "mlm" to objectives (objectiveWeights.mlm 0 distils without the hard labels)')
  const ck = await readCheckpointDir(kd.teacher)
  const t = ck.config
  if (kd.logitWeight > 0 && t.vocab_size !== student.vocab_size) throw new WorkbenchError('BAD_INPUT', `${where}: vocab_size ${t.vocab_size} ≠ the student's ${student.vocab_size}; soft labels need the same vocab`)
  if (kd.hiddenWeight > 0 && t.hidden_size !== student.hidden_size) {
    throw new WorkbenchError('UNSUPPORTED', `${where}: hidden_size ${t.hidden_size} ≠ the student's ${student.hidden_size}; hidden-state distillation needs equal sizes (no projection yet): set distill.hiddenWeight 0 to distil the logits only`)
  }
  const map = kd.layerMap
  if (kd.hiddenWeight > 0 && map && (map.length !== student.num_hidden_layers + 1 || map.some((j) => j > t.num_hidden_layers))) {
    throw new WorkbenchError('BAD_INPUT', `distill.layerMap: needs ${student.num_hidden_layers + 1} entries (embeddings + each student layer), each 0..${t.num_hidden_layers} (the teacher's layers); got ${JSON.stringify(map)}`)
  }
  if (config.maxSeqLength > t.max_position_embeddings) throw new WorkbenchError('BAD_INPUT', `${where}: maxSeqLength ${config.maxSeqLength} exceeds the teacher's max_position_embeddings (${t.max_position_embeddings})`)
  const arch: BertArchitecture = { config: t, heads: kd.logitWeight > 0 ? [{ kind: 'mlm' }] : [], pooler: false }
  const loaded = loadWeights(arch, ck.tensors, { initMissing: (n) => n.startsWith('cls.'), ignoreUnexpected: true, seed: config.seed, source: ck.weightsPath })
  if (loaded.initialised.length) {
    disposeWeights(loaded.weights)
    throw new WorkbenchError('BAD_INPUT', `${where}: no trained MLM head (${loaded.initialised[0]} missing), so its soft labels would be random; set distill.logitWeight 0`)
  }
  return { bert: t, weights: loaded.weights }
}

/**
 * The run's segments: train split (and dev split, for evaluation) with the special-token ids. A dataset's
 * token shards are built on first use, reporting through `hooks.preparing`; a stop request ends that
 * build between records (CANCELLED), and the next run continues it from its checkpoint.
 */
export async function openSegments(
  config: TrainConfig,
  bert: BertConfig,
  segmentTokens: number,
  hooks: Pick<TrainHooks, 'preparing' | 'stopRequested'> = {},
): Promise<{ train: SegmentSource; dev: SegmentSource | null; specials: SpecialTokens }> {
  if (config.data.kind !== 'dataset') {
    const opened = await openSource(config.data, bert.vocab_size, segmentTokens + 2)
    return { train: memorySource(opened.source), dev: null, specials: opened.specials }
  }
  const vocabFile = vocabOf(config)!
  const stop = new AbortController()
  const report = (done: number, total: number, message: string) => {
    hooks.preparing?.({ done, total, unit: 'records', message })
    if (hooks.stopRequested?.()) stop.abort()
  }
  const dir = await buildTokenShards(config.data.dir, {
    vocabFile,
    maxSegmentTokens: segmentTokens,
    signal: stop.signal,
    onProgress: (done, total) => report(done, total, 'building token shards'),
    onWaiting: (pid) => report(0, 0, `waiting for another job (process ${pid}) building the same token shards`),
  })
  const manifest = readTokenManifest(dir)
  if (manifest.vocab.size > bert.vocab_size) throw new WorkbenchError('BAD_INPUT', `${vocabFile}: ${manifest.vocab.size} tokens, more than the model's vocab_size (${bert.vocab_size})`)
  if (!manifest.splits.train) throw new WorkbenchError('BAD_INPUT', `${config.data.dir}: the dataset has no train split`)
  const train = shardSource(new TokenSplitReader(dir, manifest, 'train'))
  const dev = manifest.splits.dev?.segments ? shardSource(new TokenSplitReader(dir, manifest, 'dev')) : null
  return { train, dev, specials: manifest.vocab.specials }
}

/**
 * A and B cut to fit [CLS] A [SEP] B [SEP], longest-first as HF counts it, but A loses tokens from its
 * start and B from its end: adjacent text stays adjacent (HF's truncation would cut A's end and leave a
 * gap between the halves).
 */
export function adjacentWindow(a: BatchSegment, b: BatchSegment, budget: number): [BatchSegment, BatchSegment] {
  let na = a.ids.length
  let nb = b.ids.length
  while (na + nb > budget) {
    if (na >= nb) na--
    else nb--
  }
  return [sliceSegment(a, a.ids.length - na, a.ids.length), sliceSegment(b, 0, nb)]
}

/**
 * A sentence pair for the segment at `local`, ALBERT's way: the segment itself (one record's contiguous
 * text) cut at a uniformly drawn point into A and B, so the two halves are adjacent text of one document
 * and neither order is longer on average; SOP swaps them half the time; NSP replaces B, half the time,
 * by the start of a random other segment of the block. Pairing consecutive segments instead would pair
 * different records whenever records are shorter than a segment (poems, fortunes, sentences): their
 * order carries no signal, and SOP stayed at ln 2. A 1-token segment pairs with its neighbour.
 */
export function sentencePair(block: SegmentBlock, local: number, objectives: readonly Objective[], budget: number, rng: Rng): { item: BatchInput; nsp: number; sop: number } {
  const n = block.count
  const s = block.segment(local)
  let a: BatchSegment
  let b: BatchSegment
  if (s.ids.length >= 2) {
    const length = Math.min(s.ids.length, budget)
    const cut = 1 + rng.int(length - 1)
    a = sliceSegment(s, 0, cut)
    b = sliceSegment(s, cut, length)
  } else {
    const first = local + 1 < n ? local : Math.max(0, local - 1)
    a = block.segment(first)
    b = block.segment(Math.min(n - 1, first + 1))
  }
  let nsp = 0
  let sop = -100
  if (objectives.includes('nsp') && n > 2 && rng.next() < 0.5) {
    let other = rng.int(n - 1)
    if (other >= local) other++ // any segment but this one
    b = block.segment(other)
    nsp = 1
  }
  ;[a, b] = adjacentWindow(a, b, budget)
  if (objectives.includes('sop') && nsp === 0) {
    sop = rng.next() < 0.5 ? 0 : 1
    if (sop === 1) return { item: [b, a], nsp, sop }
  }
  return { item: [a, b], nsp, sop }
}

interface BatchDraw {
  batch: PretrainBatch
  nspLabels: Int32Array
  sopLabels: Int32Array
}

export function drawBatch(next: () => { block: SegmentBlock; local: number }, count: number, objectives: readonly Objective[], options: BatchOptions, rng: Rng): BatchDraw {
  const items: BatchInput[] = []
  const nspLabels = new Int32Array(count)
  const sopLabels = new Int32Array(count)
  for (let b = 0; b < count; b++) {
    const { block, local } = next()
    if (!usesPairs(objectives)) items.push(block.segment(local))
    else {
      const pair = sentencePair(block, local, objectives, options.maxSeqLength - 3, rng)
      items.push(pair.item)
      nspLabels[b] = pair.nsp
      sopLabels[b] = pair.sop
    }
  }
  return { batch: buildBatch(items, options, rng), nspLabels, sopLabels }
}

function addStats(into: ObjectiveStats, more: ObjectiveStats, scale: number): void {
  for (const [o, s] of more) {
    const t = into.get(o) ?? { loss: 0, correct: 0, count: 0 }
    into.set(o, { loss: t.loss + s.loss * scale, correct: t.correct + s.correct, count: t.count + s.count })
  }
}

/**
 * Held-out evaluation: the first evalBatches batches of the dev split, masked per token with a fixed seed
 * (the same masks at every evaluation and in every run with that seed, whole-word masking or not), no
 * dropout. MLM, POS and NE on single segments, so their numbers compare across runs whatever the pair
 * objectives; NSP/SOP on pairs of the same segments. eval/ppl = exp(eval/loss/mlm).
 */
export async function evaluate(
  weights: Weights,
  bert: BertConfig,
  config: TrainConfig,
  objectives: readonly Objective[],
  dev: SegmentSource,
  options: BatchOptions,
  log?: (line: string) => void,
): Promise<Record<string, number>> {
  const limit = Math.min(dev.size, config.evalBatches * config.batchSize)
  const out: Record<string, number> = {}
  for (const subset of [objectives.filter((o) => !usesPairs([o])), objectives.filter((o) => usesPairs([o]))]) {
    if (subset.length === 0) continue
    const rng = new Rng((config.seed ^ 0x65766131) >>> 0)
    let block: SegmentBlock | null = null
    let position = 0
    const next = () => {
      const range = dev.blocks.find((r) => position >= r.first && position < r.first + r.count)!
      if (!block || block.first !== range.first) block = dev.read(range.first, range.count)
      return { block, local: position++ - range.first }
    }
    const totals: ObjectiveStats = new Map()
    let batches = 0
    while (position < limit) {
      // webgpu: the classes of product a batch recorded first, tuned before the next (matmul-tune.ts)
      if (tuningDue()) await tuneBetweenSteps(log)
      const draw = drawBatch(next, Math.min(config.batchSize, limit - position), subset, { ...options, wholeWordMask: false }, rng)
      let outputs: ObjectiveOutputs | null = null
      const total = tf.tidy(() => {
        const r = objectiveLosses(weights, bert, subset, config.objectiveWeights, { batch: draw.batch, nspLabels: draw.nspLabels, sopLabels: draw.sopLabels }, EVAL)
        outputs = r.outputs // kept tensors: they outlive the tidy
        return r.total
      })
      total.dispose()
      addStats(totals, await readOutputs(outputs!), 1)
      batches++
    }
    for (const [o, s] of totals) {
      out[`eval/loss/${o}`] = s.loss / batches
      out[`eval/acc/${o}`] = s.count ? s.correct / s.count : 0
    }
  }
  if ('eval/loss/mlm' in out) out['eval/ppl'] = Math.exp(out['eval/loss/mlm'])
  return out
}

export async function train(config: TrainConfig, options: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  const backend = options.backend ?? tf.getBackend()
  const { bert, initial } = await modelFor(config)
  const objectives = activeObjectives(config)
  const pairs = usesPairs(objectives)
  const heads = headsFor(objectives)
  // Keep the pooler so the saved checkpoint is a complete BertForPreTraining-style model; with MLM
  // alone it gets no gradient, so the optimizer leaves it untouched (as PyTorch does with grad None).
  const arch: BertArchitecture = { config: bert, heads, pooler: true }
  if (config.maxSeqLength > bert.max_position_embeddings) {
    throw new WorkbenchError('BAD_INPUT', `maxSeqLength (${config.maxSeqLength}) exceeds the model's max_position_embeddings (${bert.max_position_embeddings})`)
  }
  for (const line of webgpuBindingWarnings(bert, pretrainingMicroBatch(config))) hooks.log?.(line)
  // segments as long as a single sequence allows, whatever the objectives (so that runs with and without
  // pair objectives read the same shards and evaluate on the same dev segments); a pair
  // [CLS] A [SEP] B [SEP] is truncated longest-first to fit
  const segmentTokens = config.maxSeqLength - 2
  const opened = await openSegments(config, bert, segmentTokens, hooks)
  const source = opened.train
  const needsTags = objectives.filter((o) => o === 'pos' || o === 'ner')
  if (needsTags.length && !source.labelled) {
    source.close()
    opened.dev?.close()
    throw new WorkbenchError('BAD_INPUT', `objectives ${needsTags.join(', ')} learn the dataset's tags, and the training data has none (tag the dataset first, or train on an imported dataset)`)
  }
  const specials = options.specials ?? opened.specials
  const stream = new SegmentStream(source, config.seed)
  const batchOptions: BatchOptions = { maxSeqLength: config.maxSeqLength, mlmProbability: config.mlmProbability, vocabSize: bert.vocab_size, specials, wholeWordMask: config.wholeWordMask }
  const aux = objectives.filter((o) => o !== 'mlm')
  const project = config.dgc.enabled && config.dgc.project && objectives.includes('mlm') && aux.length > 0

  let teacher: Teacher | null
  try {
    teacher = await loadTeacher(config, bert, objectives)
  } catch (err) {
    source.close()
    opened.dev?.close()
    throw err
  }
  if (teacher) hooks.log?.(`distill: teacher ${config.distill!.teacher} (${teacher.bert.num_hidden_layers} × ${teacher.bert.hidden_size}), frozen, eval mode`)
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
  const closeAll = () => {
    optimizer.dispose()
    disposeWeights(weights)
    if (teacher) disposeWeights(teacher.weights)
    source.close()
    opened.dev?.close()
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
      closeAll()
      throw err
    }
    hooks.log?.(`resumed from ${latest.dir} at step ${state.step}`)
  }

  let restorePrecision: () => void = () => {}
  let scaling: LossScaling | null = null
  try {
    restorePrecision = usePrecision(config.precision)
    if (config.precision === 'fp16') scaling = new LossScaling(optimizer, options.lossScale, state.lossScale, hooks.log)
  } catch (err) {
    restorePrecision()
    closeAll()
    throw err
  }
  const rng = new Rng(state.rng)
  const lrAt = linearWarmupDecay({ peak: config.learningRate, total: config.totalSteps, warmupRatio: config.warmupRatio })
  const losses: number[] = []
  const started = Date.now()
  const stopAt = Math.min(config.totalSteps, options.stopAtStep ?? Infinity)
  let stopped = false
  let checkpointDir: string | null = null
  let savedStep = existing.length > 0 ? state.step : -1
  let lastEval: Record<string, number> | null = null
  const save = async () => {
    state.rng = rng.state()
    if (scaling) state.lossScale = scaling.state()
    state.optimizer.stepCount = optimizer.stepCount
    checkpointDir = await saveCheckpoint(options.runDir, { config: bert, weights }, optimizer, state)
    savedStep = state.step
    await pruneCheckpoints(options.runDir, options.keepCheckpoints ?? 0)
    hooks.checkpoint?.({ step: state.step, dir: checkpointDir })
  }
  const runEval = async () => {
    if (!opened.dev) return
    lastEval = await evaluate(weights, bert, config, objectives, opened.dev, batchOptions, hooks.log)
    hooks.metrics?.(Object.entries(lastEval).map(([name, value]) => ({ name, step: state.step, value })))
  }

  // A step's values (losses, accuracies, the norm) are read while the next step records, so the device
  // works through step n as the host records step n+1: `unreported` is the last step's read and its
  // report, run by `settle` once the next step has issued its reads (or at a pause). fp16 with the
  // scale on the host reads them, the norm among them, before its update, which overflow may skip.
  let unreported: { read: Promise<void>; report: () => void } | null = null
  const settle = async () => {
    const r = unreported
    unreported = null
    if (!r) return
    await r.read
    r.report()
  }
  let lastReport = performance.now() // steps' times run from report to report, pauses (eval, checkpoint) excluded
  let pausedMs = 0

  try {
    while (state.step < config.totalSteps) {
      if (state.step >= stopAt || hooks.stopRequested?.()) {
        stopped = true
        break
      }
      const reads = new Readback()
      let grads: Grads | null = null
      let scaledLossSum = 0 // the loss times the loss scale (fp16), divided out when the step is reported
      // fp16, scale on the host: the scale this step uses (on the device: known when the step is reported)
      const hostScale = scaling?.hostScale() ?? 1
      const scaleTensor = scaling?.deviceScale() ?? null
      let cosine = 0
      let tokens = 0
      const statParts: [ObjectiveStats, number][] = []
      const kdParts: [Map<string, number>, number][] = []
      const scale = 1 / config.gradientAccumulation
      for (let micro = 0; micro < config.gradientAccumulation; micro++) {
        const draw = drawBatch(() => stream.at(state.dataPosition++), config.batchSize, objectives, batchOptions, rng)
        tokens += draw.batch.tokens
        const inputs = { batch: draw.batch, nspLabels: draw.nspLabels, sopLabels: draw.sopLabels }
        // the dropout masks of a step, replayed when DGC's projection runs a second pass
        const seeds: number[] = []
        let replay = -1
        const ctx: ForwardContext = {
          training: true,
          nextSeed: () => {
            if (replay >= 0) return seeds[replay++]
            const s = rng.nextUint32()
            seeds.push(s)
            return s
          },
        }
        // the teacher's outputs on this batch, computed before (outside) the student's tape
        const taught: TeacherOutputs | null = teacher ? teacherOutputs(teacher.weights, teacher.bert, draw.batch, config.distill!.logitWeight > 0) : null
        const pass = (subset: readonly Objective[], withTeacher: boolean) => {
          let outputs: ObjectiveOutputs | null = null
          const kd = withTeacher && taught ? { teacher: taught, terms: config.distill! } : undefined
          const step = lossAndGrads(weights, () => {
            const r = objectiveLosses(weights, bert, subset, config.objectiveWeights, inputs, ctx, config.dgc, kd)
            outputs = r.outputs
            // fp16: the loss (and so every gradient) scaled up, divided back out of the values read
            return (scaleTensor ? r.total.mul(scale).mul(scaleTensor) : r.total.mul(scale * hostScale)) as tf.Scalar
          })
          return { ...step, outputs: outputs! as ObjectiveOutputs }
        }
        const queue = (loss: tf.Scalar, outputs: ObjectiveOutputs, withTeacher: boolean) => {
          reads.scalar(loss, (v) => (scaledLossSum += v))
          statParts.push([queueOutputs(outputs, reads), scale])
          if (withTeacher) kdParts.push([queueDistill(outputs, reads), scale])
        }
        let microGrads: Grads
        if (project) {
          const mlm = pass(['mlm'], true)
          replay = 0
          const rest = pass(aux, false)
          const corrected = await projectConflicting(mlm.grads, rest.grads) // reads the gradients' cosine: DGC's one wait inside a step
          cosine += corrected.cosine * scale
          microGrads = corrected.grads
          queue(mlm.loss, mlm.outputs, true)
          queue(rest.loss, rest.outputs, false)
        } else {
          const all = pass(objectives, true)
          microGrads = all.grads
          queue(all.loss, all.outputs, true)
        }
        if (taught) tf.dispose([...taught.hidden, ...(taught.mlmLogits ? [taught.mlmLogits] : [])])
        grads = grads ? accumulate(grads, microGrads) : microGrads
      }
      scaleTensor?.dispose()
      const clipped = optimizer.clipGradients(grads!, config.maxGradNorm, scaling?.clipScale(hostScale) ?? 1)
      const lr = lrAt(state.step)
      let gradNorm = NaN
      reads.scalar(clipped.norm, (v) => (gradNorm = v))
      // fp16: gradients that overflowed skip the update (the step still counts, as with GradScaler)
      let apply = true
      if (scaling && !scaling.onDevice) {
        await reads.read()
        apply = scaling.applies(gradNorm, state.step + 1, hostScale)
      }
      if (apply) optimizer.step(clipped.grads, lr) // on the device scale: skipped there on overflow
      for (const g of clipped.grads.values()) g.dispose()
      state.step++
      const at = state.step

      const report = () => {
        const stepScale = scaling?.onDevice ? scaling.settle(gradNorm, at) : hostScale
        const lossSum = scaledLossSum / stepScale
        const stats: ObjectiveStats = new Map()
        for (const [part, weight] of statParts) addStats(stats, part, weight)
        const kdSums = new Map<string, number>()
        for (const [part, weight] of kdParts) for (const [k, v] of part) kdSums.set(k, (kdSums.get(k) ?? 0) + v * weight)
        state.lastLoss = lossSum
        losses.push(lossSum)
        const now = performance.now()
        const seconds = (now - lastReport - pausedMs) / 1000
        lastReport = now
        pausedMs = 0
        const elapsed = (Date.now() - started) / 1000
        const perStep = elapsed / losses.length
        const progress: TrainProgress = {
          step: at,
          totalSteps: config.totalSteps,
          loss: lossSum,
          lr,
          gradNorm,
          tokensPerSec: tokens / seconds,
          etaSeconds: perStep * (config.totalSteps - at),
          backend,
          elapsedSeconds: elapsed,
        }
        hooks.progress?.(progress)
        if (at % config.logEvery === 0 || at === config.totalSteps) {
          hooks.metrics?.([
            { name: 'loss', step: at, value: lossSum },
            { name: 'lr', step: at, value: lr },
            ...(Number.isFinite(gradNorm) ? [{ name: 'grad_norm', step: at, value: gradNorm }] : []),
            { name: 'tokens_per_sec', step: at, value: progress.tokensPerSec },
            ...(scaling ? [{ name: 'loss_scale', step: at, value: stepScale }] : []),
            ...[...stats].flatMap(([o, s]) => [
              { name: `loss/${o}`, step: at, value: s.loss },
              { name: `acc/${o}`, step: at, value: s.count ? s.correct / s.count : 0 },
            ]),
            ...(project ? [{ name: 'dgc/cosine', step: at, value: cosine }] : []),
            ...[...kdSums].map(([k, value]) => ({ name: `loss/${k}`, step: at, value })),
          ])
        }
      }
      if (scaling && !scaling.onDevice) report()
      else {
        const read = reads.read() // issued now; awaited once the next step is recorded
        read.catch(() => {}) // not unhandled meanwhile: the error surfaces where it is awaited
        await settle() // the previous step's values, read while this step recorded
        unreported = { read, report }
      }

      if (tuningDue()) {
        // webgpu: the product classes this step recorded first, tuned on the device (matmul-tune.ts)
        await settle()
        const pauseStart = performance.now()
        await tuneBetweenSteps(hooks.log)
        pausedMs += performance.now() - pauseStart
      }

      const evalDue = config.evalEvery > 0 && at % config.evalEvery === 0 && at < config.totalSteps
      const saveDue = config.checkpointEvery > 0 && at % config.checkpointEvery === 0
      if (evalDue || saveDue) {
        await settle() // metrics in step order, and state.lastLoss in the checkpoint
        const pauseStart = performance.now()
        if (evalDue) await runEval()
        if (saveDue) await save()
        pausedMs += performance.now() - pauseStart
      }
    }
    await settle()
    if (state.step === config.totalSteps && !stopped) await runEval()
    if (savedStep !== state.step) await save()
    return { step: state.step, stopped, losses, checkpointDir, parameters: parameterCount(weights), eval: lastEval }
  } finally {
    restorePrecision()
    closeAll()
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
