// Metric series for the Compare view's charts: whole series read once into typed arrays (a bounded
// cache; a training run's new points are appended, not re-read), then smoothed, put on the chosen x axis
// and downsampled to the buckets the chart asks for. A frame of the whole extent, unsmoothed, of finished
// runs not yet in memory is made from their stored overviews (a few thousand points each instead of every
// point; see seriesOverview), and their whole series are then read in the background for the zoom that
// follows. Sent as base64 typed arrays: a 200-run frame of 500 buckets is ~2 MB instead of ~10 MB of JSON.
import type { Db } from '../store/db'
import { OVERVIEW_BUCKETS, packSeries, readSeries, readSeriesOverview, readSeriesPack, writeSeriesOverview, type SeriesColumns } from '../store/compare'
import { getRun } from '../store/runs'
import { downsampleMinMax, emaSmooth, gridXs, lowerBound, SLOTS, type Grid } from './compare-downsample'

/**
 * How long after the last overview frame the whole series start being read: after the view has drawn its
 * first frames (reading 200 runs' series takes a CPU for a while; a zoom before then reads them itself).
 */
export const BACKGROUND_DELAY_MS = 2000

export type XAxis = 'step' | 'wall' | 'tokens'

export interface SeriesRequest {
  runIds: number[]
  metric: string
  x: XAxis
  /** The x range on screen; the whole extent when absent. */
  range?: [number, number] | null
  /** Buckets across the plot (the UI asks for one per two pixel columns). */
  width: number
  /** EMA weight in [0, 1); 0 is raw. */
  smoothing: number
}

export interface SeriesFrameRun {
  runId: number
  /** base64 Float32Array, buckets × 4 values (NaN where a bucket is empty); null when the run has no such series. */
  ys: string | null
  /** Points of the full series inside the range. */
  points: number
  /** Drawn from the series' stored overview rather than every point (a frame of the whole extent). */
  overview?: boolean
  /** Why the run has no line on this axis (no series, or no tokens per step in its config). */
  skipped?: string
}

export interface SeriesFrame {
  metric: string
  x: XAxis
  /** The range the frame covers, and the extent of all the data (for un-zooming). */
  range: [number, number]
  extent: [number, number] | null
  buckets: number
  /** base64 Float64Array: the x of every slot, shared by every run. */
  xs: string
  runs: SeriesFrameRun[]
}

interface Entry extends SeriesColumns {
  bytes: number
  stale: boolean
}

/** Full series by (run, metric), least recently used dropped past `maxBytes`; and overviews of packed series. */
export class SeriesCache {
  private readonly entries = new Map<string, Entry>()
  private readonly overviews = new Map<string, { overview: SeriesColumns; points: number }>()
  private bytes = 0
  private readonly pending: { db: Db; runId: number; name: string }[] = []
  private timer: ReturnType<typeof setImmediate> | null = null
  private waiting: ReturnType<typeof setTimeout> | null = null
  private preloading: ReturnType<typeof setImmediate> | null = null
  /** While set, frames made from overviews do not queue their whole series for reading (a warm-up). */
  private quiet = false

  constructor(private readonly maxBytes = 384 * 1024 * 1024) {}

  get(db: Db, runId: number, name: string, live: boolean): SeriesColumns {
    const key = `${runId}\u0000${name}`
    let entry = this.entries.get(key)
    if (entry) this.drop(key)
    if (entry && (live || entry.stale)) {
      const more = readSeries(db, runId, name, entry.step.length ? entry.step[entry.step.length - 1] : -Infinity)
      entry = more.step.length > 0 ? { ...concat(entry, more), bytes: 0, stale: false } : { ...entry, stale: false }
    }
    if (!entry) {
      // a finished run's series was packed when it finished (or is packed now, on its first read)
      let s = live ? null : readSeriesPack(db, runId, name)
      if (s && !this.overviews.has(key) && !readSeriesOverview(db, runId, name)) this.tryWrite(() => writeSeriesOverview(db, runId, name, s!))
      if (!s) {
        s = readSeries(db, runId, name)
        if (!live && s.step.length > 0) this.tryWrite(() => packSeries(db, runId, name, s!))
      }
      entry = { ...s, bytes: 0, stale: false }
      this.overviews.delete(key) // served from memory now; read again should this entry be dropped
    }
    entry.bytes = entry.step.byteLength * 3
    this.entries.set(key, entry)
    this.bytes += entry.bytes
    for (const [k] of this.entries) {
      if (this.bytes <= this.maxBytes || k === key) break
      this.drop(k)
    }
    return entry
  }

  /** The series when it is in memory, else its stored overview; null when neither (then `get` it). */
  getQuick(db: Db, runId: number, name: string): { series: SeriesColumns; overviewOf: number | null } | null {
    const key = `${runId}\u0000${name}`
    const entry = this.entries.get(key)
    if (entry && !entry.stale) return { series: entry, overviewOf: null }
    let o = this.overviews.get(key)
    if (!o) {
      const read = readSeriesOverview(db, runId, name)
      if (!read) return null
      this.overviews.set(key, (o = read))
    }
    if (this.quiet) return { series: o.overview, overviewOf: o.points }
    this.pending.push({ db, runId, name })
    // after the last overview request (the view's first frames drawn, not competing with them for a CPU)
    if (this.waiting) clearTimeout(this.waiting)
    this.waiting = setTimeout(() => {
      this.waiting = null
      this.readPending()
    }, BACKGROUND_DELAY_MS)
    return { series: o.overview, overviewOf: o.points }
  }

  /** Reads whole series asked for by overview frames, one per turn of the event loop: requests go first. */
  private readPending(): void {
    this.timer = null
    if (this.waiting) return
    const next = this.pending.shift()
    if (!next) return
    try {
      if (!this.entries.has(`${next.runId}\u0000${next.name}`) && next.db.open) this.get(next.db, next.runId, next.name, false)
    } catch {
      // the database closed or the run went away: the next request reads what is there
    }
    if (this.pending.length) this.timer = setImmediate(() => this.readPending())
  }

  /**
   * Reads the stored overviews of finished runs, newest first, into memory ahead of the first Compare
   * open (the server just started: reading 400 of them from SQLite was ~110 ms of that open's first frames,
   * on the path to its first paint). A few per turn of the event loop, so requests go first; up to
   * `maxBytes` of them; a request that comes before the end reads the rest itself, as without this.
   */
  preloadOverviews(db: Db, maxBytes = 64 * 1024 * 1024, then?: () => void): void {
    const keys = db.prepare('SELECT run_id AS runId, name, length(data) AS bytes FROM series_overview ORDER BY run_id DESC').all() as { runId: number; name: string; bytes: number }[]
    let budget = maxBytes
    const step = () => {
      this.preloading = null
      for (let n = 0; n < 16 && keys.length; n++) {
        const k = keys.shift()!
        if ((budget -= k.bytes) < 0) return void then?.()
        const key = `${k.runId}\u0000${k.name}`
        if (this.overviews.has(key) || this.entries.has(key)) continue
        try {
          const read = db.open ? readSeriesOverview(db, k.runId, k.name) : null
          if (read) this.overviews.set(key, read)
        } catch {
          return // the database closed: nothing to warm
        }
      }
      if (keys.length) this.preloading = setImmediate(step)
      else then?.()
    }
    this.preloading = setImmediate(step)
  }

  /** Runs `make` (frames of the whole extent) without queueing the whole series it touches for reading. */
  quietly<T>(make: () => T): T {
    this.quiet = true
    try {
      return make()
    } finally {
      this.quiet = false
    }
  }

  /** Whole series held in memory (not overviews). */
  get size(): number {
    return this.entries.size
  }

  /** Stops the background reads (the database is closing). */
  stop(): void {
    if (this.preloading) clearImmediate(this.preloading)
    this.preloading = null
    this.pending.length = 0
    if (this.timer) clearImmediate(this.timer)
    this.timer = null
    if (this.waiting) clearTimeout(this.waiting)
    this.waiting = null
  }

  /** New points were written: the next read appends them. */
  markStale(runId: number): void {
    for (const [k, e] of this.entries) if (k.startsWith(`${runId}\u0000`)) e.stale = true
    for (const k of [...this.overviews.keys()]) if (k.startsWith(`${runId}\u0000`)) this.overviews.delete(k)
  }

  /** The run restarted or went away: its points may have been rewritten. */
  forget(runId: number): void {
    for (const k of [...this.entries.keys()]) if (k.startsWith(`${runId}\u0000`)) this.drop(k)
    for (const k of [...this.overviews.keys()]) if (k.startsWith(`${runId}\u0000`)) this.overviews.delete(k)
  }

  private tryWrite(write: () => void): void {
    try {
      write()
    } catch {
      // a read-only or full database still serves the series; only the next read is slower
    }
  }

  private drop(key: string): void {
    const e = this.entries.get(key)
    if (!e) return
    this.bytes -= e.bytes
    this.entries.delete(key)
  }
}

function concat(a: SeriesColumns, b: SeriesColumns): SeriesColumns {
  const join = (x: Float64Array, y: Float64Array) => {
    const out = new Float64Array(x.length + y.length)
    out.set(x)
    out.set(y, x.length)
    return out
  }
  return { step: join(a.step, b.step), value: join(a.value, b.value), wall: join(a.wall, b.wall) }
}

/** Tokens one optimizer step consumes (padded sequences), from a run config; null when it does not say. */
export function tokensPerStep(config: Record<string, unknown>): number | null {
  const n = (k: string) => (typeof config[k] === 'number' ? (config[k] as number) : null)
  const batch = n('batchSize')
  const length = n('maxSeqLength')
  if (batch == null || length == null) return null
  return batch * (n('gradientAccumulation') ?? 1) * length
}

/** The x of every point of a series on the chosen axis; null when the run cannot be placed on it. */
export function xValues(s: SeriesColumns, axis: XAxis, config: Record<string, unknown>): Float64Array | null {
  if (axis === 'step') return s.step
  if (axis === 'wall') {
    const t0 = s.wall[0] ?? 0
    return s.wall.map((w) => w - t0) // seconds since the run's first point, so runs from different days overlay
  }
  const perStep = tokensPerStep(config)
  return perStep == null ? null : s.step.map((step) => step * perStep)
}

/** Points in x order (wall time goes back when a run resumed from an earlier checkpoint). */
function ascending(xs: Float64Array, ys: Float64Array): { xs: Float64Array; ys: Float64Array } {
  let sorted = true
  for (let i = 1; i < xs.length && sorted; i++) sorted = xs[i] >= xs[i - 1]
  if (sorted) return { xs, ys }
  const order = Array.from(xs.keys()).sort((a, b) => xs[a] - xs[b])
  return { xs: Float64Array.from(order, (i) => xs[i]), ys: Float64Array.from(order, (i) => ys[i]) }
}

export const toBase64 = (a: Float32Array | Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64')

export function seriesFrame(db: Db, cache: SeriesCache, req: SeriesRequest): SeriesFrame {
  // an overview keeps the extremes of OVERVIEW_BUCKETS runs of points: enough for half as many buckets on screen
  const quick = req.range == null && req.smoothing === 0 && req.width * 2 <= OVERVIEW_BUCKETS
  const lines = req.runIds.map((runId) => {
    const run = getRun(db, runId)
    if (!run) return { runId, skipped: 'no such run' }
    const live = run.status === 'running'
    const held = quick && !live ? cache.getQuick(db, runId, req.metric) : null
    const s = held?.series ?? cache.get(db, runId, req.metric, live)
    if (s.step.length === 0) return { runId, skipped: `no ${req.metric} series` }
    const xs = xValues(s, req.x, run.config)
    if (!xs) return { runId, skipped: 'no batchSize/maxSeqLength in its config: tokens seen unknown' }
    const ys = req.smoothing > 0 ? emaSmooth(s.value, req.smoothing) : s.value
    return { runId, overviewOf: held?.overviewOf ?? null, ...ascending(xs, ys) }
  })
  let extent: [number, number] | null = null
  for (const l of lines) {
    if (!('xs' in l) || !l.xs || l.xs.length === 0) continue
    const lo = l.xs[0]
    const hi = l.xs[l.xs.length - 1]
    extent = extent ? [Math.min(extent[0], lo), Math.max(extent[1], hi)] : [lo, hi]
  }
  const range: [number, number] = req.range ?? extent ?? [0, 1]
  if (range[1] <= range[0]) range[1] = range[0] + 1
  const grid: Grid = { lo: range[0], hi: range[1], buckets: req.width }
  const runs: SeriesFrameRun[] = lines.map((l) => {
    if (!('xs' in l) || !l.xs) return { runId: l.runId, ys: null, points: 0, skipped: l.skipped }
    const out = new Float32Array(grid.buckets * SLOTS)
    const points = downsampleMinMax(l.xs, l.ys, grid, out)
    // the whole extent: an overview stands for every point of its series
    return l.overviewOf != null ? { runId: l.runId, ys: toBase64(out), points: l.overviewOf, overview: true } : { runId: l.runId, ys: toBase64(out), points }
  })
  return { metric: req.metric, x: req.x, range, extent, buckets: grid.buckets, xs: toBase64(gridXs(grid)), runs }
}

/**
 * Real points kept by min/max buckets (first, min, max, last of each bucket, in order), for exports that
 * want [step, value] pairs rather than a display grid.
 */
export function pickMinMaxPoints(xs: ArrayLike<number>, ys: ArrayLike<number>, buckets: number): number[] {
  if (xs.length <= buckets * SLOTS) return Array.from({ length: xs.length }, (_, i) => i)
  const lo = xs[0]
  const hi = xs[xs.length - 1]
  const keep: number[] = []
  let i = 0
  for (let b = 0; b < buckets; b++) {
    const end = b === buckets - 1 ? xs.length : lowerBound(xs, lo + ((b + 1) * (hi - lo)) / buckets)
    if (end <= i) continue
    let minI = i
    let maxI = i
    for (let j = i; j < end; j++) {
      if (ys[j] < ys[minI]) minI = j
      if (ys[j] > ys[maxI]) maxI = j
    }
    for (const k of new Set([i, Math.min(minI, maxI), Math.max(minI, maxI), end - 1])) keep.push(k)
    i = end
  }
  return keep
}
