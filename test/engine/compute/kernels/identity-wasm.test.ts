import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { registerCustomKernels } from '../../../../engine/compute/kernels'
import { expectSameNumbers, randomValues, runOn } from './on-backends'

describe('Identity on wasm (shared buffer)', () => {
  beforeAll(async () => {
    registerCustomKernels()
    await tf.setBackend('wasm')
  })

  it('clones without allocating, and each copy outlives the other', async () => {
    const x = tf.tensor2d(randomValues(6, 1), [2, 3])
    const before = (tf.backend() as unknown as { numDataIds(): number }).numDataIds()
    const y = tf.clone(x)
    expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(before)
    x.dispose()
    expect(Array.from(await y.data())).toEqual(Array.from(randomValues(6, 1)))
    y.dispose()
    expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(before - 1)
  })

  it('keeps gradients equal to the cpu backend (the engine clones every tensor it saves)', async () => {
    const x = randomValues(4 * 5, 2)
    const build = () => tf.grad((t: tf.Tensor) => tf.tanh(t.mul(t).add(1)).mul(t).sum())(tf.tensor2d(x, [4, 5]))
    expectSameNumbers(await runOn('wasm', build), await runOn('cpu', build))
  })

  it('supports int32 and bool tensors', async () => {
    const ints = await runOn('wasm', () => tf.clone(tf.tensor1d([1, -2, 3], 'int32')))
    expect(Array.from(ints.values)).toEqual([1, -2, 3])
    const bools = await runOn('wasm', () => tf.clone(tf.tensor1d([1, 0, 1], 'bool')).cast('int32'))
    expect(Array.from(bools.values)).toEqual([1, 0, 1])
  })
})
