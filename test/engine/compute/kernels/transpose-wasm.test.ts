import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { describe, expect, it, vi } from 'vitest'
import { nativeAddon, setNativeKernels } from '../../../../engine/compute/native'
import { expectSameNumbers, randomValues, runOn, withNativeKernels } from './on-backends'

// The attention's head split and merge, a plain matrix transpose, a 5-D shuffle, an identity and an
// empty tensor.
const CASES: { shape: number[]; perm: number[] }[] = [
  { shape: [3, 7, 4, 5], perm: [0, 2, 1, 3] },
  { shape: [3, 4, 7, 5], perm: [0, 2, 1, 3] },
  { shape: [33, 65], perm: [1, 0] },
  { shape: [2, 3, 4, 5, 6], perm: [4, 0, 3, 1, 2] },
  { shape: [6, 5], perm: [0, 1] },
  { shape: [0, 5, 2], perm: [2, 0, 1] },
]

for (const native of [true, false]) describe(`Transpose on wasm (${native ? 'native' : 'tfjs'})`, () => {
  withNativeKernels(native)

  for (const { shape, perm } of CASES) {
    it(`equals cpu for [${shape}] by [${perm}], float32 and int32`, async () => {
      const values = randomValues(tf.util.sizeFromShape(shape), shape.length)
      if (values.length) values[1] = NaN
      const floats = () => tf.transpose(tf.tensor(values, shape), perm)
      expectSameNumbers(await runOn('wasm', floats), await runOn('cpu', floats), 0)
      const ints = () => tf.transpose(tf.tensor(Int32Array.from(values, (v) => Math.round(1000 * v) || 0), shape, 'int32'), perm)
      expectSameNumbers(await runOn('wasm', ints), await runOn('cpu', ints), 0)
    })
  }

  it(`${native ? 'takes' : 'leaves'} the native path`, async () => {
    setNativeKernels(true)
    const spy = vi.spyOn(nativeAddon()!, 'transpose')
    setNativeKernels(native)
    await runOn('wasm', () => tf.transpose(tf.ones([2, 3, 4]), [1, 0, 2]))
    expect(spy).toHaveBeenCalledTimes(native ? 1 : 0)
    spy.mockRestore()
  })
})

it('the native transpose refuses a bad permutation in one line', () => {
  expect(() => nativeAddon()!.transpose(new Float32Array(6), Int32Array.from([2, 3]), Int32Array.from([0, 0]), new Float32Array(6))).toThrow(
    /^transpose: perm must be a permutation of the axes$/,
  )
})
