// Queries behind the run table and the Compare view: runs with their annotations, per-metric summaries
// (kept by the metrics_summarise trigger), whole series as typed arrays, evaluations.
import type { Statement } from 'better-sqlite3'
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
  return unpackColumns(row.data)
}

/** Buckets of a series overview (two points kept in each: its lowest and highest, in the order they occurred). */
export const OVERVIEW_BUCKETS = 2048

/**
 * A summary of a series made of its own points: the first, the last, and the lowest and highest of each of
 * `buckets` runs of consecutive points (NaN and infinities skipped). Every value of the series lies between
 * the lowest and highest kept point of its run, so a chart at most `buckets / 2` columns wide draws the same
 * vertical extent in every column (give or take the column beside it) from the summary as from the series.
 */
export function seriesOverview(s: SeriesColumns, buckets = OVERVIEW_BUCKETS): SeriesColumns {
  const n = s.step.length
  if (n <= 2 * buckets + 2) return s
  const keep: number[] = [0]
  const push = (i: number) => void (i > keep[keep.length - 1] && keep.push(i))
  for (let b = 0; b < buckets; b++) {
    const end = Math.floor(((b + 1) * n) / buckets)
    let minI = -1
    let maxI = -1
    for (let i = Math.floor((b * n) / buckets); i < end; i++) {
      const v = s.value[i]
      if (!Number.isFinite(v)) continue
      if (minI < 0 || v < s.value[minI]) minI = i
      if (maxI < 0 || v > s.value[maxI]) maxI = i
    }
    if (minI < 0) continue
    push(Math.min(minI, maxI))
    push(Math.max(minI, maxI))
  }
  push(n - 1)
  const pick = (a: Float64Array) => Float64Array.from(keep, (i) => a[i])
  return { step: pick(s.step), value: pick(s.value), wall: pick(s.wall) }
}

const packColumns = (s: SeriesColumns) => {
  const n = s.step.length
  const all = new Float64Array(3 * n)
  all.set(s.step)
  all.set(s.value, n)
  all.set(s.wall, 2 * n)
  return Buffer.from(all.buffer)
}

function unpackColumns(b: Buffer): SeriesColumns {
  const n = Math.floor(b.byteLength / 24)
  // a large blob arrives in a Buffer of its own: view it in place (copying 200 packs of 480 KB cost more
  // than reading them); a Buffer from Node's small-allocation pool may sit off an 8-byte boundary: copy that
  const all = b.byteOffset % 8 === 0 ? new Float64Array(b.buffer, b.byteOffset, 3 * n) : new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + 24 * n))
  return { step: all.subarray(0, n), value: all.subarray(n, 2 * n), wall: all.subarray(2 * n, 3 * n) }
}

/** The overview of a packed series and the number of points of the whole series; null when there is none. */
// prepared once per database: the server reads hundreds of overviews at start (SeriesCache.preloadOverviews)
const overviewStatements = new WeakMap<Db, Statement>()

export function readSeriesOverview(db: Db, runId: number, name: string): { overview: SeriesColumns; points: number } | null {
  let statement = overviewStatements.get(db)
  if (!statement) overviewStatements.set(db, (statement = db.prepare('SELECT points, data FROM series_overview WHERE run_id = ? AND name = ?')))
  const row = statement.get(runId, name) as { points: number; data: Buffer } | undefined
  if (!row || row.data.byteLength % 24 !== 0) return null
  return { overview: unpackColumns(row.data), points: row.points }
}

/** Writes the overview of a packed series (none is written when the pack is gone or holds other points). */
export function writeSeriesOverview(db: Db, runId: number, name: string, s: SeriesColumns): void {
  db.prepare(
    `INSERT INTO series_overview (run_id, name, points, data) SELECT run_id, name, points, ? FROM series_pack WHERE run_id = ? AND name = ? AND points = ?
     ON CONFLICT (run_id, name) DO UPDATE SET points = excluded.points, data = excluded.data`,
  ).run(packColumns(seriesOverview(s)), runId, name, s.step.length)
}

/** Stores a whole series in one row, and its overview: reading it back is one blob instead of a row per point. */
export function packSeries(db: Db, runId: number, name: string, s: SeriesColumns): void {
  db.transaction(() => {
    db.prepare('INSERT INTO series_pack (run_id, name, points, data) VALUES (?, ?, ?, ?) ON CONFLICT (run_id, name) DO UPDATE SET points = excluded.points, data = excluded.data').run(
      runId,
      name,
      s.step.length,
      packColumns(s),
    )
    writeSeriesOverview(db, runId, name, s)
  })()
}

/**
 * Packs every series of a run (a run that just finished: its points are final until it resumes, when a
 * new point drops the pack), so that the first Compare view after it reads one blob per series.
 */
export function packRunSeries(db: Db, runId: number): void {
  const rows = db.prepare('SELECT name, step, value, wall_time FROM metrics WHERE run_id = ? ORDER BY name, step').raw().all(runId) as [string, number, number, number][]
  db.transaction(() => {
    for (let start = 0; start < rows.length; ) {
      const name = rows[start][0]
      let end = start
      while (end < rows.length && rows[end][0] === name) end++
      const s = { step: new Float64Array(end - start), value: new Float64Array(end - start), wall: new Float64Array(end - start) }
      for (let i = start; i < end; i++) {
        s.step[i - start] = rows[i][1]
        s.value[i - start] = rows[i][2]
        s.wall[i - start] = rows[i][3]
      }
      packSeries(db, runId, name, s)
      start = end
    }
  })()
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
