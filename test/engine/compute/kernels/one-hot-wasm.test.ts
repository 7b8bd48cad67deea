import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, describe, it } from 'vitest'
import { registerCustomKernels } from '../../../../engine/compute/kernels'
import { expectSameNumbers, runOn } from './on-backends'

describe('OneHot on wasm', () => {
  beforeAll(() => registerCustomKernels())

  for (const dtype of ['float32', 'int32'] as const) {
    it(`writes ${dtype} values as the cpu backend does, out-of-range indices giving all-off rows`, async () => {
      const build = () => tf.oneHot(tf.tensor2d([[0, 3], [4, -1], [2, 2]], [3, 2], 'int32'), 4, 5, -2, dtype)
      expectSameNumbers(await runOn('wasm', build), await runOn('cpu', build))
    })
  }

  it('gives a float32 softmax cross-entropy equal to the cpu backend', async () => {
    const build = () => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d([1, 0, 2], 'int32'), 3, 1, 0, 'float32'), tf.tensor2d([[1, 2, 3], [0, 0, 1], [3, 1, 0]]))
    expectSameNumbers(await runOn('wasm', build), await runOn('cpu', build))
  })
})
