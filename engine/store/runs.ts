import type { Db } from './db'
import { parseJson } from './json'

export type RunStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled'

export interface RunRow {
  id: number
  name: string
  kind: string
  status: RunStatus
  config: Record<string, unknown>
  seed: number
  backend: string | null
  sweepId: number | null
  datasetId: number | null
  baseModelId: number | null
  error: string | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
}

const runSelect = `SELECT id, name, kind, status, config, seed, backend, sweep_id AS sweepId,
  dataset_id AS datasetId, base_model_id AS baseModelId, error, created_at AS createdAt,
  started_at AS startedAt, finished_at AS finishedAt FROM runs`
const toRun = (r: Record<string, unknown>): RunRow => ({ ...(r as unknown as RunRow), config: parseJson(r.config as string, {}) })

export function listRuns(db: Db): RunRow[] {
  return (db.prepare(`${runSelect} ORDER BY id DESC`).all() as Record<string, unknown>[]).map(toRun)
}

export function getRun(db: Db, id: number): RunRow | undefined {
  const row = db.prepare(`${runSelect} WHERE id = ?`).get(id) as Record<string, unknown> | undefined
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

export function setRunStatus(db: Db, id: number, status: RunStatus, extra: { backend?: string; error?: string } = {}): void {
  const now = new Date().toISOString()
  db.prepare(`UPDATE runs SET status = ?,
      backend = COALESCE(?, backend), error = COALESCE(?, error),
      started_at = CASE WHEN ? = 'running' AND started_at IS NULL THEN ? ELSE started_at END,
      finished_at = CASE WHEN ? IN ('completed','failed','cancelled') THEN ? ELSE finished_at END
    WHERE id = ?`).run(status, extra.backend ?? null, extra.error ?? null, status, now, status, now, id)
}

export function deleteRun(db: Db, id: number): boolean {
  return db.prepare('DELETE FROM runs WHERE id = ?').run(id).changes === 1
}

export function renameRun(db: Db, id: number, name: string): boolean {
  return db.prepare('UPDATE runs SET name = ? WHERE id = ?').run(name, id).changes === 1
}
