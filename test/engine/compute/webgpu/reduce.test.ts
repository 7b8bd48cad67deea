// Column sums on webgpu (engine/compute/webgpu/reduce.ts), LayerNorm's γ and β gradients: against sums in
// float64 of the same values, over ragged shapes (rows and columns not multiples of the 16×16 workgroup,
// fewer rows than lanes, more columns than one grid dimension holds), large and small values.
import * as tf from '@tensorflow/tfjs'
import { expect, it } from 'vitest'
import { columnSums } from '../../../../engine/compute/webgpu/reduce'
import { webgpuInternals } from '../../../../engine/compute/webgpu/runner'
import { randomValues } from '../kernels/on-backends'
import { readInfo } from './f16'
import { describeOnWebgpu } from './on-webgpu'

function sums(a: Float32Array, b: Float32Array | null, rows: number, cols: number): Float64Array {
  const out = new Float64Array(cols)
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c] += a[r * cols + c] * (b ? b[r * cols + c] : 1)
  return out
}

// |Σ − exact| within float32 rounding of each term: n·ε·Σ|terms|
function expectSums(actual: Float32Array, exact: Float64Array, magnitude: Float64Array, rows: number): void {
  for (let c = 0; c < exact.length; c++) {
    const bound = 2 * rows * 2 ** -24 * magnitude[c] + 1e-30
    if (!(Math.abs(actual[c] - exact[c]) <= bound)) expect.fail(`column ${c}: ${actual[c]}, exact ${exact[c]} (bound ${bound})`)
  }
}

describeOnWebgpu('column sums on webgpu', () => {
  const cases: [number, number, number][] = [
    [1, 1, 1],
    [5, 3, 1],
    [17, 33, 1e-20],
    [4096, 20, 1],
    [3, 21128, 1e6],
    [1, 1_048_577, 1], // 65,537 workgroups: folded into 2-D
  ]
  for (const [rows, cols, scale] of cases) {
    it(`${rows}×${cols}, values up to ${scale}: Σ a and, in one pass, Σ a·b and Σ a`, async () => {
      const backend = webgpuInternals(tf.backend())
      const av = randomValues(rows * cols, rows + cols).map((v) => v * scale)
      const bv = randomValues(rows * cols, rows * cols + 7)
      const a = tf.tensor2d(av, [rows, cols])
      const b = tf.tensor2d(bv, [rows, cols])
      try {
        const abs = (x: Float32Array) => x.map(Math.abs)
        const single = await readInfo(columnSums(backend, a, rows, cols)[0])
        const [ab, sa] = await Promise.all(columnSums(backend, a, rows, cols, b).map(readInfo))
        expectSums(single, sums(av, null, rows, cols), sums(abs(av), null, rows, cols), rows)
        expectSums(ab, sums(av, bv, rows, cols), sums(abs(av), abs(bv), rows, cols), rows)
        expect(sa).toEqual(single)
      } finally {
        tf.dispose([a, b])
      }
    })
  }
})
