// The fine-tuning loop: one function, like the pretraining loop, over a CLUE task. Each epoch shuffles
// the training features, steps AdamW through a linear warm-up/decay schedule, then scores the dev split;
// the best epoch by the task's dev metric is written as a HuggingFace folder (<runDir>/best, with
// id2label) and its dev predictions kept for inspection. Strategy terms are added to the task loss
// (docs/strategies.md). Each epoch ends with a checkpoint (finetune-checkpoint.ts) that `resumeFrom`
// continues from exactly. Talks to the outside only through hooks.
import fs from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { lossAndGrads } from '../compute/grads'
import { finetuneMicroBatch, webgpuBindingWarnings } from './estimate'
import { Readback } from '../compute/read'
import { Rng } from '../compute/rng'
import type { ForwardContext, Weights } from '../model/bert'
import { spanLoss, crossEntropy } from '../model/heads'
import { checkpointFromTensors, writeHfCheckpoint, type Tensor32 } from '../model/hf-checkpoint'
import { disposeWeights } from '../model/weights'
import { Vocab } from '../text/vocab'
import { BertTokenizer } from '../text/tokenizer'
import { submissionText, TASK_SPECS, type Example, type TaskSpec } from '../tasks'
import type { FinetuneConfig } from './finetune-config'
import { choiceCount, packExamples, readSplits, readTaskExamples, splitExamples } from './finetune-data'
import { evaluate, inspect, majorityShare, type Inspection } from './finetune-eval'
import { batchInputs, buildBatch, loadTaskModel, taskForward, type Feature, type TaskModel, type TaskOutput } from './finetune-model'
import { createOptimizer } from './optimizers'
import { linearWarmupDecay } from './schedule'
import { hiddenStateLoss, softLabelKl } from './strategies/kd'
import { choiceBce } from './strategies/smoothing'
import { adversarialDelta, MomentumTeacher, symmetricKl } from './strategies/smart'
import { augmentText, dictionarySynonyms, embeddingSynonyms, type AugmentOperation } from './strategies/augment'
import type { MetricValue } from './loop'
import { assignWeights, pruneCheckpoints } from './checkpoint'
import { readFinetuneCheckpoint, restoreBest, saveFinetuneCheckpoint } from './finetune-checkpoint'
import { badInput } from '../errors'
import { tuningDue } from '../compute/webgpu/matmul-choice'
import { tuneBetweenSteps } from '../compute/webgpu/matmul-tune'
import { usePrecision } from '../compute/precision'
import { LossScaling, type LossScaleOptions, type LossScaleState } from './loss-scale'

export interface FinetuneProgress {
  step: number
  totalSteps: number
  epoch: number
  loss: number
  lr: number
  elapsedSeconds: number
  backend: string
}

export interface EpochResult {
  epoch: number
  step: number
  dev: Record<string, number>
  best: boolean
}

export interface FinetuneHooks {
  progress?(p: FinetuneProgress): void
  metrics?(points: MetricValue[]): void
  epoch?(e: EpochResult): void
  log?(line: string): void
  /** An epoch checkpoint was written (after that epoch's metrics and epoch hooks). */
  checkpoint?(c: { step: number; epoch: number; dir: string }): void
  stopRequested?(): boolean
}

export interface FinetuneResult {
  stopped: boolean
  step: number
  epochs: EpochResult[]
  /** The task's metric that picks the best epoch, and that epoch's dev metrics. */
  metric: string
  best: { epoch: number; dev: Record<string, number>; dir: string } | null
  labels: string[]
  reinitialised: string[]
  augmented: number
  trainExamples: number
  devExamples: number
  /** Accuracy of always answering the most frequent dev label (classification and choice tasks). */
  majority: number | null
  /** The SMART term λ·symKL at each logged step (absent without SMART). */
  smartTerms?: number[]
}

export const bestDirOf = (runDir: string) => path.join(runDir, 'best')
export const inspectionFileOf = (runDir: string) => path.join(runDir, 'predictions-dev.json')

const logitsOf = (o: TaskOutput): tf.Tensor2D => o.logits ?? (tf.concat([o.start!, o.end!], 0) as tf.Tensor2D)

function taskLoss(o: TaskOutput, b: ReturnType<typeof buildBatch>): tf.Scalar {
  return o.logits ? crossEntropy(o.logits, b.labels) : spanLoss(o.start!, o.end!, b.starts!, b.ends!)
}

/** The augmented copies of text examples (EDA, strategies/augment.ts). */
async function augmentExamples(config: FinetuneConfig, model: TaskModel, train: Example[], rng: Rng): Promise<Example[]> {
  const a = config.strategies.augment!
  if (TASK_SPECS[config.task].shape === 'span' || TASK_SPECS[config.task].shape === 'choice') {
    throw badInput(`strategies.augment: ${config.task} is not augmented (only single-sentence and pair tasks; spans and choices would lose their alignment)`)
  }
  let source
  if (a.synonyms === 'dictionary') {
    if (!a.dictionary) throw badInput('strategies.augment.dictionary: a synonym file is needed when synonyms is "dictionary"')
    source = dictionarySynonyms(a.dictionary)
  } else {
    const table = (await model.weights.get('bert.embeddings.word_embeddings.weight')!.data()) as Float32Array
    source = embeddingSynonyms(model.vocab, table, model.config.hidden_size)
  }
  const ops = a.operations as AugmentOperation[]
  const out: Example[] = []
  for (const e of train) {
    if (e.kind !== 'text') continue
    const seen = new Set([`${e.textA}\u0000${e.textB ?? ''}`])
    for (let k = 0; k < a.copies; k++) {
      const op = ops[rng.int(ops.length)]
      const textA = augmentText(e.textA, op, a.ratio, source, rng)
      const textB = e.textB === undefined ? undefined : augmentText(e.textB, op, a.ratio, source, rng)
      const key = `${textA}\u0000${textB ?? ''}`
      if (seen.has(key)) continue
      seen.add(key)
      out.push({ ...e, textA, textB })
    }
  }
  return out
}

/** Writes the weights as a HuggingFace folder (atomically: a side directory renamed into place). */
export async function saveTaskModel(dir: string, model: TaskModel, weights: Weights, labels: string[]): Promise<void> {
  const head = model.arch.heads[0]
  const config = { ...(model.config as TaskModel['config'] & { tie_word_embeddings: boolean }) }
  delete config.id2label
  delete config.label2id
  if (head.kind === 'sequence') {
    config.id2label = Object.fromEntries(labels.map((l, i) => [String(i), l]))
    config.label2id = Object.fromEntries(labels.map((l, i) => [l, i]))
  }
  const tensors = new Map<string, Tensor32>()
  for (const [name, v] of weights) tensors.set(name, { shape: v.shape, data: (await v.data()) as Float32Array })
  const ckpt = checkpointFromTensors(config, model.vocab, model.lowercase, tensors, { multipleChoice: head.kind === 'choice' })
  const tmp = `${dir}.tmp-${process.pid}`
  fs.rmSync(tmp, { recursive: true, force: true })
  await writeHfCheckpoint(tmp, ckpt)
  fs.rmSync(dir, { recursive: true, force: true })
  fs.renameSync(tmp, dir)
}

function tokenizerOf(model: TaskModel): BertTokenizer {
  return new BertTokenizer(new Vocab(model.vocab), { lowercase: model.lowercase })
}

export interface FinetuneOptions {
  runDir: string
  backend?: string
  /** Continue from this epoch checkpoint (finetune-checkpoint.ts) instead of from the start. */
  resumeFrom?: string
  /** Newest epoch checkpoints kept on disk (0 keeps all, default 2). */
  keepCheckpoints?: number
  /** fp16 runs: the loss scaler's start, growth interval and where it lives (loss-scale.ts; defaults: PyTorch's GradScaler, on the device). */
  lossScale?: LossScaleOptions
}

export async function finetune(config: FinetuneConfig, options: FinetuneOptions, hooks: FinetuneHooks = {}): Promise<FinetuneResult> {
  const spec: TaskSpec = TASK_SPECS[config.task]
  const backend = options.backend ?? tf.getBackend()
  let rng = new Rng((config.seed ^ 0x66696e65) >>> 0)
  const data = await readTaskExamples(config)
  let train = data.train
  const { dev, labels, numChoices } = data

  const model = await loadTaskModel(config.init, spec.shape, labels.length, { dropout: config.dropout, seed: config.seed })
  const weights = model.weights
  if (model.reinitialised.length) hooks.log?.(`initialised fresh: ${model.reinitialised.join(', ')}`)
  for (const line of webgpuBindingWarnings(model.config, finetuneMicroBatch(config, numChoices))) hooks.log?.(line)
  const disposables: { dispose(): void }[] = []
  let restorePrecision = () => {}
  try {
    let augmented = 0
    if (config.strategies.augment) {
      const extra = await augmentExamples(config, model, train, rng)
      augmented = extra.length
      train = [...train, ...extra]
      hooks.log?.(`augmentation added ${augmented} examples to ${train.length - augmented}`)
    }
    const tok = tokenizerOf(model)
    const pack = { maxSeqLength: config.maxSeqLength, docStride: config.docStride, maxQueryLength: config.maxQueryLength }
    const trainFeatures = packExamples(spec, tok, train, labels, numChoices, pack)
    const devFeatures = packExamples(spec, tok, dev, labels, numChoices, pack)

    // teachers: a distillation teacher (frozen), a momentum teacher for SMART's Bregman term
    const kd = config.strategies.distill
    let teacher: TaskModel | null = null
    if (kd) {
      teacher = await loadTaskModel(kd.teacher, spec.shape, labels.length, { dropout: 0, seed: config.seed })
      disposables.push({ dispose: () => disposeWeights(teacher!.weights) })
      const headFresh = teacher.reinitialised.filter((n) => !n.startsWith('bert.'))
      if (headFresh.length && kd.logitWeight > 0) hooks.log?.(`distill: the teacher has no trained ${headFresh.join(', ')}; its logits are untrained`)
    }
    const smart = config.strategies.smart
    const momentum = smart?.bregman ? new MomentumTeacher(weights, smart.bregman.momentum) : null
    if (momentum) disposables.push(momentum)
    const smoothing = config.strategies.choiceSmoothing

    const optimizer = createOptimizer('adamw', weights, { weightDecay: config.weightDecay, eps: 1e-6 })
    disposables.push(optimizer)
    const stepsPerEpoch = Math.ceil(trainFeatures.length / config.batchSize)
    const totalSteps = stepsPerEpoch * config.epochs
    const lrAt = linearWarmupDecay({ peak: config.learningRate, total: totalSteps, warmupRatio: config.warmupRatio })
    const ctx: ForwardContext = { training: true, nextSeed: () => rng.nextUint32() }
    const started = Date.now()
    const epochs: EpochResult[] = []
    const smartTerms: number[] = []
    let best: FinetuneResult['best'] = null
    let step = 0
    let stopped = false
    // the last step's values being read, and its report once they are (loop.ts does the same)
    let unreported: { read: Promise<void>; report: () => void } | null = null
    const settle = async () => {
      const r = unreported
      unreported = null
      if (!r) return
      await r.read
      r.report()
    }
    let order = trainFeatures.map((_, i) => i)
    let firstEpoch = 1
    let resumedScale: LossScaleState | undefined
    if (options.resumeFrom) {
      const ck = await readFinetuneCheckpoint(options.resumeFrom)
      if (ck.state.order.length !== order.length) throw badInput(`${options.resumeFrom}: the checkpoint has ${ck.state.order.length} training features, the data now packs ${order.length}; the dataset or config changed`)
      assignWeights(weights, ck.weights)
      optimizer.loadState(ck.optimizer, ck.state.optimizerSteps)
      rng = new Rng(ck.state.rng)
      order = ck.state.order
      step = ck.state.step
      epochs.push(...ck.state.epochs)
      smartTerms.push(...ck.state.smartTerms)
      best = ck.state.best ? { ...ck.state.best, dir: bestDirOf(options.runDir) } : null
      await restoreBest(options.resumeFrom, bestDirOf(options.runDir), inspectionFileOf(options.runDir))
      firstEpoch = ck.state.epoch + 1
      resumedScale = ck.state.lossScale
      if (momentum && ck.momentum) assignWeights(momentum.weights, ck.momentum)
      else if (momentum) hooks.log?.('resumed: the checkpoint has no SMART momentum teacher; it restarts from the checkpoint weights')
      hooks.log?.(`resumed after epoch ${ck.state.epoch} (step ${step})`)
    }
    // fp16 as pretraining's loop: the loss scaled up so that small gradients survive f16
    restorePrecision = usePrecision(config.precision)
    const scaling = config.precision === 'fp16' ? new LossScaling(optimizer, options.lossScale, resumedScale, hooks.log) : null

    outer: for (let epoch = firstEpoch; epoch <= config.epochs; epoch++) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.int(i + 1)
        ;[order[i], order[j]] = [order[j], order[i]]
      }
      for (let s = 0; s < stepsPerEpoch; s++) {
        if (hooks.stopRequested?.()) {
          stopped = true
          break outer
        }
        const batch = buildBatch(order.slice(s * config.batchSize, (s + 1) * config.batchSize).map((k) => trainFeatures[k]))
        const inputs = batchInputs(batch)
        // constants of this step's extra terms, computed outside the gradient tape
        const kept: tf.Tensor[] = []
        let teacherOut: { logits: tf.Tensor2D; hidden: tf.Tensor3D[] } | null = null
        if (teacher) {
          teacherOut = tf.tidy(() => {
            const o = taskForward(teacher!, teacher!.weights, inputs, batch, { training: false })
            return { logits: logitsOf(o), hidden: o.hidden }
          })
          kept.push(teacherOut.logits, ...teacherOut.hidden)
        }
        let delta: tf.Tensor3D | null = null
        if (smart) {
          const clean = tf.tidy(() => logitsOf(taskForward(model, weights, inputs, batch, ctx)))
          delta = adversarialDelta([batch.rows, batch.length, model.config.hidden_size], (d) => logitsOf(taskForward(model, weights, inputs, batch, ctx, d)), clean, smart, rng)
          clean.dispose()
          kept.push(delta)
        }
        const emaLogits = momentum ? tf.tidy(() => logitsOf(taskForward(model, momentum.weights, inputs, batch, { training: false }))) : null
        if (emaLogits) kept.push(emaLogits)

        const parts: Record<string, tf.Scalar> = {}
        // fp16: the scale this step uses (on the device: known when the step is reported)
        const hostScale = scaling?.hostScale() ?? 1
        const scaleTensor = scaling?.deviceScale() ?? null
        const result = lossAndGrads(weights, () => {
          const out = taskForward(model, weights, inputs, batch, ctx)
          const terms: Record<string, tf.Scalar> = { task: taskLoss(out, batch) }
          if (smoothing && out.logits) terms.smoothing = choiceBce(out.logits, batch.labels, batch.choiceMask).mul(smoothing.weight)
          if (kd && teacherOut) {
            if (kd.logitWeight > 0) terms.kd_logits = softLabelKl(logitsOf(out), teacherOut.logits, kd.temperature).mul(kd.logitWeight)
            if (kd.hiddenWeight > 0) terms.kd_hidden = hiddenStateLoss(out.hidden, teacherOut.hidden, inputs.attentionMask, { layerMap: kd.layerMap, loss: kd.hiddenLoss }).mul(kd.hiddenWeight)
          }
          if (smart && delta) {
            const adv = taskForward(model, weights, inputs, batch, ctx, delta)
            terms.smart = symmetricKl(logitsOf(out), logitsOf(adv)).mul(smart.weight)
            if (emaLogits) terms.bregman = symmetricKl(logitsOf(out), emaLogits).mul(smart.bregman!.weight)
          }
          for (const [k, v] of Object.entries(terms)) parts[k] = tf.keep(v)
          const total = tf.addN(Object.values(terms)) as tf.Scalar
          // fp16: the loss (and so every gradient) scaled up; the scale is divided back out of the loss read
          return scaleTensor ? total.mul(scaleTensor) : scaling ? total.mul(hostScale) : total
        })
        tf.dispose([...kept, ...Object.values(inputs), ...(scaleTensor ? [scaleTensor] : [])])
        // the step's loss and terms, read with one wait while the next step records (loop.ts does the same)
        const reads = new Readback()
        let loss = NaN
        const partValues: Record<string, number> = {}
        reads.scalar(result.loss, (v) => (loss = v))
        for (const [k, v] of Object.entries(parts)) reads.scalar(v, (x) => (partValues[k] = x))
        const clipped = optimizer.clipGradients(result.grads, config.maxGradNorm, scaling?.clipScale(hostScale) ?? 1)
        let gradNorm = NaN
        if (scaling) reads.scalar(clipped.norm, (v) => (gradNorm = v))
        else clipped.norm.dispose()
        const lr = lrAt(step)
        let apply = true
        if (scaling && !scaling.onDevice) {
          // the scale on the host: the norm read before the update, which overflow skips
          await reads.read()
          apply = scaling.applies(gradNorm, step + 1, hostScale)
        }
        if (apply) optimizer.step(clipped.grads, lr) // on the device scale: skipped there on overflow
        for (const g of clipped.grads.values()) g.dispose()
        momentum?.update(weights)
        step++
        const at = step
        const report = () => {
          const stepScale = scaling?.onDevice ? scaling.settle(gradNorm, at) : hostScale
          loss /= stepScale
          if (partValues.smart !== undefined) smartTerms.push(partValues.smart)
          hooks.metrics?.([
            { name: 'loss', step: at, value: loss },
            { name: 'lr', step: at, value: lr },
            ...(scaling ? [{ name: 'loss_scale', step: at, value: stepScale }] : []),
            ...Object.entries(partValues).filter(([k]) => Object.keys(partValues).length > 1 || k !== 'task').map(([k, value]) => ({ name: `loss/${k}`, step: at, value })),
          ])
          hooks.progress?.({ step: at, totalSteps, epoch, loss, lr, elapsedSeconds: (Date.now() - started) / 1000, backend })
        }
        if (scaling && !scaling.onDevice) report()
        else {
          const read = reads.read()
          read.catch(() => {}) // not unhandled meanwhile: the error surfaces where it is awaited
          await settle()
          unreported = { read, report }
        }
        if (tuningDue()) {
          // webgpu: product classes recorded for the first time (a longer batch, say), tuned on the device (matmul-tune.ts)
          await settle()
          await tuneBetweenSteps(hooks.log)
        }
      }
      await settle() // the epoch's last step, before its evaluation and checkpoint
      const ev = await evaluate(model, weights, spec, dev, devFeatures, { batchSize: config.evalBatchSize, maxAnswerTokens: config.maxAnswerTokens, log: hooks.log })
      const score = ev.metrics[spec.metric] ?? 0
      const isBest = best === null || score > (best.dev[spec.metric] ?? -1)
      hooks.metrics?.([...Object.entries(ev.metrics).map(([k, value]) => ({ name: `dev/${k}`, step, value })), { name: 'epoch', step, value: epoch }])
      const result: EpochResult = { epoch, step, dev: ev.metrics, best: isBest }
      epochs.push(result)
      if (isBest) {
        const dir = bestDirOf(options.runDir)
        await saveTaskModel(dir, model, weights, labels)
        best = { epoch, dev: ev.metrics, dir }
        writeInspection(options.runDir, inspect(config.task, labels, dev, devFeatures, ev))
      }
      hooks.epoch?.(result)
      hooks.log?.(`epoch ${epoch}: ${Object.entries(ev.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}${isBest ? ' (best)' : ''}`)
      const dir = await saveFinetuneCheckpoint(options.runDir, weights, optimizer, {
        epoch,
        step,
        rng: rng.state(),
        order,
        optimizerSteps: optimizer.stepCount,
        epochs,
        best: best ? { epoch: best.epoch, dev: best.dev } : null,
        smartTerms,
        ...(scaling ? { lossScale: scaling.state() } : {}),
      }, { dir: bestDirOf(options.runDir), inspection: inspectionFileOf(options.runDir) }, momentum?.weights)
      await pruneCheckpoints(options.runDir, options.keepCheckpoints ?? 2)
      hooks.checkpoint?.({ step, epoch, dir })
    }
    await settle() // a stop between steps leaves the last one being read
    return {
      stopped,
      step,
      epochs,
      metric: spec.metric,
      best,
      labels,
      reinitialised: model.reinitialised,
      augmented,
      trainExamples: train.length,
      devExamples: dev.length,
      majority: spec.shape === 'span' ? null : majorityShare(devFeatures),
      ...(smart ? { smartTerms } : {}),
    }
  } finally {
    restorePrecision()
    for (const d of disposables) d.dispose()
    disposeWeights(weights)
  }
}

function writeInspection(runDir: string, inspection: Inspection): void {
  const file = inspectionFileOf(runDir)
  fs.mkdirSync(runDir, { recursive: true })
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(inspection))
  fs.renameSync(`${file}.tmp`, file)
}

export interface PredictOutput {
  metrics: Record<string, number>
  examples: number
  submission: string
}

/** Runs a fine-tuned folder (a run's best) over a split and renders CLUE's submission file text. */
export async function predictSplit(modelDir: string, task: FinetuneConfig['task'], dataDir: string, split: string, o: Pick<FinetuneConfig, 'maxSeqLength' | 'docStride' | 'maxQueryLength' | 'maxAnswerTokens' | 'evalBatchSize'>): Promise<PredictOutput> {
  const spec = TASK_SPECS[task]
  const splits = await readSplits(dataDir)
  const examples = splitExamples(task, splits.get(split) ?? [])
  if (examples.length === 0) throw badInput(`${dataDir}: no ${split} examples of ${task}`)
  const cfg = JSON.parse(fs.readFileSync(path.join(modelDir, 'config.json'), 'utf8')) as { id2label?: Record<string, string> }
  const labels = spec.shape === 'single' || spec.shape === 'pair' ? Object.keys(cfg.id2label ?? {}).sort((a, b) => Number(a) - Number(b)).map((k) => cfg.id2label![k]) : []
  const model = await loadTaskModel(modelDir, spec.shape, labels.length, { seed: 0 })
  try {
    const headFresh = model.reinitialised.filter((n) => !n.startsWith('bert.'))
    if (headFresh.length) throw badInput(`${modelDir}: not fine-tuned for ${task} (no trained ${headFresh.join(', ')})`)
    const tok = tokenizerOf(model)
    const numChoices = choiceCount(examples)
    const known = new Set(labels)
    const scored = examples.map((e) => (e.kind === 'text' && e.label !== null && !known.has(e.label) ? { ...e, label: null } : e))
    const features = packExamples(spec, tok, scored, labels, numChoices, { maxSeqLength: o.maxSeqLength, docStride: o.docStride, maxQueryLength: o.maxQueryLength })
    const ev = await evaluate(model, model.weights, spec, scored, features, { batchSize: o.evalBatchSize, maxAnswerTokens: o.maxAnswerTokens })
    return { metrics: ev.metrics, examples: examples.length, submission: submissionText(task, scored, ev.predictions, labels) }
  } finally {
    disposeWeights(model.weights)
  }
}

export type { Feature }
