// The path uPlot strokes for each of Compare's dense series (hundreds of runs, about two points per pixel
// column). uPlot's own linear builder makes closure calls through valToPos and pixel rounding for every
// x and y, plus gap bookkeeping these series do not need (they span gaps). Here the mapping is inlined
// (one multiply-add per coordinate), and a pixel column holding more than two points keeps only what a
// line can show there: its first value, its lowest and highest, and its last, in an order that draws
// them as one vertical stroke between the connectors to its neighbours. With two points or fewer per
// column this is the polyline itself.
import type uPlot from 'uplot'

/** Where the path goes: a Path2D in the page, a recorder in tests. */
export interface PathSink {
  moveTo(x: number, y: number): void
  lineTo(x: number, y: number): void
}

/**
 * Traces points `from`..`to` (inclusive) of (xs, ys) into `sink` as one polyline, a column per whole
 * pixel of `xPx(x)`; null and NaN values are skipped (the line spans the gap, as `spanGaps` does).
 * `yPx` maps a value to its pixel; it is called for at most four values per column. Returns the number
 * of columns drawn.
 */
export function traceColumns(
  xs: ArrayLike<number>,
  ys: ArrayLike<number | null>,
  from: number,
  to: number,
  xPx: (x: number) => number,
  yPx: (y: number) => number,
  sink: PathSink,
): number {
  let columns = 0
  let col = 0
  let first = 0
  let lo = 0
  let hi = 0
  let last = 0

  const flush = () => {
    if (columns === 0) sink.moveTo(col, yPx(first))
    else sink.lineTo(col, yPx(first))
    columns++
    if (hi === lo) return // one value (maybe repeated): the point is drawn
    // down to the extreme away from where the column ends, up to the other, back to its last value
    const endsHigh = hi - last < last - lo
    const e1 = endsHigh ? lo : hi
    const e2 = endsHigh ? hi : lo
    if (e1 !== first) sink.lineTo(col, yPx(e1))
    sink.lineTo(col, yPx(e2))
    if (last !== e2) sink.lineTo(col, yPx(last))
  }

  let open = false
  for (let i = from; i <= to; i++) {
    const y = ys[i]
    if (y == null || y !== y) continue // null, or NaN (y !== y) where a run has no point
    const c = Math.round(xPx(xs[i]))
    if (open && c === col) {
      if (y < lo) lo = y
      else if (y > hi) hi = y
      last = y
      continue
    }
    if (open) flush()
    open = true
    col = c
    first = lo = hi = last = y
  }
  if (open) flush()
  if (columns === 1 && hi === lo) sink.lineTo(col + 1, yPx(first)) // a lone point: a dot, not nothing
  return columns
}

/**
 * uPlot's `series.paths` for Compare's charts: horizontal x scale growing rightwards (the only kind they
 * use), linear or log y. Positions are canvas pixels, as uPlot's own builders produce.
 */
export const columnPaths: uPlot.Series.PathBuilder = (u, seriesIdx, idx0, idx1) => {
  const xs = u.data[0] as ArrayLike<number>
  const ys = u.data[seriesIdx] as ArrayLike<number | null>
  const { left, top, width, height } = u.bbox
  const sx = u.scales.x
  const yKey = u.series[seriesIdx].scale ?? 'y'
  const sy = u.scales[yKey]
  if (sx.min == null || sx.max == null || sy.min == null || sy.max == null || sx.max <= sx.min || sy.max <= sy.min) return null
  const x0 = sx.min
  const kx = width / (sx.max - x0)
  let yPx: (y: number) => number
  if (sy.distr === 1) {
    const y0 = sy.min
    const ky = height / (sy.max - y0)
    yPx = (y) => top + height - (y - y0) * ky
  } else {
    yPx = (y) => u.valToPos(y, yKey, true) // log and other distributions: uPlot's own mapping
  }
  const stroke = new Path2D()
  traceColumns(xs, ys, idx0, idx1, (x) => left + (x - x0) * kx, yPx, stroke)
  return { stroke, fill: null, clip: null, band: null, flags: 0 }
}
