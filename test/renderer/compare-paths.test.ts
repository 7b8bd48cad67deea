import { describe, expect, it } from 'vitest'
import { traceColumns, type PathSink } from '../../renderer/src/compare-paths'

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
