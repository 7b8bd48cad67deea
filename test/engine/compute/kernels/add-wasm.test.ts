import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { describe, expect, it, vi } from 'vitest'
import { nativeAddon, setNativeKernels } from '../../../../engine/compute/native'
import { expectSameNumbers, randomValues, runOn, withNativeKernels } from './on-backends'

// [a, b]: same shapes, bias broadcasts either way round, leading 1s, a scalar (ours); then shapes our
// kernel leaves to tfjs's (a middle-axis broadcast, both sides broadcast), which must still be right.
const CASES: [number[], number[]][] = [
  [[2048 * 3 + 5], [2048 * 3 + 5]],
  [[7, 130], [130]],
  [[130], [7, 130]],
  [[3, 5, 8], [1, 5, 8]],
  [[3, 5, 8], []],
  [[33, 3], [3]], // a short period, tiled natively past the tensor's length
  [[3, 5, 8], [3, 1, 8]],
  [[4, 1], [1, 4]],
]

for (const native of [true, false]) describe(`Add on wasm (${native ? 'native' : 'tfjs'})`, () => {
  withNativeKernels(native)

  for (const [aShape, bShape] of CASES) {
    it(`equals cpu for [${aShape}] + [${bShape}]`, async () => {
      const a = randomValues(tf.util.sizeFromShape(aShape), aShape.length + 1)
      const b = randomValues(tf.util.sizeFromShape(bShape), bShape.length + 7)
      a[0] = NaN
      const build = () => tf.add(tf.tensor(a, aShape), tf.tensor(b, bShape))
      expectSameNumbers(await runOn('wasm', build), await runOn('cpu', build), 0)
    })
  }

  it(`${native ? 'takes' : 'leaves'} the native path for a bias add, and never for a middle-axis broadcast`, async () => {
    setNativeKernels(true)
    const spy = vi.spyOn(nativeAddon()!, 'addRepeat')
    setNativeKernels(native)
    await runOn('wasm', () => tf.add(tf.ones([5, 3]), tf.ones([3])))
    expect(spy).toHaveBeenCalledTimes(native ? 1 : 0)
    await runOn('wasm', () => tf.add(tf.ones([2, 5, 3]), tf.ones([2, 1, 3])))
    expect(spy).toHaveBeenCalledTimes(native ? 1 : 0)
    spy.mockRestore()
  })

  it('adds int32 through tfjs and gives the gradient of a tensor used twice', async () => {
    const ints = await runOn('wasm', () => tf.add(tf.tensor1d([1, 2], 'int32'), tf.tensor1d([3, 4], 'int32')))
    expect(Array.from(ints.values)).toEqual([4, 6])
    const x = randomValues(6 * 4, 3)
    const build = () => tf.grad((t: tf.Tensor) => t.mul(t.sum(0)).sum())(tf.tensor2d(x, [6, 4]))
    expectSameNumbers(await runOn('wasm', build), await runOn('cpu', build), 1e-6)
  })
})
