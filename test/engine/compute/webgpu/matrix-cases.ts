// The matrix units' kernel (matmul-matrix.ts) in its emulated form, against the 64×64 kernel and tfjs
// cpu, for matmul-matrix.test.ts and wide-subgroups.ts. The emulation sums each value's products in k
// order with FMAs, as the 64×64 kernel does except for A·Bᵀ (there it adds dot products of four), so it
// must equal that kernel bit for bit except there, and be within float32 rounding there.
import { expect } from 'vitest'
import { forceKernel } from '../../../../engine/compute/webgpu/matmul-choice'
import type { MatrixPlan } from '../../../../engine/compute/webgpu/matmul-matrix'
import { expectClose } from '../../model/ops/compare'
import { inputsOf, onCpu, onGpu, type Case } from './matmul-cases'

// every kind of product the dense layers make in fp16, each feature at least once
export const MATRIX_CASES: Case[] = [
  { M: 3, N: 257, K: 65, f16: true }, // ragged everything
  { M: 130, N: 3, K: 130, transA: true, f16: true },
  { M: 130, N: 63, K: 257, transB: true, f16: true }, // A·Bᵀ: the 64×64 kernel adds dot products
  { M: 63, N: 65, K: 63, transA: true, transB: true, f16: true },
  { M: 68, N: 132, K: 20, bias: true, f16: true }, // vec4 loads
  { M: 140, N: 68, K: 36, transB: true, bias: true, gelu: true, packZ: true, halfB: true }, // packed W, packed Z
  { M: 136, N: 44, K: 64, transA: true, halfA: true, halfB: true, rowSums: true }, // dW and db from packed operands
  { M: 33, N: 140, K: 32, batch: 3, transB: true, broadcastB: true, f16: true },
  { M: 70, N: 40, K: 1100, transA: true, rowSums: true, f16: true }, // split-K: 2 chunks of 560 (not a multiple of 32)
]

/** Each case with `plan` forced: bit for bit the 64×64 kernel (A·Bᵀ within rounding), and tfjs cpu within 2e-5. */
export async function checkMatrixCases(plan: MatrixPlan, cases: Case[]): Promise<void> {
  for (const c of cases) {
    const x = inputsOf(c)
    const tiled = await onGpu(c, x)
    const previous = forceKernel({ share: 0, tileM: 64, tileN: 64, matrix: plan })
    let matrix: Float32Array[]
    try {
      matrix = await onGpu(c, x)
    } finally {
      forceKernel(previous)
    }
    const name = `${plan.m}×${plan.n}×${plan.k} over ${plan.subgroups} subgroups, ${JSON.stringify(c)}`
    // (a packed Z may round to the neighbouring f16 where z lies at a rounding boundary)
    if (c.transB && !c.transA) expectClose(matrix, tiled, c.packZ ? 1e-3 : 1e-6)
    else matrix.forEach((v, k) => expect(Array.from(v), `${name}, output ${k}`).toEqual(Array.from(tiled[k])))
    expectClose(matrix, await onCpu(c, x), c.packZ ? 1e-3 : 2e-5)
  }
}
