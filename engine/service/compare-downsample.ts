// Downsampling long series for display, to the pixels on screen: min/max buckets (M4: first, min, max,
// last of every bucket, min and max in the order they occurred). Every series of a frame shares one
// bucket grid, so the chart gets one x array for all runs (uPlot's aligned data) without joining.
// A pixel-wide bucket keeps the drawn line identical to the full series'; the full data stays in the
// database.

export interface Grid {
  lo: number
  hi: number
  buckets: number
}

export const SLOTS = 4 // per bucket: first, min|max, max|min, last

/** The x of every slot: four evenly inside each bucket. */
export function gridXs(grid: Grid): Float64Array {
  const xs = new Float64Array(grid.buckets * SLOTS)
  const width = (grid.hi - grid.lo) / grid.buckets
  for (let b = 0; b < grid.buckets; b++) for (let k = 0; k < SLOTS; k++) xs[b * SLOTS + k] = grid.lo + (b + (k + 0.5) / SLOTS) * width
  return xs
}

/**
 * Fills `out` (length buckets × 4) with the first, extreme and last values of every bucket of the points
 * (xs ascending) that fall in [lo, hi]; NaN where a bucket is empty. Returns how many points fell in.
 */
export function downsampleMinMax(xs: ArrayLike<number>, ys: ArrayLike<number>, grid: Grid, out: Float32Array | Float64Array): number {
  out.fill(NaN)
  const { lo, hi, buckets } = grid
  const scale = hi > lo ? buckets / (hi - lo) : 0
  const lastBucket = buckets - 1
  // no call per point (Math.*, Number.isFinite; one per bucket) and the extremes kept in locals: the first
  // Compare open after a server start runs this over 1.6 M overview points before the JIT has warmed up
  let count = 0
  let bucket = -1
  let first = 0
  let min = 0
  let max = 0
  let last = 0
  let minI = 0
  let maxI = 0
  for (let i = lowerBound(xs, lo), n = xs.length; i < n; i++) {
    const x = xs[i]
    if (x > hi) break
    const y = ys[i]
    if (y - y !== 0) continue // NaN or ±Infinity
    count++
    let b = ((x - lo) * scale) | 0 // x ≥ lo: truncation is floor
    if (b > lastBucket) b = lastBucket
    if (b !== bucket) {
      if (bucket >= 0) writeBucket(out, bucket, first, min, max, last, minI <= maxI)
      bucket = b
      first = min = max = last = y
      minI = maxI = i
      continue
    }
    if (y < min) {
      min = y
      minI = i
    }
    if (y > max) {
      max = y
      maxI = i
    }
    last = y
  }
  if (bucket >= 0) writeBucket(out, bucket, first, min, max, last, minI <= maxI)
  return count
}

/** A bucket's four slots: first, the extremes in the order they came, last. */
function writeBucket(out: Float32Array | Float64Array, bucket: number, first: number, min: number, max: number, last: number, minFirst: boolean): void {
  const o = bucket * SLOTS
  out[o] = first
  out[o + 1] = minFirst ? min : max
  out[o + 2] = minFirst ? max : min
  out[o + 3] = last
}

/** TensorBoard's smoothing: an exponential moving average with the start-up bias removed. weight in [0, 1). */
export function emaSmooth(ys: ArrayLike<number>, weight: number): Float64Array {
  const out = new Float64Array(ys.length)
  let last = 0
  let n = 0
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i]
    if (!Number.isFinite(y)) {
      out[i] = y
      continue
    }
    last = last * weight + (1 - weight) * y
    n++
    out[i] = weight === 0 ? y : last / (1 - weight ** n)
  }
  return out
}

/** First index with xs[i] >= x (xs ascending). */
export function lowerBound(xs: ArrayLike<number>, x: number): number {
  let a = 0
  let b = xs.length
  while (a < b) {
    const m = (a + b) >>> 1
    if (xs[m] < x) a = m + 1
    else b = m
  }
  return a
}
