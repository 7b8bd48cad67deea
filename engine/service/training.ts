// Training runs as jobs: a run row in the database, the loop in a worker thread, metric points
// written in batches, checkpoints recorded, and the finished model registered. The job holds the run's
// lease (jobs.ts): a run whose process died shows `interrupted` and resumes from its newest checkpoint.
import { existsSync, readFileSync } from 'node:fs'
import { readdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { WorkbenchError, notFound, toErrorPayload } from '../errors'
import type { DataLayout } from '../paths'
import { listRunCheckpoints, recordCheckpoint, forgetCheckpoints } from '../store/checkpoints'
import type { Db } from '../store/db'
import { listJobLeases } from '../store/jobs'
import { deleteMetricsAfter, MetricWriter, type MetricPoint } from '../store/metrics'
import { insertModel } from '../store/models'
import { getRun, insertRun, setRunStatus } from '../store/runs'
import { activeObjectives, parseTrainConfig, type TrainConfig } from '../train/config'
import { readTagSummary } from '../tagging/dataset-tags'
import { getModel } from '../store/models'
import type { TaskContext } from './tasks'
import type { TrainProgress, TrainResult } from '../train/loop'
import { trainInWorker } from '../train/run-worker'
import { checkpointsDir, listCheckpoints } from '../train/checkpoint'
import { trainWithTorchrun } from '../launch/local'
import { checkTorchPlan } from '../launch/plan'
import type { WorkbenchEvent } from './api'
import type { JobManager } from './jobs'

export interface TrainingDeps {
  db: Db
  layout: DataLayout
  jobs: JobManager
  emit(event: WorkbenchEvent): void
  /** Tags a dataset (POS and entities) inside the training job, when an objective needs its tags. */
  tagDatasetFor?(dir: string, ctx: TaskContext): Promise<unknown>
}

/** What a training job ends with (small: it travels in job events). */
export interface TrainingSummary {
  runId: number
  step: number
  stopped: boolean
  /** The mean loss of the last step run. */
  loss: number | null
  checkpointDir: string | null
  parameters: number
  /** The final held-out evaluation (eval/... values), when the data has a dev split. */
  eval: Record<string, number> | null
}

export interface TrainingStart {
  runId: number
  jobId: string
  done: Promise<TrainingSummary>
}

export interface TrainingOptions {
  /** Continue this run (interrupted, failed, cancelled) from its newest checkpoint, with its stored config. */
  resumeRunId?: number
  /** Newest checkpoints to keep on disk; 0 keeps all. Default 2. */
  keepCheckpoints?: number
  /** The imported dataset the run trains on, recorded on the run row. */
  datasetId?: number
}

export const runDirOf = (layout: DataLayout, runId: number) => join(layout.runs, String(runId))

// The job training each run now, per job manager (one per workbench): cancel and live progress by run id.
const trainingJobs = new WeakMap<JobManager, Map<number, string>>()

/** The id of the job training run `runId` now, if any. */
export function trainingJobOf(jobs: JobManager, runId: number): string | null {
  return trainingJobs.get(jobs)?.get(runId) ?? null
}

// The backend line of each run trained in this session (what computes: binary, kernels, BLAS, threads).
const backendLines = new WeakMap<JobManager, Map<number, string>>()

/** The one-line description of the backend run `runId` trained on in this session, if it did. */
export function backendLineOf(jobs: JobManager, runId: number): string | null {
  return backendLines.get(jobs)?.get(runId) ?? null
}

// Metric points reach the database and the UI together, at most every LIVE_INTERVAL_MS: written first,
// then sent as one `run.metrics` event, so a view that loads a series and then appends events has no gap.
const LIVE_INTERVAL_MS = 250

export function progressMessage(p: TrainProgress): string {
  return `loss ${p.loss.toFixed(4)} · lr ${p.lr.toExponential(2)} · ${Math.round(p.tokensPerSec)} tokens/s · ${p.backend}`
}

export function startTraining(deps: TrainingDeps, rawConfig: unknown, options: TrainingOptions = {}): TrainingStart {
  const { db, layout, jobs } = deps
  let runId: number
  let config: TrainConfig
  if (options.resumeRunId !== undefined) {
    jobs.sweep() // a run whose owner died is `interrupted` now, not `running`
    const run = getRun(db, options.resumeRunId)
    if (!run) throw notFound(`run ${options.resumeRunId} does not exist`)
    // a job that holds the run (its lease row is written when the job starts) counts before the row says running
    if (run.status === 'running' || listJobLeases(db, { status: 'running', runId: run.id }).length > 0) {
      throw new WorkbenchError('CONFLICT', `run ${run.id} is already running`)
    }
    if (run.status === 'completed') throw new WorkbenchError('CONFLICT', `run ${run.id} is already completed`)
    config = parseTrainConfig(run.config, `run ${run.id} config`)
    runId = run.id
  } else {
    config = parseTrainConfig(resolveInitFrom(db, rawConfig))
    if (config.engine === 'torch') checkTorchPlan(config) // what torch cannot honour is refused before a run exists
    runId = insertRun(db, { name: config.name, kind: 'pretrain', config: config as unknown as Record<string, unknown>, seed: config.seed, datasetId: options.datasetId })
  }
  const runDir = runDirOf(layout, runId)
  const keep = options.keepCheckpoints ?? 2
  const changed = () => deps.emit({ type: 'runs.changed', id: runId })
  const resuming = options.resumeRunId !== undefined

  const job = jobs.start('train', `Train ${config.name} (run ${runId})`, async (ctx) => {
    // before the first await: the run reads `running` as soon as train.start/resume returns
    setRunStatus(db, runId, 'running')
    changed()
    const metrics = new MetricWriter(db, runId)
    // after a lost lease another process owns the run: write nothing more to it
    const owned = () => !ctx.leaseLost.aborted
    let pending: MetricPoint[] = []
    let lastSent = 0
    // points reach the database first, then the open views (run.metrics events)
    const sendMetrics = () => {
      if (!owned()) return
      metrics.flush()
      lastSent = Date.now()
      if (pending.length === 0) return
      deps.emit({ type: 'run.metrics', runId, points: pending })
      pending = []
    }
    try {
      if (resuming) await prepareResume(db, runId, runDir)
      const tagged = activeObjectives(config).some((o) => o === 'pos' || o === 'ner')
      if (tagged && config.data.kind === 'dataset' && !readTagSummary(config.data.dir) && deps.tagDatasetFor) {
        await deps.tagDatasetFor(config.data.dir, { signal: ctx.signal, progress: (done, total, unit, message) => ctx.progress(done, total, unit, message ?? 'tagging the dataset first') })
      }
      // the same hooks either way: the torch engine reports its trainer's JSON lines through them (#15)
      const result = await (config.engine === 'torch' ? trainWithTorchrun : trainInWorker)(
        config,
        { runDir, resume: true, keepCheckpoints: keep, tuningCache: layout.tuningCache },
        {
          backend: (b) => {
            if (!owned()) return
            if (!backendLines.has(jobs)) backendLines.set(jobs, new Map())
            backendLines.get(jobs)!.set(runId, b.detail)
            setRunStatus(db, runId, 'running', { backend: b.name, backendDetail: b.detail })
            changed()
          },
          progress: (p) => ctx.progress(p.step, p.totalSteps, 'steps', progressMessage(p)),
          preparing: (p) => ctx.progress(p.done, p.total || null, p.unit, p.message),
          metrics: (points) => {
            if (!owned()) return
            const wallTime = Date.now() / 1000
            for (const p of points) {
              metrics.add(p.name, p.step, p.value, wallTime)
              pending.push({ name: p.name, step: p.step, value: p.value, wallTime })
            }
            if (Date.now() - lastSent >= LIVE_INTERVAL_MS) sendMetrics()
          },
          checkpoint: (c) => {
            if (!owned()) return
            sendMetrics()
            recordCheckpoint(db, runId, c.step, c.dir)
            // older checkpoints the worker pruned from disk leave the database too
            forgetCheckpoints(db, runId, listRunCheckpoints(db, runId).filter((r) => existsSync(r.path)).map((r) => r.path))
          },
        },
        ctx.signal,
        ctx.leaseLost,
      )
      sendMetrics()
      if (ctx.signal.aborted) {
        setRunStatus(db, runId, 'cancelled')
      } else {
        setRunStatus(db, runId, 'completed')
        registerTrainedModel(deps, runId, config, result)
      }
      changed()
      const summary: TrainingSummary = {
        runId,
        step: result.step,
        stopped: result.stopped,
        loss: result.losses.at(-1) ?? null,
        checkpointDir: result.checkpointDir,
        parameters: result.parameters,
        eval: result.eval ?? null,
      }
      return summary
    } catch (err) {
      if (!owned()) throw err
      // backend, device and worker errors alike: the run fails with the reason, never stays `running`
      sendMetrics()
      setRunStatus(db, runId, ctx.signal.aborted ? 'cancelled' : 'failed', { error: toErrorPayload(err).message })
      changed()
      throw err
    }
  }, { runId })
  const byRun = trainingJobs.get(jobs) ?? new Map<number, string>()
  trainingJobs.set(jobs, byRun)
  byRun.set(runId, job.id)
  job.done.then(forget, forget)
  function forget() {
    if (byRun.get(runId) === job.id) byRun.delete(runId)
  }
  return { runId, jobId: job.id, done: job.done }
}

/**
 * Before a resumed run continues from its newest checkpoint: finish what a killed save left half done,
 * forget checkpoint rows whose folders are gone, and drop metric points after that checkpoint (the run
 * computes those steps again, so each step appears once in its series). Returns that checkpoint's
 * folder, or null when there is none (the run starts over). Fine-tuning's epoch checkpoints too.
 */
export async function prepareResume(db: Db, runId: number, runDir: string): Promise<string | null> {
  const root = checkpointsDir(runDir)
  const names = await readdir(root).catch(() => [] as string[])
  for (const name of names) {
    // saveCheckpoint moves an older folder of the same step aside as step-N.old-PID before renaming the
    // new one in: a kill between the two renames leaves only the old one, which is still complete
    const aside = /^(step-\d+)\.old-\d+$/.exec(name)
    if (aside && !names.includes(aside[1])) await rename(join(root, name), join(root, aside[1]))
    else if (aside || /^\.step-\d+\.tmp-/.test(name)) await rm(join(root, name), { recursive: true, force: true })
  }
  // A checkpoint the database recorded has its metric points there too (they are flushed first). One
  // that reached the disk but not the database (killed in between) may lack its points: drop it, and
  // resume from the newest recorded one, so that no step goes missing from the series.
  const recorded = new Set(listRunCheckpoints(db, runId).map((c) => c.path))
  const onDisk = await listCheckpoints(runDir)
  const newest = onDisk.filter((c) => recorded.has(c.dir)).at(-1)
  const trusted = newest?.step ?? 0
  for (const c of onDisk) if (c.step > trusted) await rm(c.dir, { recursive: true, force: true })
  forgetCheckpoints(db, runId, onDisk.filter((c) => c.step <= trusted).map((c) => c.dir))
  deleteMetricsAfter(db, runId, trusted)
  return newest?.dir ?? null
}

/** A completed run's final checkpoint becomes a model, when it is a full HF folder (has vocab.txt). */
function registerTrainedModel(deps: TrainingDeps, runId: number, config: TrainConfig, result: TrainResult): void {
  const dir = result.checkpointDir
  if (!dir || !existsSync(join(dir, 'vocab.txt'))) return
  const bert = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>
  insertModel(deps.db, { name: `${config.name} (run ${runId})`, source: 'trained', dir, config: bert, runId })
  deps.emit({ type: 'models.changed' })
}

/** A model id ("model:3" or 3), a run id ("run:5": its newest checkpoint) or a HF folder, as a folder. */
function modelFolderOf(db: Db, from: unknown, field: string): string {
  const m = /^(model|run):(\d+)$/.exec(String(from))
  if (typeof from === 'number' || m?.[1] === 'model') {
    const id = typeof from === 'number' ? from : Number(m![2])
    const model = getModel(db, id)
    if (!model) throw notFound(`${field}: model ${id} does not exist`)
    return model.dir
  }
  if (m?.[1] === 'run') {
    const id = Number(m[2])
    if (!getRun(db, id)) throw notFound(`${field}: run ${id} does not exist`)
    const last = listRunCheckpoints(db, id).filter((c) => existsSync(c.path)).at(-1)
    if (!last) throw new WorkbenchError('BAD_INPUT', `${field}: run ${id} has no checkpoint`)
    return last.path
  }
  if (typeof from === 'string' && existsSync(join(from, 'config.json'))) return from
  throw new WorkbenchError('BAD_INPUT', `${field}: ${JSON.stringify(from)} is not "model:ID", "run:ID" or a HuggingFace BERT folder (config.json + model.safetensors)`)
}

/**
 * `initFrom` (continued pretraining): a model id ("model:3" or 3), a run id ("run:5": its newest
 * checkpoint) or a HuggingFace folder. Becomes `model: { from: dir }`, and the folder's vocab.txt is the
 * run's vocab unless one is given.
 */
export function resolveInitFrom(db: Db, raw: unknown): unknown {
  if (!raw || typeof raw !== 'object') return raw
  const config = { ...(raw as Record<string, unknown>) }
  // a distillation teacher is named the same ways, and becomes its folder too
  const distill = config.distill as Record<string, unknown> | undefined
  if (distill && typeof distill === 'object' && distill.teacher !== undefined) config.distill = { ...distill, teacher: modelFolderOf(db, distill.teacher, 'distill.teacher') }
  if (!('initFrom' in config)) return config
  const dir = modelFolderOf(db, config.initFrom, 'initFrom')
  config.model = { from: dir }
  if (config.vocab === undefined && existsSync(join(dir, 'vocab.txt'))) {
    config.vocab = join(dir, 'vocab.txt')
    const data = config.data as Record<string, unknown> | undefined
    if (data && data.kind === 'dataset' && data.vocab === undefined) config.data = { ...data, vocab: config.vocab }
  }
  return config
}
