import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { linear } from '../../../../engine/model/ops/dense'
import { hasFusedKernel } from '../../../../engine/compute/kernels/fused'
import { nativeAddon } from '../../../../engine/compute/native'
import { BACKENDS, expectClose, randomValues, useBackend, valueAndGrads } from './compare'

const plain = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.matMul(x, w, false, true).add(b)
const ours = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => linear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D)

describe('linear (x·Wᵀ + b, fused on wasm)', () => {
  for (const backend of BACKENDS) {
    it(`equals matMul + add in value and x, W, b gradients on ${backend}`, async () => {
      await useBackend(backend)
      expect(hasFusedKernel('MengziDense')).toBe(backend === 'wasm')
      for (const [N, inF, outF] of [[5, 3, 4], [300, 64, 40], [1, 7, 1]]) {
        const inputs = () => [tf.tensor(randomValues(N * inF, 1), [N, inF]), tf.tensor(randomValues(outF * inF, 2), [outF, inF]), tf.tensor(randomValues(outF, 3), [outF])]
        expectClose(valueAndGrads(ours, inputs()), valueAndGrads(plain, inputs()), 1e-5)
      }
    })
  }

  it('the native kernel refuses mismatched shapes in one line', async () => {
    await useBackend('wasm')
    expect(() => nativeAddon()!.denseForward(new Float32Array(6), new Float32Array(5), new Float32Array(2), 2, 3, 2, new Float32Array(4))).toThrow(
      /^denseForward: w must hold out × in values$/,
    )
  })
})
