import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { describe, expect, it } from 'vitest'
import { expectSameNumbers, randomValues, runOn, withNativeKernels } from './on-backends'

const CASES: { shape: number[]; axis: number | number[]; keepDims?: boolean }[] = [
  { shape: [7, 5], axis: 0 }, // ours: a bias gradient
  { shape: [3, 4, 6], axis: [0, 1] }, // ours
  { shape: [3, 4, 6], axis: [1, 0], keepDims: true }, // ours, axes in any order
  { shape: [2, 9], axis: -2 }, // ours, negative axis
  { shape: [7, 5], axis: 1 }, // stock: innermost
  { shape: [3, 4, 6], axis: [0, 2] }, // stock: not a prefix
  { shape: [3, 4], axis: [0, 1] }, // stock: everything
]

// Both paths of our leading-axis sum: native (engine/native/src/rows.c) and JavaScript on wasm memory.
for (const native of [true, false]) describe(`Sum on wasm (leading axes without a transpose; ${native ? 'native' : 'JavaScript'})`, () => {
  withNativeKernels(native)

  for (const { shape, axis, keepDims = false } of CASES) {
    it(`equals cpu for shape [${shape}], axis ${JSON.stringify(axis)}, keepDims ${keepDims}`, async () => {
      const x = randomValues(tf.util.sizeFromShape(shape), shape.length)
      const build = () => tf.sum(tf.tensor(x, shape), axis, keepDims)
      expectSameNumbers(await runOn('wasm', build), await runOn('cpu', build))
    })
  }

  it('sums int32 and keeps NaN and Inf in their columns', async () => {
    const ints = await runOn('wasm', () => tf.sum(tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32'), 0))
    expect(ints.dtype).toBe('int32')
    expect(Array.from(ints.values)).toEqual([4, 6])
    const x = randomValues(4 * 3, 5)
    x[0] = NaN
    x[4] = Infinity
    const build = () => tf.sum(tf.tensor2d(x, [4, 3]), 0)
    const wasm = await runOn('wasm', build)
    expectSameNumbers(wasm, await runOn('cpu', build))
    expect(Number.isNaN(wasm.values[0])).toBe(true)
    expect(wasm.values[1]).toBe(Infinity)
    expect(Number.isFinite(wasm.values[2])).toBe(true)
  })
})
