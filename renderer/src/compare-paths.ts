// The path uPlot strokes for each of Compare's dense series (hundreds of runs, about two points per pixel
// column). uPlot's own linear builder makes closure calls through valToPos and pixel rounding for every
// x and y, plus gap bookkeeping these series do not need (they span gaps). Here the mapping is inlined
// (one multiply-add per coordinate), and a pixel column holding more than two points keeps only what a
// line can show there: its first value, its lowest and highest, and its last, in an order that draws
// them as one vertical stroke between the connectors to its neighbours. With two points or fewer per
// column this is the polyline itself.
//
// From DENSE_RUNS runs on the same lines are not stroked but written straight into pixels
// (rasterColumns): on a software canvas, building and stroking a Path2D of ~1,800 vertices for each of
// 200 runs (a chart 894 px wide) took ~130 ms of a chart's ~200 ms draw; writing the pixels took ~35 ms
// cold, the chart's first draw (CPU profiles of the bench's first open). Those lines are one CSS pixel
// wide and not anti-aliased, which cannot be seen in a bundle of dozens of curves; fewer runs keep the
// anti-aliased strokes.
import uPlot from 'uplot'

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

/** From this many runs on, a chart writes its curves into pixels (denseDraw) instead of stroking paths. */
export const DENSE_RUNS = 9

/**
 * Draws points `from`..`to` of (xs, ys) into 32-bit RGBA `pixels` (`width` × `height`, rows top to
 * bottom) in `color` (the bytes R, G, B, A in memory order), as traceColumns would trace them: in each
 * pixel column, the span from its lowest to its highest value; between columns, the segment from one
 * column's last value to the next one's first, each column covering its part of it (so a steep line
 * has no holes). x maps to column round((x − x0)·kx), y to row (height − 1) − (y − y0)·ky, of log10(y) when
 * `log` (values ≤ 0 skipped there); null and NaN are skipped, the line spanning the gap. Not
 * anti-aliased; `lineWidth` pixels wide; nothing is written outside the buffer. One function with no call per point: the first
 * chart draws before the JIT has warmed up, and calls per point (a sink, a mapping closure) cost 3–4×
 * there.
 */
export function rasterColumns(
  xs: ArrayLike<number>,
  ys: ArrayLike<number | null>,
  from: number,
  to: number,
  map: { x0: number; kx: number; y0: number; ky: number; log: boolean },
  pixels: Uint32Array,
  width: number,
  height: number,
  color: number,
  lineWidth = 1,
): void {
  const { x0, kx, y0, ky, log } = map
  const bottom = height - 1
  const thick = lineWidth - 1 // pixels added right of and below each span (a line of device pixels on a HiDPI canvas)
  let col = NaN // the column being gathered (NaN before the first point)
  let lo = 0
  let hi = 0
  let last = 0
  for (let i = from; i <= to + 1; i++) {
    let c = NaN // the next point's column and row (NaN after the last point: only the flush below)
    let row = 0
    if (i <= to) {
      let y = ys[i]
      if (y == null || y !== y || (log && y <= 0)) continue
      if (log) y = Math.log10(y)
      row = bottom - (y - y0) * ky
      c = Math.floor((xs[i] - x0) * kx + 0.5)
      if (c === col) {
        if (row < lo) lo = row
        else if (row > hi) hi = row
        last = row
        continue
      }
    }
    if (col === col) {
      for (let x = col > 0 ? col : 0, xEnd = col + thick < width - 1 ? col + thick : width - 1; x <= xEnd; x++) {
        let a = Math.round(lo)
        let b = Math.round(hi) + thick
        if (a < 0) a = 0
        if (b > bottom) b = bottom
        for (let k = a * width + x, end = b * width + x; k <= end; k += width) pixels[k] = color
      }
      if (c === c) {
        // the segment (col, last) → (c, row): column x holds its part between x − ½ and x + ½
        const slope = (row - last) / (c - col)
        const stop = c < width - 1 ? c : width - 1
        for (let x = col > 0 ? col : 0; x <= stop; x++) {
          const ya = x === col ? last : last + slope * (x - 0.5 - col)
          const yb = x === c ? row : last + slope * (x + 0.5 - col)
          let a = Math.round(ya < yb ? ya : yb)
          let b = Math.round(ya < yb ? yb : ya) + thick
          if (a < 0) a = 0
          if (b > bottom) b = bottom
          for (let xx = x, xEnd = x + thick < width - 1 ? x + thick : width - 1; xx <= xEnd; xx++) {
            for (let k = a * width + xx, end = b * width + xx; k <= end; k += width) pixels[k] = color
          }
        }
      }
    }
    col = c
    lo = hi = last = row
  }
}

/**
 * A CSS colour as rasterColumns' `color`. The canvas parses it: a 2D context's fillStyle reads back as
 * `#rrggbb`, or `rgba(r, g, b, a)` when not opaque (no pixel is drawn or read: that cost ~2 ms a colour).
 */
let parser: CanvasRenderingContext2D | null = null
const packed = new Map<string, number>()
export function packColor(css: string): number {
  let c = packed.get(css)
  if (c == null) {
    parser ??= document.createElement('canvas').getContext('2d')!
    parser.fillStyle = '#000000'
    parser.fillStyle = css
    const style = String(parser.fillStyle)
    let rgba: number[]
    if (style.startsWith('#')) rgba = [1, 3, 5].map((k) => parseInt(style.slice(k, k + 2), 16)).concat(255)
    else {
      const [r, g, b, a = 1] = style.match(/[\d.]+/g)!.map(Number)
      rgba = [r, g, b, Math.round(a * 255)]
    }
    c = new Uint32Array(Uint8Array.from(rgba).buffer)[0]
    packed.set(css, c)
  }
  return c
}

const images = new WeakMap<uPlot, ImageData>()

/**
 * A `drawClear` hook (the canvas just cleared; axes and grid are drawn next, over it): every series of
 * `u` (except x) traced as by columnPaths, in canvas pixels, one CSS pixel wide, put straight into the
 * plot area. The series themselves are given `paths: () => null`.
 */
export function denseDraw(u: uPlot, colors: readonly string[]): void {
  const { left, top, width, height } = u.bbox
  const sx = u.scales.x
  const w = Math.round(width)
  const h = Math.round(height)
  if (sx.min == null || sx.max == null || sx.max <= sx.min || w <= 0 || h <= 0) return
  let image = images.get(u)
  if (!image || image.width !== w || image.height !== h) images.set(u, (image = new ImageData(w, h)))
  const pixels = new Uint32Array(image.data.buffer)
  pixels.fill(0)
  // the device pixels of one CSS pixel: uPlot's own ratio, not the plot's clientWidth (a layout read mid-draw)
  const lineWidth = Math.max(1, Math.round(uPlot.pxRatio))
  const xs = u.data[0] as ArrayLike<number>
  const x0 = sx.min
  const kx = (w - 1) / (sx.max - x0) // the range's ends on the first and last pixel columns
  // the points just outside the x range too, so that the lines run to the plot's edges
  const from = Math.max(0, lowerIndex(xs, x0) - 1)
  const to = Math.min(xs.length - 1, lowerIndex(xs, sx.max))
  for (let i = 1; i < u.series.length; i++) {
    const sy = u.scales[u.series[i].scale ?? 'y']
    if (sy.min == null || sy.max == null || sy.max <= sy.min) continue
    const log = sy.distr === 3
    const y0 = log ? Math.log10(sy.min) : sy.min
    const ky = (h - 1) / ((log ? Math.log10(sy.max) : sy.max) - y0)
    rasterColumns(xs, u.data[i] as ArrayLike<number | null>, from, to, { x0, kx, y0, ky, log }, pixels, w, h, packColor(colors[i - 1] ?? '#888'), lineWidth)
  }
  u.ctx.putImageData(image, Math.round(left), Math.round(top))
}

/** The first index whose x is at least `x` (xs ascending); xs.length when none. */
function lowerIndex(xs: ArrayLike<number>, x: number): number {
  let lo = 0
  let hi = xs.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (xs[mid] < x) lo = mid + 1
    else hi = mid
  }
  return lo
}
