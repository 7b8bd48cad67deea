// A run on PyTorch distributed on this machine: find Python and torch, refuse what torch cannot honour,
// write the training stream as shards and the job folder (the run's folder), start torchrun, and turn the
// trainer's JSON lines into the same hooks the local engine's worker reports through — so the service
// records a torch run exactly as a local one (metrics, checkpoints, progress, the final model).
import { basename, join } from 'node:path'
import fs from 'node:fs'
import { readBertConfig } from '../model/checkpoint'
import type { BertConfig } from '../model/config'
import { WorkbenchError } from '../errors'
import { activeObjectives, presetModelConfig, vocabOf, type TrainConfig } from '../train/config'
import { readTokenManifest } from '../text/token-shards'
import type { TrainProgress, TrainResult } from '../train/loop'
import type { WorkerHooks } from '../train/run-worker'
import { copyTrainer, writeJobFile, type TorchJob } from './job'
import { checkTorchPlan, describeTorch } from './plan'
import { findTorch } from './python'
import type { EventLine, MetricLine } from './records'
import { metricPoints } from './records'
import { materialiseShards } from './shards'
import { JsonLinesTail } from './tail'
import { failureReason, freePort, startTorchrun } from './torchrun'

export interface TorchRunOptions {
  runDir: string
  keepCheckpoints?: number
  /** Seconds between reads of the trainer's lines (default 0.5). */
  pollSeconds?: number
  /** Extra environment for torchrun (tests: thread counts). */
  env?: NodeJS.ProcessEnv
}

/** The BERT config a run trains: a preset or inline config, or the config.json of `model.from`. */
export async function bertConfigOf(config: TrainConfig): Promise<BertConfig> {
  return presetModelConfig(config.model) ?? readBertConfig((config.model as { from: string }).from)
}

/** Initial weights for `model.from` (its model.safetensors); none for a fresh model (the trainer inits HF-style from the seed). */
export function initialWeightsOf(config: TrainConfig): string | undefined {
  if (!('from' in config.model)) return undefined
  const file = join(config.model.from, 'model.safetensors')
  if (!fs.existsSync(file)) throw new WorkbenchError('NOT_FOUND', `model.from ${config.model.from}: no model.safetensors (the torch engine reads safetensors checkpoints)`)
  return file
}

export async function trainWithTorchrun(config: TrainConfig, options: TorchRunOptions, hooks: WorkerHooks = {}, signal?: AbortSignal): Promise<TrainResult> {
  const probe = await findTorch(config.torch?.python, { ...process.env, ...options.env })
  const torch = checkTorchPlan(config, probe)
  const backend = describeTorch(probe, torch)
  hooks.backend?.({ name: `torch ${probe.torch} ${torch.device !== 'cpu' && probe.cuda ? 'cuda' : 'cpu'}×${torch.nprocPerNode}`, detail: backend })
  hooks.log?.(`torch engine: ${backend}`)
  const bert = await bertConfigOf(config)
  const { runDir } = options
  fs.mkdirSync(runDir, { recursive: true })
  const shards = await materialiseShards(config, bert, runDir, { signal, onProgress: (done, total) => hooks.preparing?.({ done, total, unit: 'records', message: 'building token shards' }) })
  const tagged = activeObjectives(config).filter((o) => o === 'pos' || o === 'ner')
  if (tagged.length && readTokenManifest(shards).tags === null) {
    throw new WorkbenchError('BAD_INPUT', `objectives ${tagged.join(', ')} learn the dataset's tags, and the training data has none (tag the dataset first, or train on an imported dataset)`)
  }
  const job: TorchJob = {
    run: config,
    model: bert,
    data: { kind: 'shards', dir: shards },
    init: initialWeightsOf(config),
    vocab: vocabOf(config),
    keepCheckpoints: options.keepCheckpoints ?? 0,
  }
  const script = await copyTrainer(runDir)
  const jobFile = await writeJobFile(runDir, job)
  return followTorchrun(config, { ...options, python: probe.python, script, jobFile, nprocPerNode: torch.nprocPerNode, maxRestarts: torch.maxRestarts, backend: `torch ${probe.torch} (${probe.python})` }, hooks, signal)
}

/** Starts torchrun on a written job folder and reports through hooks until it exits. */
export async function followTorchrun(
  config: TrainConfig,
  o: TorchRunOptions & { python: string; script: string; jobFile: string; nprocPerNode: number; maxRestarts: number; backend: string },
  hooks: WorkerHooks,
  signal?: AbortSignal,
): Promise<TrainResult> {
  const { runDir } = o
  fs.rmSync(join(runDir, 'STOP'), { force: true })
  const proc = startTorchrun(
    { python: o.python, script: o.script, job: o.jobFile, runDir, nprocPerNode: o.nprocPerNode, maxRestarts: o.maxRestarts, port: await freePort(), rdzvId: `mengzi-${basename(runDir)}` },
    { ...process.env, ...o.env },
  )
  const onAbort = () => proc.stop()
  if (signal?.aborted) onAbort()
  signal?.addEventListener('abort', onAbort)

  const losses: number[] = []
  let parameters = 0
  let checkpointDir: string | null = null
  let lastCheckpointStep: number | null = null
  let lastEval: Record<string, number> | null = null
  let done: Extract<EventLine, { event: 'done' }> | null = null
  let started = Date.now()
  let firstStep = 0
  const metrics = new JsonLinesTail<MetricLine>(join(runDir, 'metrics.jsonl'), (line) => {
    const points = metricPoints(line)
    if (points.length === 0) return
    hooks.metrics?.(points)
    if (typeof line.loss !== 'number') {
      // a held-out evaluation's line (eval/...): no step progress
      lastEval = Object.fromEntries(points.filter((p) => p.name.startsWith('eval/')).map((p) => [p.name, p.value]))
      return
    }
    const elapsed = (Date.now() - started) / 1000
    const perStep = line.step > firstStep ? elapsed / (line.step - firstStep) : null
    const progress: TrainProgress = {
      step: line.step,
      totalSteps: config.totalSteps,
      loss: line.loss,
      lr: line.lr,
      gradNorm: line.grad_norm,
      tokensPerSec: line.tokens_per_sec,
      etaSeconds: perStep === null ? null : perStep * (config.totalSteps - line.step),
      backend: o.backend,
      elapsedSeconds: elapsed,
    }
    losses.push(line.loss)
    hooks.progress?.(progress)
  }, (reason) => hooks.log?.(reason))
  const events = new JsonLinesTail<EventLine>(join(runDir, 'events.jsonl'), (e) => {
    if (e.event === 'start') {
      parameters = e.parameters
      started = Date.now()
      firstStep = e.step
    } else if (e.event === 'resume') hooks.log?.(`resumed from ${e.dir} at step ${e.step} (restart ${e.restart})`)
    else if (e.event === 'checkpoint') {
      checkpointDir = e.dir
      lastCheckpointStep = e.step
      hooks.checkpoint?.({ step: e.step, dir: e.dir })
    } else if (e.event === 'done') done = e
  })
  const poll = () => {
    metrics.poll()
    events.poll()
  }
  const timer = setInterval(poll, (o.pollSeconds ?? 0.5) * 1000)
  try {
    const exit = await proc.exited
    poll()
    const finished = done as Extract<EventLine, { event: 'done' }> | null
    if (exit.code !== 0 || !finished) {
      const reason = failureReason(proc.log) ?? `torchrun exited with ${exit.signal ?? `code ${exit.code}`}`
      if (signal?.aborted) throw new WorkbenchError('CANCELLED', `torch run cancelled: ${reason}`)
      const newest = lastCheckpointStep === null ? 'no checkpoint yet' : `its newest checkpoint is step ${lastCheckpointStep}; resuming the run continues from there`
      throw new Error(`torch run failed: ${reason}; torchrun gave up after ${o.maxRestarts} restart(s) (torch.maxRestarts); ${newest} (log: ${proc.log})`)
    }
    return { step: finished.step, stopped: finished.stopped, losses, checkpointDir, parameters, eval: lastEval }
  } finally {
    clearInterval(timer)
    signal?.removeEventListener('abort', onAbort)
  }
}
