import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { attentionSoftmax } from '../../../../engine/model/ops/attention-softmax'
import { hasFusedKernel } from '../../../../engine/train/backends/kernels/fused'
import { nativeAddon } from '../../../../engine/train/backends/native'
import { BACKENDS, expectClose, randomValues, useBackend, valueAndGrads } from './compare'

const plain = (scale: number) => (scores: tf.Tensor, mask: tf.Tensor) => tf.softmax(scores.mul(scale).add(mask), -1)
const ours = (scale: number) => (scores: tf.Tensor, mask: tf.Tensor) => attentionSoftmax(scores as tf.Tensor4D, mask as tf.Tensor4D, scale)

/** Scores [B, nh, T, T] and HF's additive mask with the last `padded[b]` keys of sequence b masked. */
function inputs(B: number, heads: number, T: number, padded: number[]) {
  const scores = tf.tensor(randomValues(B * heads * T * T, 9).map((v) => 8 * v), [B, heads, T, T])
  const mask = new Float32Array(B * T)
  padded.forEach((p, b) => mask.fill(-3.4028234663852886e38, b * T + T - p, b * T + T))
  return [scores, tf.tensor(mask, [B, 1, 1, T])]
}

describe('attentionSoftmax (scale, additive mask, custom gradient)', () => {
  for (const backend of BACKENDS) {
    it(`equals the composition in value and score gradient on ${backend}`, async () => {
      await useBackend(backend)
      for (const [B, heads, T] of [[2, 3, 5], [3, 2, 70]]) {
        const [value, dscores] = valueAndGrads(ours(0.125), inputs(B, heads, T, [0, 2, 1].slice(0, B)))
        const [refValue, refScores] = valueAndGrads(plain(0.125), inputs(B, heads, T, [0, 2, 1].slice(0, B)))
        expectClose([value, dscores], [refValue, refScores], 1e-5)
      }
    })
  }

  it('runs as the fused native kernel on wasm, and gives masked keys exactly 0', async () => {
    await useBackend('wasm')
    expect(hasFusedKernel('MengziAttentionSoftmax')).toBe(true)
    const [scores, mask] = inputs(2, 2, 6, [0, 3])
    const probs = attentionSoftmax(scores as tf.Tensor4D, mask as tf.Tensor4D, 0.5).arraySync() as number[][][][]
    expect(probs[1][1][4].slice(3)).toEqual([0, 0, 0])
    expect(probs[1][1][4].slice(0, 3).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6)
  })

  it('the native kernel refuses a mask of the wrong size in one line', () => {
    expect(() => nativeAddon()!.attentionSoftmax(new Float32Array(8), new Float32Array(3), 1, 2, 4, 1, new Float32Array(8))).toThrow(
      /^attentionSoftmax: mask must hold batch × cols values$/,
    )
  })
})
