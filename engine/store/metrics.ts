import type { Db } from './db'

export interface MetricPoint {
  name: string
  step: number
  value: number
  wallTime: number // seconds since the epoch
}

/**
 * Buffers metric points and writes them in one transaction per flush: one fsync per batch instead of one
 * per point keeps a training loop that logs every step cheap.
 */
export class MetricWriter {
  private buffer: MetricPoint[] = []
  private readonly insert
  private readonly writeBatch

  constructor(
    private readonly db: Db,
    private readonly runId: number,
    private readonly batchSize = 256,
  ) {
    this.insert = db.prepare(
      'INSERT OR REPLACE INTO metrics (run_id, name, step, value, wall_time) VALUES (?, ?, ?, ?, ?)',
    )
    this.writeBatch = db.transaction((points: MetricPoint[]) => {
      for (const p of points) this.insert.run(this.runId, p.name, p.step, p.value, p.wallTime)
    })
  }

  add(name: string, step: number, value: number, wallTime = Date.now() / 1000): void {
    this.buffer.push({ name, step, value, wallTime })
    if (this.buffer.length >= this.batchSize) this.flush()
  }

  flush(): void {
    if (this.buffer.length === 0) return
    const points = this.buffer
    this.buffer = []
    this.writeBatch(points)
  }
}

export function metricNames(db: Db, runId: number): string[] {
  return (db.prepare('SELECT DISTINCT name FROM metrics WHERE run_id = ? ORDER BY name').all(runId) as { name: string }[]).map(
    (r) => r.name,
  )
}

export function metricSeries(db: Db, runId: number, name: string): { steps: number[]; values: number[] } {
  const rows = db
    .prepare('SELECT step, value FROM metrics WHERE run_id = ? AND name = ? ORDER BY step')
    .raw()
    .all(runId, name) as [number, number][]
  return { steps: rows.map((r) => r[0]), values: rows.map((r) => r[1]) }
}

/**
 * Drops a run's points after `step`: a resumed run computes those steps again, so each appears once. The
 * run's summaries (`metric_summary`) are recomputed from what stays and its packed series dropped, since
 * both were written from the points now gone (the insert trigger only ever moves them forward).
 */
export function deleteMetricsAfter(db: Db, runId: number, step: number): number {
  return db.transaction(() => {
    const changes = db.prepare('DELETE FROM metrics WHERE run_id = ? AND step > ?').run(runId, step).changes
    if (changes === 0) return 0
    db.prepare('DELETE FROM series_overview WHERE run_id = ?').run(runId)
    db.prepare('DELETE FROM series_pack WHERE run_id = ?').run(runId)
    db.prepare('DELETE FROM metric_summary WHERE run_id = ?').run(runId)
    db.prepare(
      `INSERT INTO metric_summary
       SELECT m.run_id, m.name, MIN(m.step), MAX(m.step),
         (SELECT value FROM metrics l WHERE l.run_id = m.run_id AND l.name = m.name ORDER BY step DESC LIMIT 1),
         MIN(m.value), MAX(m.value), MIN(m.wall_time), MAX(m.wall_time)
       FROM metrics m WHERE m.run_id = ? GROUP BY m.run_id, m.name`,
    ).run(runId)
    return changes
  })()
}

/** The last value of every series of a run (the run's summary: final loss, eval/... values), from the trigger-kept summaries. */
export function finalMetrics(db: Db, runId: number): Record<string, number> {
  const rows = db.prepare('SELECT name, last_value FROM metric_summary WHERE run_id = ?').raw().all(runId) as [string, number][]
  return Object.fromEntries(rows)
}
