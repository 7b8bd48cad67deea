import type { Db } from './db'

export interface CheckpointRow {
  id: number
  runId: number
  step: number
  path: string
  createdAt: string
}

/** Records a run's checkpoint; saving the same step again (a resumed run) replaces the row. */
export function recordCheckpoint(db: Db, runId: number, step: number, path: string): void {
  db.prepare('INSERT INTO checkpoints (run_id, step, path) VALUES (?, ?, ?) ON CONFLICT (run_id, step) DO UPDATE SET path = excluded.path').run(runId, step, path)
}

export function listRunCheckpoints(db: Db, runId: number): CheckpointRow[] {
  return db
    .prepare('SELECT id, run_id AS runId, step, path, created_at AS createdAt FROM checkpoints WHERE run_id = ? ORDER BY step')
    .all(runId) as CheckpointRow[]
}

/** Drops rows of checkpoints whose files were pruned. */
export function forgetCheckpoints(db: Db, runId: number, keepPaths: string[]): void {
  const rows = listRunCheckpoints(db, runId)
  const del = db.prepare('DELETE FROM checkpoints WHERE id = ?')
  for (const r of rows) if (!keepPaths.includes(r.path)) del.run(r.id)
}
