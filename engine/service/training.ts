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
import { deleteMetricsAfter, MetricWriter } from '../store/metrics'
import { insertModel } from '../store/models'
import { getRun, insertRun, setRunStatus } from '../store/runs'
import { parseTrainConfig, type TrainConfig } from '../train/config'
import type { TrainProgress, TrainResult } from '../train/loop'
import { trainInWorker } from '../train/run-worker'
import { checkpointsDir, listCheckpoints } from '../train/checkpoint'
import type { WorkbenchEvent } from './api'
import type { JobManager } from './jobs'

export interface TrainingDeps {
  db: Db
  layout: DataLayout
  jobs: JobManager
  emit(event: WorkbenchEvent): void
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
    if (run.status === 'running') throw new WorkbenchError('CONFLICT', `run ${run.id} is already running`)
    if (run.status === 'completed') throw new WorkbenchError('CONFLICT', `run ${run.id} is already completed`)
    config = parseTrainConfig(run.config, `run ${run.id} config`)
    runId = run.id
  } else {
    config = parseTrainConfig(rawConfig)
    runId = insertRun(db, { name: config.name, kind: 'pretrain', config: config as unknown as Record<string, unknown>, seed: config.seed, datasetId: options.datasetId })
  }
  const runDir = runDirOf(layout, runId)
  const keep = options.keepCheckpoints ?? 2
  const changed = () => deps.emit({ type: 'runs.changed', id: runId })
  const resuming = options.resumeRunId !== undefined

  const job = jobs.start('train', `Train ${config.name} (run ${runId})`, async (ctx) => {
    if (resuming) await prepareResume(db, runId, runDir)
    setRunStatus(db, runId, 'running')
    changed()
    const metrics = new MetricWriter(db, runId)
    // after a lost lease another process owns the run: write nothing more to it
    const owned = () => !ctx.leaseLost.aborted
    try {
      const result = await trainInWorker(
        config,
        { runDir, resume: true, keepCheckpoints: keep },
        {
          backend: (b) => {
            if (!owned()) return
            setRunStatus(db, runId, 'running', { backend: b.name, backendDetail: b.detail })
            changed()
          },
          progress: (p) => ctx.progress(p.step, p.totalSteps, 'steps', progressMessage(p)),
          metrics: (points) => {
            if (owned()) for (const p of points) metrics.add(p.name, p.step, p.value)
          },
          checkpoint: (c) => {
            if (!owned()) return
            metrics.flush()
            recordCheckpoint(db, runId, c.step, c.dir)
            // older checkpoints the worker pruned from disk leave the database too
            forgetCheckpoints(db, runId, listRunCheckpoints(db, runId).filter((r) => existsSync(r.path)).map((r) => r.path))
          },
        },
        ctx.signal,
        ctx.leaseLost,
      )
      metrics.flush()
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
      }
      return summary
    } catch (err) {
      if (!owned()) throw err
      // backend, device and worker errors alike: the run fails with the reason, never stays `running`
      metrics.flush()
      setRunStatus(db, runId, ctx.signal.aborted ? 'cancelled' : 'failed', { error: toErrorPayload(err).message })
      changed()
      throw err
    }
  }, { runId })
  return { runId, jobId: job.id, done: job.done }
}

/**
 * Before a resumed run continues from its newest complete checkpoint: finish what a killed save left
 * half done, forget checkpoint rows whose folders are gone, and drop metric points after that
 * checkpoint (the run computes those steps again, so each step appears once in its series).
 */
async function prepareResume(db: Db, runId: number, runDir: string): Promise<void> {
  const root = checkpointsDir(runDir)
  const names = await readdir(root).catch(() => [] as string[])
  for (const name of names) {
    // saveCheckpoint moves an older folder of the same step aside as step-N.old-PID before renaming the
    // new one in: a kill between the two renames leaves only the old one, which is still complete
    const aside = /^(step-\d+)\.old-\d+$/.exec(name)
    if (aside && !names.includes(aside[1])) await rename(join(root, name), join(root, aside[1]))
    else if (aside || /^\.step-\d+\.tmp-/.test(name)) await rm(join(root, name), { recursive: true, force: true })
  }
  const onDisk = await listCheckpoints(runDir)
  forgetCheckpoints(db, runId, onDisk.map((c) => c.dir))
  for (const c of onDisk) recordCheckpoint(db, runId, c.step, c.dir)
  deleteMetricsAfter(db, runId, onDisk.at(-1)?.step ?? 0)
}

/** A completed run's final checkpoint becomes a model, when it is a full HF folder (has vocab.txt). */
function registerTrainedModel(deps: TrainingDeps, runId: number, config: TrainConfig, result: TrainResult): void {
  const dir = result.checkpointDir
  if (!dir || !existsSync(join(dir, 'vocab.txt'))) return
  const bert = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>
  insertModel(deps.db, { name: `${config.name} (run ${runId})`, source: 'trained', dir, config: bert, runId })
  deps.emit({ type: 'models.changed' })
}
