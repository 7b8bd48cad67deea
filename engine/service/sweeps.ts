// Sweeps: a grid (default: the report's lr × batch × epochs) expands into a queue of fine-tuning runs,
// inserted up front and run one after another by a sweep job. Cancelling the job cancels the current
// run and leaves the rest queued. After a crash (the process killed), the job's lease and the current
// run's end as 'interrupted' (jobs.ts); resuming runs every run not yet completed — an interrupted one
// from its last epoch checkpoint (finetuning.ts) — and then marks the best by the task's dev metric.
import { badInput, notFound, WorkbenchError } from '../errors'
import { getRun } from '../store/runs'
import { getSweep, insertSweep, setSweepStatus, sweepRunIds, type SweepStatus } from '../store/sweeps'
import { listJobLeases } from '../store/jobs'
import { REPORT_GRID } from '../train/finetune-config'
import { finetuneSummary, prepareFinetuneRun, startFinetuneRun, type FinetuneDeps, type FinetuneRequest } from './finetuning'

export type Grid = Record<string, unknown[]>

export interface SweepRequest extends Omit<FinetuneRequest, 'sweepId'> {
  grid?: Grid
}

export interface SweepRunInfo {
  runId: number
  params: Record<string, unknown>
  status: string
  dev: Record<string, number> | null
}

export interface SweepDetail {
  sweepId: number
  name: string
  status: SweepStatus
  metric: string
  runs: SweepRunInfo[]
  best: SweepRunInfo | null
}

export const MAX_SWEEP_RUNS = 500

/** Every combination of the grid's values, keys in the grid's order (the last varies fastest). */
export function expandGrid(grid: Grid): Record<string, unknown>[] {
  let out: Record<string, unknown>[] = [{}]
  for (const [key, values] of Object.entries(grid)) {
    if (!Array.isArray(values) || values.length === 0) throw badInput(`grid.${key}: expected a non-empty array of values`)
    out = out.flatMap((combo) => values.map((v) => ({ ...combo, [key]: v })))
  }
  return out
}

/** A sweep run's overrides: the request's, then its grid values (dotted keys reach into strategies: "strategies.smart.weight"). */
export const sweepRunSets = (set: string[] | undefined, params: Record<string, unknown>): string[] => [...(set ?? []), ...Object.entries(params).map(([k, v]) => `${k}=${JSON.stringify(v)}`)]

const sweepTitle = (id: number) => `Sweep ${id}`

/** Inserts the sweep and all its runs (each validated), then starts it. */
export function startSweep(deps: FinetuneDeps, req: SweepRequest): { sweepId: number; jobId: string; done: Promise<SweepDetail> } {
  const grid = req.grid ?? REPORT_GRID
  const combos = expandGrid(grid)
  if (combos.length > MAX_SWEEP_RUNS) throw badInput(`grid: ${combos.length} runs; at most ${MAX_SWEEP_RUNS} per sweep`)
  const { grid: _grid, ...base } = req
  void _grid
  const sweepId = deps.db.transaction(() => {
    const id = insertSweep(deps.db, req.name ?? 'sweep', { request: base, grid })
    combos.forEach((params, i) => {
      prepareFinetuneRun(deps, { ...base, set: sweepRunSets(req.set, params), name: `${req.name ?? 'sweep'} ${id}.${i + 1}`, sweepId: id })
    })
    return id
  })()
  return { sweepId, ...runSweep(deps, sweepId) }
}

/** Continues a sweep that was cancelled or interrupted: every run not completed runs (again). */
export function resumeSweep(deps: FinetuneDeps, sweepId: number): { sweepId: number; jobId: string; done: Promise<SweepDetail> } {
  deps.jobs.sweep()
  const sweep = getSweep(deps.db, sweepId)
  if (!sweep) throw notFound(`sweep ${sweepId} does not exist`)
  if (sweepAlive(deps, sweepId)) throw new WorkbenchError('CONFLICT', `sweep ${sweepId} is already running`)
  return { sweepId, ...runSweep(deps, sweepId) }
}

/** Whether a live job (here or in another process) is running the sweep. */
function sweepAlive(deps: FinetuneDeps, sweepId: number): boolean {
  return listJobLeases(deps.db, { status: 'running' }).some((l) => l.kind === 'sweep' && l.title === sweepTitle(sweepId))
}

function runSweep(deps: FinetuneDeps, sweepId: number): { jobId: string; done: Promise<SweepDetail> } {
  const { db } = deps
  const job = deps.jobs.start('sweep', sweepTitle(sweepId), async (ctx) => {
    setSweepStatus(db, sweepId, 'running')
    const ids = sweepRunIds(db, sweepId)
    try {
      for (const [i, runId] of ids.entries()) {
        ctx.progress(i, ids.length, 'runs', `run ${runId}`)
        if (ctx.signal.aborted) break
        if (getRun(db, runId)?.status === 'completed') continue
        const start = startFinetuneRun(deps, runId)
        const cancel = () => deps.jobs.cancel(start.jobId)
        ctx.signal.addEventListener('abort', cancel)
        await start.done.catch(() => {}) // a failed run is reported in the sweep; the next one runs
        ctx.signal.removeEventListener('abort', cancel)
      }
      ctx.progress(ids.length, ids.length, 'runs')
      const detail = sweepDetail(deps, sweepId)
      setSweepStatus(db, sweepId, ctx.signal.aborted ? 'cancelled' : 'completed', detail.best?.runId ?? null)
      return { ...detail, status: ctx.signal.aborted ? 'cancelled' : 'completed' } as SweepDetail
    } catch (err) {
      if (!ctx.leaseLost.aborted) setSweepStatus(db, sweepId, ctx.signal.aborted ? 'cancelled' : 'failed')
      throw err
    }
  })
  return { jobId: job.id, done: job.done }
}

/** The sweep's runs with their parameters and best dev metrics, and the best by the task's metric. */
export function sweepDetail(deps: FinetuneDeps, sweepId: number): SweepDetail {
  const sweep = getSweep(deps.db, sweepId)
  if (!sweep) throw notFound(`sweep ${sweepId} does not exist`)
  const grid = (sweep.config.grid ?? {}) as Grid
  let metric = 'accuracy'
  const runs: SweepRunInfo[] = sweepRunIds(deps.db, sweepId).map((runId) => {
    const s = finetuneSummary(deps.db, deps.layout, runId)
    metric = s.metric
    const config = getRun(deps.db, runId)!.config
    const at = (key: string) => key.split('.').reduce<unknown>((node, k) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[k] : undefined), config)
    return { runId, params: Object.fromEntries(Object.keys(grid).map((k) => [k, at(k)])), status: s.status, dev: s.dev }
  })
  let best: SweepRunInfo | null = null
  for (const r of runs) if (r.status === 'completed' && r.dev && (best === null || (r.dev[metric] ?? -1) > (best.dev![metric] ?? -1))) best = r
  // a sweep left 'running' by a process that is gone reads as interrupted
  const status = sweep.status === 'running' && !sweepAlive(deps, sweepId) ? 'interrupted' : sweep.status
  return { sweepId, name: sweep.name, status, metric, runs, best }
}
