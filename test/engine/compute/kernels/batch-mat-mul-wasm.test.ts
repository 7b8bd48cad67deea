import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { nativeStatus } from '../../../../engine/compute/native'
import { batchMatMulWasmConfig } from '../../../../engine/compute/kernels/batch-mat-mul-wasm'
import { expectSameNumbers, randomValues, runOn, withNativeKernels } from './on-backends'

// [batch dims of a, batch dims of b]: equal batches, broadcast either way, rank 4, rank 3 × rank 2.
const BATCHES: [number[], number[]][] = [
  [[], []],
  [[3], [3]],
  [[4], [1]],
  [[1], [4]],
  [[2, 3], [2, 3]],
  [[3], []],
  [[], [2]],
]
const TRANSPOSES = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const

function operands(aBatch: number[], bBatch: number[], m: number, k: number, n: number, ta: boolean, tb: boolean, seed: number) {
  const aShape = [...aBatch, ...(ta ? [k, m] : [m, k])]
  const bShape = [...bBatch, ...(tb ? [n, k] : [k, n])]
  const a = randomValues(tf.util.sizeFromShape(aShape), seed)
  const b = randomValues(tf.util.sizeFromShape(bShape), seed + 1)
  return { aShape, bShape, a, b }
}

it('finds the native addon and a BLAS here (npm builds engine/native; .ci/run installs OpenBLAS)', () => {
  expect(nativeStatus()).toMatchObject({ available: true })
})

// Both paths of the kernel: native sgemm on wasm memory, and XNNPACK (machines without a BLAS).
for (const path of ['native sgemm', 'XNNPACK'] as const) describe(`BatchMatMul on wasm (${path})`, () => {
  withNativeKernels(path === 'native sgemm')
  beforeAll(async () => {
    await tf.setBackend('wasm')
  })

  it('replaces the stock wasm kernel', () => {
    expect(tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc).toBe(batchMatMulWasmConfig.kernelFunc)
  })

  for (const [aBatch, bBatch] of BATCHES) {
    for (const [ta, tb] of TRANSPOSES) {
      it(`equals cpu for batches [${aBatch}] × [${bBatch}], transposeA=${ta}, transposeB=${tb}`, async () => {
        let seed = 7
        for (const [m, k, n] of [[5, 7, 3], [1, 9, 6], [17, 1, 4], [33, 40, 65]]) {
          const { aShape, bShape, a, b } = operands(aBatch, bBatch, m, k, n, ta, tb, seed++)
          const build = () => tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape), ta, tb)
          expectSameNumbers(await runOn('wasm', build), await runOn('cpu', build))
        }
      })
    }
  }

  // Two routes inside the kernel, each with its own shapes: a long inner dimension summed in chunks
  // (k > 4096), and A·Bᵀ with B much taller than A computed as (B·Aᵀ)ᵀ (n ≥ 16 m).
  const ROUTES: { name: string; aShape: number[]; bShape: number[]; ta: boolean; tb: boolean }[] = [
    { name: 'chunked k', aShape: [3, 9000], bShape: [9000, 5], ta: false, tb: false },
    { name: 'chunked k, folded batch', aShape: [2, 3, 6001], bShape: [6001, 4], ta: false, tb: false },
    { name: 'chunked k, transposed A', aShape: [5000, 3], bShape: [5000, 2], ta: true, tb: false },
    { name: 'swapped A·Bᵀ', aShape: [2, 7], bShape: [40, 7], ta: false, tb: true },
    { name: 'swapped A·Bᵀ with chunked k', aShape: [1, 4500], bShape: [20, 4500], ta: false, tb: true },
  ]
  for (const { name, aShape, bShape, ta, tb } of ROUTES) {
    it(`equals cpu on the ${name} route, NaN and Inf included`, async () => {
      const a = randomValues(tf.util.sizeFromShape(aShape), 21)
      const b = randomValues(tf.util.sizeFromShape(bShape), 22)
      const build = () => tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape), ta, tb)
      expectSameNumbers(await runOn('wasm', build), await runOn('cpu', build))
      a[1] = NaN
      b[b.length - 1] = Infinity
      expectSameNumbers(await runOn('wasm', build), await runOn('cpu', build))
    })
  }

  it('propagates NaN and Inf as the cpu backend does, in every transpose combination', async () => {
    for (const [ta, tb] of TRANSPOSES) {
      const { aShape, bShape, a, b } = operands([2], [2], 4, 6, 5, ta, tb, 99)
      a[0] = NaN // reaches one row of batch 0
      b[b.length - 1] = Infinity // reaches one column of batch 1
      b[b.length - 2] = -Infinity
      const build = () => tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape), ta, tb)
      const wasm = await runOn('wasm', build)
      expect(wasm.values.some(Number.isNaN)).toBe(true)
      expectSameNumbers(wasm, await runOn('cpu', build))
    }
  })

  it('returns zeros for an empty inner dimension and empty results for empty outer ones', async () => {
    const zeroK = () => tf.matMul(tf.zeros([2, 3, 0]), tf.zeros([2, 0, 4]))
    const wasm = await runOn('wasm', zeroK)
    expect(wasm.shape).toEqual([2, 3, 4])
    expect(Array.from(wasm.values)).toEqual(new Array(24).fill(0))
    const zeroM = await runOn('wasm', () => tf.matMul(tf.zeros([0, 5]), tf.ones([5, 2]), false, false))
    expect(zeroM.shape).toEqual([0, 2])
  })

  it('gives the gradients of a batched, transposed product that the cpu backend gives', async () => {
    const { aShape, bShape, a, b } = operands([3], [3], 6, 5, 4, false, true, 5)
    const build = () => {
      const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, false, true).square().sum())([
        tf.tensor(a, aShape),
        tf.tensor(b, bShape),
      ])
      return tf.concat([ga.flatten(), gb.flatten()])
    }
    expectSameNumbers(await runOn('wasm', build), await runOn('cpu', build), 1e-4)
  })

  it("hands what it does not take to tfjs's own kernel (set up, so it answers in its own words)", async () => {
    await tf.setBackend('wasm')
    const ints = tf.tensor2d([[1, 2]], [1, 2], 'int32')
    expect(() => tf.matMul(ints, ints, false, true)).toThrow(/non-float32/)
    ints.dispose()
  })

  it('leaves no tensors or wasm views behind', async () => {
    await tf.setBackend('wasm')
    const x = tf.tensor(randomValues(2 * 8 * 6, 3), [2, 8, 6])
    const before = tf.memory().numTensors
    const dataIds = (tf.backend() as unknown as { numDataIds(): number }).numDataIds()
    tf.tidy(() => {
      tf.matMul(x, x, true, false)
      tf.matMul(x, tf.ones([6, 3]), false, false)
    })
    expect(tf.memory().numTensors).toBe(before)
    expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(dataIds)
    x.dispose()
  })
})
