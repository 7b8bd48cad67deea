import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { attentionCore } from '../../../../engine/model/ops/attention'
import { dropout } from '../../../../engine/model/ops/dropout'
import { hasFusedKernel } from '../../../../engine/compute/kernels/fused'
import { nativeAddon } from '../../../../engine/compute/native'
import { BACKENDS, expectClose, randomValues, useBackend, valueAndGrads } from './compare'

/** The textbook composition: split heads, scaled scores + mask, softmax, (dropout,) ·V, merge heads. */
const reference = (heads: number, rate = 0, seed = 0) => (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask: tf.Tensor) => {
  const [B, T, H] = q.shape
  const split = (t: tf.Tensor) => t.reshape([B, T, heads, H / heads]).transpose([0, 2, 1, 3])
  let probs = tf.softmax(tf.matMul(split(q), split(k), false, true).mul((H / heads) ** -0.5).add(mask), -1)
  if (rate > 0) probs = dropout(probs, rate, seed)
  return tf.matMul(probs, split(v)).transpose([0, 2, 1, 3]).reshape([B, T, H])
}
const fused = (heads: number, rate = 0, seed = 0) => (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask: tf.Tensor) =>
  attentionCore(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, mask as tf.Tensor4D, { heads, dropoutRate: rate, seed })

/** q, k, v [B, T, H] and HF's additive mask with the last padded[b] keys of sequence b masked. */
function inputs(B: number, T: number, H: number, padded: number[]) {
  const t = (seed: number) => tf.tensor(randomValues(B * T * H, seed).map((x) => 2 * x), [B, T, H])
  const mask = new Float32Array(B * T)
  padded.forEach((p, b) => mask.fill(-3.4028234663852886e38, b * T + T - p, b * T + T))
  return [t(1), t(2), t(3), tf.tensor(mask, [B, 1, 1, T])]
}
/** Value and the gradients for q, k, v (not the mask's, which the fused op does not compute). */
const firstFour = (xs: Float32Array[]) => xs.slice(0, 4)

describe('attentionCore (fused on wasm, composition elsewhere)', () => {
  for (const backend of BACKENDS) {
    it(`equals the textbook composition in value and q, k, v gradients on ${backend}`, async () => {
      await useBackend(backend)
      expect(hasFusedKernel('MengziAttention')).toBe(backend === 'wasm')
      for (const [B, T, H, heads, padded] of [[2, 5, 8, 2, [0, 2]], [3, 33, 24, 3, [0, 7, 32]]] as const) {
        expectClose(firstFour(valueAndGrads(fused(heads), inputs(B, T, H, [...padded]))), firstFour(valueAndGrads(reference(heads), inputs(B, T, H, [...padded]))), 2e-5)
      }
    })
  }

  it('applies the same dropout mask as the dropout op on the probabilities (same seed), forward and backward', async () => {
    await useBackend('wasm')
    const x = inputs(2, 17, 16, [0, 3])
    expectClose(firstFour(valueAndGrads(fused(4, 0.3, 99), x)), firstFour(valueAndGrads(reference(4, 0.3, 99), x)), 2e-5)
    const other = firstFour(valueAndGrads(fused(4, 0.3, 100), x))
    expect(other[0]).not.toEqual(firstFour(valueAndGrads(fused(4, 0.3, 99), x))[0])
  })

  it('the native kernel refuses heads that do not divide the hidden size, in one line', async () => {
    const a = new Float32Array(2 * 3 * 6)
    expect(() => nativeAddon()!.attentionForward(a, a, a, null, 2, 3, 4, 1, 0, 0, new Float32Array(a.length), new Float32Array(2 * 4 * 9))).toThrow(
      /^attentionForward: heads must divide the hidden size$/,
    )
  })
})
