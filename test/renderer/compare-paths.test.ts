import { describe, expect, it } from 'vitest'
import { rasterColumns, traceColumns, type PathSink } from '../../renderer/src/compare-paths'

type Point = [x: number, y: number]

/** Records the polyline a trace draws: its vertices, and how many times it started a new sub-path. */
function trace(xs: number[], ys: (number | null)[], pxPerX = 1, from = 0, to = xs.length - 1) {
  const vertices: Point[] = []
  let moves = 0
  const sink: PathSink = {
    moveTo: (x, y) => {
      moves++
      vertices.push([x, y])
    },
    lineTo: (x, y) => void vertices.push([x, y]),
  }
  // y pixels grow downwards, as on a canvas
  const columns = traceColumns(xs, ys, from, to, (x) => x * pxPerX, (y) => 1000 - y, sink)
  return { vertices, moves, columns }
}

/** Whether pixel (x, y) lies on the polyline through `vertices`. */
const onPath = (vertices: Point[], x: number, y: number) =>
  vertices.slice(1).some(([x1, y1], k) => {
    const [x0, y0] = vertices[k]
    if (x < Math.min(x0, x1) - 1e-9 || x > Math.max(x0, x1) + 1e-9) return false
    if (x0 === x1) return y >= Math.min(y0, y1) - 1e-9 && y <= Math.max(y0, y1) + 1e-9
    return Math.abs(y0 + ((y1 - y0) * (x - x0)) / (x1 - x0) - y) < 1e-9
  })

describe('traceColumns (Compare curves, min/max per pixel column)', () => {
  // a noisy decreasing curve of 2,000 points over 500 pixel columns (4 per column), with NaN gaps
  const xs = Array.from({ length: 2000 }, (_, i) => i)
  const ys = xs.map((i) => (i % 97 === 5 ? NaN : 500 * Math.exp(-i / 400) + 40 * Math.sin(i * 1.7)))
  const colOf = (x: number) => Math.round(x * 0.25)
  const byColumn = new Map<number, number[]>()
  xs.forEach((x, i) => Number.isNaN(ys[i]) || byColumn.set(colOf(x), [...(byColumn.get(colOf(x)) ?? []), ys[i]]))
  const { vertices, moves, columns } = trace(xs, ys, 0.25)

  it("draws each pixel column's lowest and highest value, and every point lies on the line at its column", () => {
    expect(columns).toBe(byColumn.size)
    for (const [col, values] of byColumn) {
      expect(vertices).toContainEqual([col, 1000 - Math.min(...values)])
      expect(vertices).toContainEqual([col, 1000 - Math.max(...values)])
      for (const v of values) expect(onPath(vertices, col, 1000 - v)).toBe(true)
    }
    // nothing invented: every vertex is a point of the series, in its own column
    for (const [x, y] of vertices) expect(byColumn.get(x)!.some((v) => Math.abs(1000 - v - y) < 1e-9)).toBe(true)
    // at most four vertices per column (first, lowest, highest, last)
    expect(vertices.length).toBeLessThanOrEqual(4 * byColumn.size)
  })

  it('is one line from the first point to the last, left to right, across the NaN gaps', () => {
    expect(moves).toBe(1)
    expect(vertices[0]).toEqual([0, 1000 - ys[0]])
    expect(vertices.at(-1)).toEqual([colOf(xs.length - 1), 1000 - ys.at(-1)!])
    for (let k = 1; k < vertices.length; k++) expect(vertices[k][0]).toBeGreaterThanOrEqual(vertices[k - 1][0])
    // each column is entered at its first value and left at its last
    for (const [col, values] of byColumn) {
      const at = vertices.filter(([x]) => x === col)
      expect(at[0][1]).toBeCloseTo(1000 - values[0], 9)
      expect(at.at(-1)![1]).toBeCloseTo(1000 - values.at(-1)!, 9)
    }
  })

  it('keeps every point where a column holds two or fewer (the polyline itself)', () => {
    const sparse = trace(xs, ys, 0.5, 0, 199) // two points per column
    const points = xs.slice(0, 200).filter((_, i) => !Number.isNaN(ys[i])).map((x) => [Math.round(x * 0.5), 1000 - ys[x]])
    expect(sparse.vertices).toEqual(points)
  })

  it('draws only the index range asked for, skips nulls, and shows a lone point as a dot', () => {
    const part = trace(xs, ys, 1, 100, 109)
    expect(part.columns).toBe(10 - ys.slice(100, 110).filter(Number.isNaN).length)
    expect(part.vertices[0][0]).toBe(100)
    expect(part.vertices.at(-1)![0]).toBe(109)
    expect(trace([0, 1, 2], [null, 7, null]).vertices).toEqual([
      [1, 993],
      [2, 993],
    ])
    expect(trace([0, 1], [null, null])).toEqual({ vertices: [], moves: 0, columns: 0 })
  })
})

describe('rasterColumns (dense Compare curves written into pixels)', () => {
  const W = 520
  const H = 300
  const COLOR = 0xff2050e0 >>> 0
  // the same noisy curve as above: 2,000 points over 500 columns, with NaN gaps
  const xs = Array.from({ length: 2000 }, (_, i) => i)
  const ys = xs.map((i) => (i % 97 === 5 ? NaN : 500 * Math.exp(-i / 400) + 40 * Math.sin(i * 1.7)))
  const map = { x0: 0, kx: 0.25, y0: -50, ky: 0.5, log: false }
  const rowOf = (y: number) => H - 1 - (y - map.y0) * map.ky
  const colOf = (x: number) => Math.floor(x * map.kx + 0.5)

  function draw(from = 0, to = xs.length - 1, values: ArrayLike<number | null> = ys, m = map, w = W) {
    const pixels = new Uint32Array(w * H)
    rasterColumns(xs, values, from, to, m, pixels, w, H, COLOR)
    return pixels
  }
  /** The rows set in column x, as [first, last], checking they are one unbroken run. */
  function run(pixels: Uint32Array, x: number, w = W): [number, number] | null {
    const rows = [...Array(H).keys()].filter((y) => pixels[y * w + x] !== 0)
    if (rows.length === 0) return null
    expect(rows.at(-1)! - rows[0] + 1).toBe(rows.length)
    return [rows[0], rows.at(-1)!]
  }
  const covers = (r: [number, number] | null, row: number) => r != null && r[0] <= row && row <= r[1]

  it("covers each column's lowest to highest value, with every point on the line and nothing else drawn", () => {
    const pixels = draw()
    expect(new Set(pixels)).toEqual(new Set([0, COLOR]))
    const byColumn = new Map<number, number[]>()
    xs.forEach((x, i) => Number.isNaN(ys[i]) || byColumn.set(colOf(x), [...(byColumn.get(colOf(x)) ?? []), rowOf(ys[i])]))
    for (const [x, rows] of byColumn) {
      const [a, b] = run(pixels, x)!
      expect(a).toBeLessThanOrEqual(Math.round(Math.min(...rows)))
      expect(b).toBeGreaterThanOrEqual(Math.round(Math.max(...rows)))
      // nothing invented: beyond its own points a column reaches at most its neighbours' rows (the
      // connectors' halves)
      const near = [...rows, ...(byColumn.get(x - 1) ?? []), ...(byColumn.get(x + 1) ?? [])]
      expect(a).toBeGreaterThanOrEqual(Math.round(Math.min(...near)))
      expect(b).toBeLessThanOrEqual(Math.round(Math.max(...near)))
    }
    // one unbroken line: neighbouring columns' runs touch (8-connected), from the first column to the last
    const last = colOf(xs.length - 1)
    for (let x = 1; x <= last; x++) {
      const [a0, b0] = run(pixels, x - 1)!
      const [a1, b1] = run(pixels, x)!
      expect(a1 <= b0 + 1 && a0 <= b1 + 1).toBe(true)
    }
    for (let x = last + 1; x < W; x++) expect(run(pixels, x)).toBeNull()
  })

  it('draws a steep segment between distant points without holes, clipped to the buffer', () => {
    const w = 100
    // three points: far left of the buffer, inside, far right, the last one above the top
    const pixels = new Uint32Array(w * H)
    rasterColumns([-400, 40, 60, 900], [0, 100, 500, 5000], 0, 3, { x0: 0, kx: 1, y0: 0, ky: 0.5, log: false }, pixels, w, H, COLOR)
    for (let x = 0; x <= 78; x++) expect(run(pixels, x, w)).not.toBeNull() // the line crosses every column until it leaves the top
    // between x = 40 and 60 the line climbs 200 rows: each column's run reaches the next one's
    for (let x = 41; x <= 60; x++) {
      const [a0] = run(pixels, x - 1, w)!
      const [, b1] = run(pixels, x, w)!
      expect(b1).toBeGreaterThanOrEqual(a0 - 1)
    }
    expect(covers(run(pixels, 40, w), Math.round(H - 1 - 50))).toBe(true)
    // from x = 79 on the line is above the buffer (value > 598): clipped, not piled up on the top row
    for (let x = 79; x < w; x++) expect(run(pixels, x, w)).toBeNull()
  })

  it('draws lines lineWidth pixels wide (a CSS pixel on a HiDPI canvas): each pixel also right and below', () => {
    const thin = draw()
    const wide = new Uint32Array(W * H)
    rasterColumns(xs, ys, 0, xs.length - 1, map, wide, W, H, COLOR, 2)
    const grown = new Uint32Array(W * H)
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        if (!thin[y * W + x]) continue
        for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) if (x + dx < W && y + dy < H) grown[(y + dy) * W + x + dx] = COLOR
      }
    }
    expect(wide).toEqual(grown)
  })

  it('draws only the index range asked for, spans nulls, and maps log10 of the values on a log scale', () => {
    const part = draw(100, 109)
    const columns = [...Array(W).keys()].filter((x) => run(part, x) != null)
    expect(columns).toEqual([25, 26, 27])
    const gap = draw(0, 3, [1, null, NaN, 4])
    expect([0, 1].map((x) => run(gap, x) != null)).toEqual([true, true]) // x 0 and 3: columns 0 and 1, joined
    const decades = [1, 10, 100, 1000, 0]
    const logged = new Uint32Array(W * H)
    rasterColumns([0, 40, 80, 120, 160], decades, 0, 4, { x0: 0, kx: 1, y0: 0, ky: 90, log: true }, logged, W, H, COLOR)
    // one decade every 90 rows; the value 0 has no logarithm and is skipped
    for (const [k, x] of [0, 40, 80, 120].entries()) expect(covers(run(logged, x, W), H - 1 - 90 * k)).toBe(true)
    expect(run(logged, 160)).toBeNull()
  })
})
