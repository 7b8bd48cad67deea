import type { Statement } from 'better-sqlite3'
import type { Db } from './db'
import { parseJson } from './json'
import { packRunSeries } from './compare'

// interrupted: the process that ran it is gone (see store/jobs.ts); it resumes from its last checkpoint
export type RunStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled' | 'interrupted'

export interface RunRow {
  id: number
  name: string
  kind: string
  status: RunStatus
  config: Record<string, unknown>
  seed: number
  backend: string | null
  /** The backend ladder's full report (native kernels, BLAS, threads, why faster rungs were skipped). */
  backendDetail: string | null
  sweepId: number | null
  datasetId: number | null
  baseModelId: number | null
  error: string | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
}

const runSelect = `SELECT id, name, kind, status, config, seed, backend, backend_detail AS backendDetail, sweep_id AS sweepId,
  dataset_id AS datasetId, base_model_id AS baseModelId, error, created_at AS createdAt,
  started_at AS startedAt, finished_at AS finishedAt FROM runs`
const toRun = (r: Record<string, unknown>): RunRow => ({ ...(r as unknown as RunRow), config: parseJson(r.config as string, {}) })

export function listRuns(db: Db): RunRow[] {
  return (db.prepare(`${runSelect} ORDER BY id DESC`).all() as Record<string, unknown>[]).map(toRun)
}

// prepared once per database: Compare reads hundreds of runs one by one, and preparing the statement
// was ~40% of getRun's time there
const byIdStatements = new WeakMap<Db, Statement>()

export function getRun(db: Db, id: number): RunRow | undefined {
  let statement = byIdStatements.get(db)
  if (!statement) byIdStatements.set(db, (statement = db.prepare(`${runSelect} WHERE id = ?`)))
  const row = statement.get(id) as Record<string, unknown> | undefined
  return row && toRun(row)
}

export interface NewRun {
  name: string
  kind: string
  config: Record<string, unknown>
  seed: number
  datasetId?: number | null
  baseModelId?: number | null
  sweepId?: number | null
}

export function insertRun(db: Db, r: NewRun): number {
  return Number(
    db
      .prepare(`INSERT INTO runs (name, kind, status, config, seed, dataset_id, base_model_id, sweep_id)
                VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)`)
      .run(r.name, r.kind, JSON.stringify(r.config), r.seed, r.datasetId ?? null, r.baseModelId ?? null, r.sweepId ?? null)
      .lastInsertRowid,
  )
}

/** Sets a run's status; `running` clears a previous error and finish time (a resumed run). */
export function setRunStatus(db: Db, id: number, status: RunStatus, extra: { backend?: string; backendDetail?: string; error?: string } = {}): void {
  const now = new Date().toISOString()
  const running = status === 'running' ? 1 : 0
  const finished = ['completed', 'failed', 'cancelled', 'interrupted'].includes(status) ? 1 : 0
  db.prepare(`UPDATE runs SET status = ?,
      backend = COALESCE(?, backend), backend_detail = COALESCE(?, backend_detail),
      error = CASE WHEN ? AND ? IS NULL THEN NULL ELSE COALESCE(?, error) END,
      started_at = CASE WHEN ? AND started_at IS NULL THEN ? ELSE started_at END,
      finished_at = CASE WHEN ? THEN ? WHEN ? THEN NULL ELSE finished_at END
    WHERE id = ?`).run(status, extra.backend ?? null, extra.backendDetail ?? null, running, extra.error ?? null, extra.error ?? null, running, now, finished, now, running, id)
  if (finished) {
    try {
      packRunSeries(db, id) // the Compare view's first open then needs no read of every point
    } catch {
      // a full disk keeps the status; the series are packed on their first read instead
    }
  }
}

export function deleteRun(db: Db, id: number): boolean {
  return db.prepare('DELETE FROM runs WHERE id = ?').run(id).changes === 1
}

export function renameRun(db: Db, id: number, name: string): boolean {
  return db.prepare('UPDATE runs SET name = ? WHERE id = ?').run(name, id).changes === 1
}
