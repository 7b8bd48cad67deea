// Queries behind the run table and the Compare view: runs with their annotations, per-metric summaries
// (kept by the metrics_summarise trigger), whole series as typed arrays, evaluations.
import type { Db } from './db'
import { parseJson } from './json'

export interface MetricSummaryRow {
  runId: number
  name: string
  firstStep: number
  lastStep: number
  lastValue: number
  minValue: number
  maxValue: number
  firstWall: number
  lastWall: number
}

/** Summaries of every metric of the given runs (all runs when `runIds` is omitted). */
export function metricSummaries(db: Db, runIds?: number[]): MetricSummaryRow[] {
  const select = `SELECT run_id AS runId, name, first_step AS firstStep, last_step AS lastStep, last_value AS lastValue,
    min_value AS minValue, max_value AS maxValue, first_wall AS firstWall, last_wall AS lastWall FROM metric_summary`
  if (!runIds) return db.prepare(`${select} ORDER BY run_id, name`).all() as MetricSummaryRow[]
  const stmt = db.prepare(`${select} WHERE run_id = ? ORDER BY name`)
  return runIds.flatMap((id) => stmt.all(id) as MetricSummaryRow[])
}

export interface RunAnnotations {
  tags: string[]
  notes: string
}

export function runAnnotations(db: Db): Map<number, RunAnnotations> {
  const rows = db.prepare('SELECT id, tags, notes FROM runs').all() as { id: number; tags: string; notes: string }[]
  return new Map(rows.map((r) => [r.id, { tags: parseJson<string[]>(r.tags, []), notes: r.notes }]))
}

export function setRunAnnotations(db: Db, id: number, patch: Partial<RunAnnotations>): boolean {
  const run = db.prepare('SELECT tags, notes FROM runs WHERE id = ?').get(id) as { tags: string; notes: string } | undefined
  if (!run) return false
  db.prepare('UPDATE runs SET tags = ?, notes = ? WHERE id = ?').run(JSON.stringify(patch.tags ?? parseJson<string[]>(run.tags, [])), patch.notes ?? run.notes, id)
  return true
}

/** Dataset names and kinds by id, for the table's dataset column and the score table's task names. */
export function datasetNames(db: Db): Map<number, { name: string; kind: string }> {
  const rows = db.prepare('SELECT id, name, kind FROM datasets').all() as { id: number; name: string; kind: string }[]
  return new Map(rows.map((r) => [r.id, { name: r.name, kind: r.kind }]))
}

/** HF configs of models by id (a fine-tuning run's size comes from its base model). */
export function modelConfigs(db: Db): Map<number, Record<string, unknown>> {
  const rows = db.prepare('SELECT id, config FROM models').all() as { id: number; config: string }[]
  return new Map(rows.map((r) => [r.id, parseJson<Record<string, unknown>>(r.config, {})]))
}

export interface SeriesColumns {
  step: Float64Array
  value: Float64Array
  wall: Float64Array
}

/** One metric of one run, in step order, from `afterStep` (exclusive) on. */
export function readSeries(db: Db, runId: number, name: string, afterStep = -Infinity): SeriesColumns {
  const rows = db
    .prepare('SELECT step, value, wall_time FROM metrics WHERE run_id = ? AND name = ? AND step > ? ORDER BY step')
    .raw()
    .all(runId, name, Number.isFinite(afterStep) ? afterStep : -1e18) as [number, number, number][]
  const out = { step: new Float64Array(rows.length), value: new Float64Array(rows.length), wall: new Float64Array(rows.length) }
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]
    out.step[i] = r[0]
    out.value[i] = r[1]
    out.wall[i] = r[2]
  }
  return out
}

/** A series packed by `packSeries`, or null when there is none (never written, or dropped by new points). */
export function readSeriesPack(db: Db, runId: number, name: string): SeriesColumns | null {
  const row = db.prepare('SELECT points, data FROM series_pack WHERE run_id = ? AND name = ?').get(runId, name) as { points: number; data: Buffer } | undefined
  if (!row || row.data.byteLength !== row.points * 24) return null
  const all = new Float64Array(row.data.buffer.slice(row.data.byteOffset, row.data.byteOffset + row.data.byteLength))
  const n = row.points
  return { step: all.subarray(0, n), value: all.subarray(n, 2 * n), wall: all.subarray(2 * n, 3 * n) }
}

/** Stores a whole series in one row: reading it back is one blob instead of a row per point. */
export function packSeries(db: Db, runId: number, name: string, s: SeriesColumns): void {
  const n = s.step.length
  const all = new Float64Array(3 * n)
  all.set(s.step)
  all.set(s.value, n)
  all.set(s.wall, 2 * n)
  db.prepare('INSERT INTO series_pack (run_id, name, points, data) VALUES (?, ?, ?, ?) ON CONFLICT (run_id, name) DO UPDATE SET points = excluded.points, data = excluded.data').run(
    runId,
    name,
    n,
    Buffer.from(all.buffer),
  )
}

export interface EvaluationRow {
  runId: number
  datasetId: number | null
  datasetKind: string | null
  split: string
  metrics: Record<string, unknown>
  createdAt: string
}

/** Evaluations of the given runs, oldest first (a later evaluation of the same task wins). */
export function runEvaluations(db: Db, runIds: number[]): EvaluationRow[] {
  const stmt = db.prepare(`SELECT e.run_id AS runId, e.dataset_id AS datasetId, d.kind AS datasetKind, e.split, e.metrics,
      e.created_at AS createdAt FROM evaluations e LEFT JOIN datasets d ON d.id = e.dataset_id WHERE e.run_id = ? ORDER BY e.id`)
  return runIds.flatMap((id) =>
    (stmt.all(id) as (Omit<EvaluationRow, 'metrics'> & { metrics: string })[]).map((r) => ({ ...r, metrics: parseJson<Record<string, unknown>>(r.metrics, {}) })),
  )
}

/** Folders of models registered from a run's checkpoints: deleting the run keeps them. */
export function modelDirsOfRun(db: Db, runId: number): string[] {
  return (db.prepare('SELECT dir FROM models WHERE run_id = ?').all(runId) as { dir: string }[]).map((r) => r.dir)
}
