import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { IGNORE_INDEX, softmaxCrossEntropy } from '../../../../engine/model/ops/softmax-cross-entropy'
import { BACKENDS, expectClose, randomValues, useBackend, valueAndGrads } from './compare'

/** The composition it replaces: mean over kept rows of −log softmax(z)[y]. */
function plain(labels: Int32Array) {
  return (z: tf.Tensor) => {
    const [N, C] = z.shape
    const keep = Float32Array.from(labels, (y) => (y === IGNORE_INDEX ? 0 : 1))
    const count = keep.reduce((a, b) => a + b, 0)
    const onehot = tf.oneHot(tf.tensor1d(Int32Array.from(labels, (y) => (y === IGNORE_INDEX ? 0 : y)), 'int32'), C).cast('float32')
    return tf.logSoftmax(z, -1).mul(onehot).sum(-1).mul(tf.tensor1d(keep)).sum().div(-count).reshape([]).add(tf.zeros([N]).sum())
  }
}
const fused = (labels: Int32Array) => (z: tf.Tensor) => softmaxCrossEntropy(z as tf.Tensor2D, labels)

describe('softmaxCrossEntropy (custom gradient)', () => {
  for (const backend of BACKENDS) {
    it(`equals the composition in value and gradient on ${backend}, with ignored rows`, async () => {
      await useBackend(backend)
      const [N, C] = [12, 50]
      const labels = Int32Array.from(randomValues(N, 3), (v) => Math.floor(((v + 1) / 2) * C))
      labels[4] = IGNORE_INDEX
      labels[9] = IGNORE_INDEX
      const z = () => [tf.tensor2d(randomValues(N * C, 8).map((v) => 10 * v), [N, C])]
      expectClose(valueAndGrads(fused(labels), z()), valueAndGrads(plain(labels), z()), 1e-5)
    })
  }

  it('is 0 with a zero gradient when every label is ignored', async () => {
    await useBackend('wasm')
    const labels = new Int32Array([IGNORE_INDEX, IGNORE_INDEX])
    const [value, grad] = valueAndGrads(fused(labels), [tf.ones([2, 3])])
    expect(Array.from(value)).toEqual([0])
    expect(grad.length).toBe(6)
    expect(Array.from(grad).every((g) => g === 0)).toBe(true)
  })

  it('rejects labels outside [0, C) in one line', () => {
    expect(() => softmaxCrossEntropy(tf.zeros([2, 3]) as tf.Tensor2D, new Int32Array([1, 3]))).toThrow('label 3 at row 1 is outside [0, 3)')
  })

  it('gives NaN when a kept row has NaN logits, as the composition does', async () => {
    await useBackend('wasm')
    const z = randomValues(2 * 4, 1)
    z[5] = NaN
    const labels = new Int32Array([0, 2])
    const [value] = valueAndGrads(fused(labels), [tf.tensor2d(z, [2, 4])])
    const [expected] = valueAndGrads(plain(labels), [tf.tensor2d(z, [2, 4])])
    expect(Number.isNaN(value[0])).toBe(true)
    expect(Number.isNaN(expected[0])).toBe(true)
  })
})
