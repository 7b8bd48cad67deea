// Sweeps: a named grid of fine-tuning runs (runs.sweep_id), its status and the best run.
import type { Db } from './db'
import { parseJson } from './json'

export type SweepStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled' | 'interrupted'

export interface SweepRow {
  id: number
  name: string
  config: Record<string, unknown>
  status: SweepStatus
  bestRunId: number | null
  createdAt: string
}

const select = 'SELECT id, name, config, status, best_run_id AS bestRunId, created_at AS createdAt FROM sweeps'
const toSweep = (r: Record<string, unknown>): SweepRow => ({ ...(r as unknown as SweepRow), config: parseJson(r.config as string, {}) })

export function insertSweep(db: Db, name: string, config: Record<string, unknown>): number {
  return Number(db.prepare('INSERT INTO sweeps (name, config) VALUES (?, ?)').run(name, JSON.stringify(config)).lastInsertRowid)
}

export function getSweep(db: Db, id: number): SweepRow | undefined {
  const row = db.prepare(`${select} WHERE id = ?`).get(id) as Record<string, unknown> | undefined
  return row && toSweep(row)
}

export function listSweeps(db: Db): SweepRow[] {
  return (db.prepare(`${select} ORDER BY id DESC`).all() as Record<string, unknown>[]).map(toSweep)
}

export function setSweepStatus(db: Db, id: number, status: SweepStatus, bestRunId?: number | null): void {
  db.prepare('UPDATE sweeps SET status = ?, best_run_id = COALESCE(?, best_run_id) WHERE id = ?').run(status, bestRunId ?? null, id)
}

/** The ids of a sweep's runs, in queue order. */
export function sweepRunIds(db: Db, id: number): number[] {
  return (db.prepare('SELECT id FROM runs WHERE sweep_id = ? ORDER BY id').all(id) as { id: number }[]).map((r) => r.id)
}
