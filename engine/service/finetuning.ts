// Fine-tuning runs as jobs: a run row (kind 'finetune') holding the full config, the loop in a worker
// thread, metric points (loss, dev/<metric> per epoch) in the database and as live events, the best
// epoch registered as a model, its dev scores as an evaluation, and predictions on demand. The job holds
// the run's lease (jobs.ts): a run whose process died shows 'interrupted' and, run again, continues from its
// last epoch checkpoint (trusted once that epoch's metric points are written), dropping points after it.
import fs from 'node:fs'
import path from 'node:path'
import { badInput, notFound, toErrorPayload, WorkbenchError } from '../errors'
import type { DataLayout } from '../paths'
import type { Db } from '../store/db'
import { getDataset } from '../store/datasets'
import { insertEvaluation } from '../store/evaluations'
import { deleteMetricsAfter, MetricWriter } from '../store/metrics'
import { forgetCheckpoints, listRunCheckpoints, recordCheckpoint } from '../store/checkpoints'
import { listJobLeases } from '../store/jobs'
import { checkpointsDir } from '../train/checkpoint'
import { getModel, insertModel, listModels } from '../store/models'
import { getRun, insertRun, setRunStatus } from '../store/runs'
import { isClueTask, type ClueTask } from '../tasks/spec'
import { applyOverrides } from '../train/config'
import { bestDirOf, inspectionFileOf, type FinetuneResult } from '../train/finetune'
import { parseFinetuneConfig, type FinetuneConfig } from '../train/finetune-config'
import type { Inspection } from '../train/finetune-eval'
import { finetuneInWorker, predictInWorker } from '../train/finetune-run-worker'
import type { WorkbenchEvent } from './api'
import type { JobManager } from './jobs'
import { prepareResume, runDirOf } from './training'

export interface FinetuneDeps {
  db: Db
  layout: DataLayout
  jobs: JobManager
  emit(event: WorkbenchEvent): void
}

/** Where a run starts: exactly one of a model id, a run id (its best or final checkpoint) or an HF folder. */
export interface FinetuneSource {
  modelId?: number
  runId?: number
  from?: string
}

export interface FinetuneRequest extends FinetuneSource {
  datasetId: number
  task?: 'auto' | ClueTask
  /** FinetuneConfig fields (learningRate, epochs, strategies, …). */
  config?: Record<string, unknown>
  /** `key=value` overrides, as the CLI's --set. */
  set?: string[]
  name?: string
  sweepId?: number
}

export interface FinetuneSummary {
  runId: number
  status: string
  task: string
  metric: string
  /** The best epoch's dev metrics; null until an epoch finished. */
  dev: Record<string, number> | null
  bestEpoch: number | null
  epochs: { epoch: number; dev: Record<string, number> }[]
  modelId: number | null
  reinitialised: string[]
  augmented: number
  majority: number | null
  error: string | null
}

const resultFileOf = (runDir: string) => path.join(runDir, 'result.json')

/** The folder a run starts from, and the model row it came from (when it did). */
export function resolveInit(db: Db, layout: DataLayout, src: FinetuneSource): { dir: string; baseModelId: number | null } {
  const given = [src.modelId, src.runId, src.from].filter((v) => v !== undefined).length
  if (given !== 1) throw badInput('give exactly one of a model id, a run id or a folder to start from')
  if (src.modelId !== undefined) {
    const m = getModel(db, src.modelId)
    if (!m) throw notFound(`model ${src.modelId} does not exist`)
    return { dir: m.dir, baseModelId: m.id }
  }
  if (src.runId !== undefined) {
    const run = getRun(db, src.runId)
    if (!run) throw notFound(`run ${src.runId} does not exist`)
    const model = listModels(db).find((m) => m.runId === run.id)
    if (model) return { dir: model.dir, baseModelId: model.id }
    const best = bestDirOf(runDirOf(layout, run.id))
    if (fs.existsSync(path.join(best, 'config.json'))) return { dir: best, baseModelId: null }
    throw badInput(`run ${run.id} (${run.status}) has no model to start from yet`)
  }
  const dir = path.resolve(src.from!)
  if (!fs.existsSync(path.join(dir, 'config.json'))) throw notFound(`${dir}: no config.json (a HuggingFace BERT folder)`)
  return { dir, baseModelId: null }
}

/** Validates a request and inserts its run, queued. */
export function prepareFinetuneRun(deps: FinetuneDeps, req: FinetuneRequest): number {
  const { config, datasetId, baseModelId } = finetuneConfigFor(deps, req)
  return insertRun(deps.db, { name: config.name, kind: 'finetune', config: config as unknown as Record<string, unknown>, seed: config.seed, datasetId, baseModelId, sweepId: req.sweepId })
}

/** The run config a request makes (its dataset, starting folder and teacher resolved), refused with the field at fault. */
export function finetuneConfigFor(deps: Pick<FinetuneDeps, 'db' | 'layout'>, req: FinetuneRequest): { config: FinetuneConfig; datasetId: number; baseModelId: number | null } {
  const { db, layout } = deps
  const ds = getDataset(db, req.datasetId)
  if (!ds) throw notFound(`dataset ${req.datasetId} does not exist`)
  const task = req.task && req.task !== 'auto' ? req.task : ds.kind
  if (!isClueTask(task)) throw badInput(`dataset ${ds.id} (${ds.name}) holds ${ds.kind}, not a CLUE task; choose --task`)
  const { dir, baseModelId } = resolveInit(db, layout, req)
  const raw = applyOverrides({ name: req.name ?? `${task}`, ...(req.config ?? {}), task, dataDir: ds.dir, init: dir }, req.set ?? [])
  // a distillation teacher named by model or run id becomes its folder
  const distill = (raw.strategies as { distill?: Record<string, unknown> } | undefined)?.distill
  if (distill && (distill.teacherModelId !== undefined || distill.teacherRunId !== undefined)) {
    const num = (v: unknown, what: string) => {
      if (v === undefined) return undefined
      if (!Number.isInteger(v)) throw badInput(`strategies.distill.${what}: expected an id, got ${JSON.stringify(v)}`)
      return v as number
    }
    distill.teacher = resolveInit(db, layout, { modelId: num(distill.teacherModelId, 'teacherModelId'), runId: num(distill.teacherRunId, 'teacherRunId') }).dir
    delete distill.teacherModelId
    delete distill.teacherRunId
  }
  return { config: parseFinetuneConfig(raw), datasetId: ds.id, baseModelId }
}

export interface FinetuneStart {
  runId: number
  jobId: string
  done: Promise<FinetuneSummary>
}

/**
 * Runs a queued fine-tuning run as a job; an interrupted, failed or cancelled one continues from its last
 * epoch checkpoint (or starts over when it has none).
 */
export function startFinetuneRun(deps: FinetuneDeps, runId: number): FinetuneStart {
  const { db, layout, jobs } = deps
  jobs.sweep()
  const run = getRun(db, runId)
  if (!run) throw notFound(`run ${runId} does not exist`)
  if (run.kind !== 'finetune') throw badInput(`run ${runId} is a ${run.kind} run, not a fine-tuning run`)
  if (run.status === 'running' || listJobLeases(db, { status: 'running', runId }).length > 0) throw new WorkbenchError('CONFLICT', `run ${runId} is already running`)
  if (run.status === 'completed') throw new WorkbenchError('CONFLICT', `run ${runId} is already completed`)
  const config = parseFinetuneConfig(run.config, `run ${runId} config`)
  const runDir = runDirOf(layout, runId)
  const changed = () => deps.emit({ type: 'runs.changed', id: runId })

  const job = jobs.start(
    'finetune',
    `Fine-tune ${config.name} on ${config.task} (run ${runId})`,
    async (ctx) => {
      // before the first await: the run reads `running` as soon as the job starts
      setRunStatus(db, runId, 'running')
      changed()
      const resumeFrom = run.status === 'queued' ? null : await prepareResume(db, runId, runDir)
      if (!resumeFrom) {
        deleteMetricsAfter(db, runId, -1)
        forgetCheckpoints(db, runId, [])
        fs.rmSync(runDir, { recursive: true, force: true })
      }
      const metrics = new MetricWriter(db, runId)
      const owned = () => !ctx.leaseLost.aborted
      try {
        const result = await finetuneInWorker(
          config,
          runDir,
          {
            backend: (b) => {
              if (!owned()) return
              setRunStatus(db, runId, 'running', { backend: b.name, backendDetail: b.detail })
              changed()
            },
            progress: (p) => ctx.progress(p.step, p.totalSteps, 'steps', `epoch ${p.epoch} · loss ${p.loss.toFixed(4)} · lr ${p.lr.toExponential(2)} · ${p.backend}`),
            metrics: (points) => {
              if (!owned()) return
              const wallTime = Date.now() / 1000
              for (const p of points) metrics.add(p.name, p.step, p.value, wallTime)
              if (points.some((p) => p.name.startsWith('dev/'))) metrics.flush()
              deps.emit({ type: 'run.metrics', runId, points: points.map((p) => ({ ...p, wallTime })) })
            },
            checkpoint: (c) => {
              if (!owned()) return
              // the epoch's points are in the database before its checkpoint is trusted (prepareResume)
              metrics.flush()
              recordCheckpoint(db, runId, c.step, c.dir)
              forgetCheckpoints(db, runId, listRunCheckpoints(db, runId).filter((r) => fs.existsSync(r.path)).map((r) => r.path))
            },
          },
          ctx.signal,
          { resumeFrom: resumeFrom ?? undefined, tuningCache: layout.tuningCache },
        )
        metrics.flush()
        if (!owned()) return finetuneSummary(db, layout, runId)
        fs.writeFileSync(resultFileOf(runDir), JSON.stringify(result, null, 2))
        if (result.best) {
          const bert = JSON.parse(fs.readFileSync(path.join(result.best.dir, 'config.json'), 'utf8')) as Record<string, unknown>
          const modelId = insertModel(db, { name: `${config.name} (run ${runId}, ${config.task})`, source: 'trained', dir: result.best.dir, config: bert, runId })
          insertEvaluation(db, { runId, modelId, datasetId: run.datasetId, split: 'dev', metrics: result.best.dev })
          deps.emit({ type: 'models.changed' })
        }
        const finished = !(ctx.signal.aborted || result.stopped)
        if (finished) {
          // a completed run keeps its best folder; its epoch checkpoints only served resuming
          fs.rmSync(checkpointsDir(runDir), { recursive: true, force: true })
          forgetCheckpoints(db, runId, [])
        }
        setRunStatus(db, runId, finished ? 'completed' : 'cancelled')
        changed()
        return finetuneSummary(db, layout, runId)
      } catch (err) {
        if (!owned()) throw err
        metrics.flush()
        setRunStatus(db, runId, ctx.signal.aborted ? 'cancelled' : 'failed', { error: toErrorPayload(err).message })
        changed()
        throw err
      }
    },
    { runId },
  )
  return { runId, jobId: job.id, done: job.done }
}

export function startFinetune(deps: FinetuneDeps, req: FinetuneRequest): FinetuneStart {
  return startFinetuneRun(deps, prepareFinetuneRun(deps, req))
}

function readResult(runDir: string): FinetuneResult | null {
  try {
    return JSON.parse(fs.readFileSync(resultFileOf(runDir), 'utf8')) as FinetuneResult
  } catch {
    return null
  }
}

/** A fine-tuning run's state and scores (from its result file, or its metric series while it runs). */
export function finetuneSummary(db: Db, layout: DataLayout, runId: number): FinetuneSummary {
  const run = getRun(db, runId)
  if (!run) throw notFound(`run ${runId} does not exist`)
  if (run.kind !== 'finetune') throw badInput(`run ${runId} is a ${run.kind} run, not a fine-tuning run`)
  const config = run.config as unknown as FinetuneConfig
  const result = readResult(runDirOf(layout, runId))
  const model = listModels(db).find((m) => m.runId === runId)
  const metric = result?.metric ?? (config.task === 'cmrc2018' ? 'em' : 'accuracy')
  return {
    runId,
    status: run.status,
    task: config.task,
    metric,
    dev: result?.best?.dev ?? null,
    bestEpoch: result?.best?.epoch ?? null,
    epochs: result?.epochs.map((e) => ({ epoch: e.epoch, dev: e.dev })) ?? [],
    modelId: model?.id ?? null,
    reinitialised: result?.reinitialised ?? [],
    augmented: result?.augmented ?? 0,
    majority: result?.majority ?? null,
    error: run.error,
  }
}

/** The best epoch's dev predictions: right and wrong examples, confusion matrix, CMRC spans. */
export function readInspection(db: Db, layout: DataLayout, runId: number): Inspection | null {
  if (!getRun(db, runId)) throw notFound(`run ${runId} does not exist`)
  try {
    return JSON.parse(fs.readFileSync(inspectionFileOf(runDirOf(layout, runId)), 'utf8')) as Inspection
  } catch {
    return null
  }
}

export interface PredictRequest {
  runId: number
  datasetId: number
  split: string
  out: string
}

export interface PredictResult {
  out: string
  examples: number
  metrics: Record<string, number>
}

/** Writes CLUE's submission file for a split, from a fine-tuning run's best model, as a job. */
export function startPredict(deps: FinetuneDeps, req: PredictRequest): { jobId: string; done: Promise<PredictResult> } {
  const { db, layout, jobs } = deps
  const run = getRun(db, req.runId)
  if (!run) throw notFound(`run ${req.runId} does not exist`)
  if (run.kind !== 'finetune') throw badInput(`run ${req.runId} is a ${run.kind} run, not a fine-tuning run`)
  const ds = getDataset(db, req.datasetId)
  if (!ds) throw notFound(`dataset ${req.datasetId} does not exist`)
  const config = parseFinetuneConfig(run.config, `run ${run.id} config`)
  const modelDir = bestDirOf(runDirOf(layout, run.id))
  if (!fs.existsSync(path.join(modelDir, 'config.json'))) throw badInput(`run ${run.id} (${run.status}) has no best model yet`)
  const out = path.resolve(req.out)
  const job = jobs.start('predict', `Predict ${config.task} ${req.split} with run ${run.id}`, async (ctx) => {
    const r = await predictInWorker(
      { backend: config.backend, modelDir, task: config.task, dataDir: ds.dir, split: req.split, options: config, tuningCache: layout.tuningCache },
      ctx.signal,
    )
    fs.mkdirSync(path.dirname(out), { recursive: true })
    fs.writeFileSync(out, r.submission)
    return { out, examples: r.examples, metrics: r.metrics }
  })
  return { jobId: job.id, done: job.done }
}
