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
  let count = 0
  let bucket = -1
  let firstI = 0
  let minI = 0
  let maxI = 0
  let lastI = 0
  const flush = () => {
    if (bucket < 0) return
    const o = bucket * SLOTS
    out[o] = ys[firstI]
    out[o + 1] = ys[Math.min(minI, maxI)]
    out[o + 2] = ys[Math.max(minI, maxI)]
    out[o + 3] = ys[lastI]
  }
  for (let i = lowerBound(xs, lo); i < xs.length && xs[i] <= hi; i++) {
    const y = ys[i]
    if (!Number.isFinite(y)) continue
    count++
    const b = Math.min(buckets - 1, Math.floor((xs[i] - lo) * scale))
    if (b !== bucket) {
      flush()
      bucket = b
      firstI = minI = maxI = lastI = i
      continue
    }
    if (y < ys[minI]) minI = i
    if (y > ys[maxI]) maxI = i
    lastI = i
  }
  flush()
  return count
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
