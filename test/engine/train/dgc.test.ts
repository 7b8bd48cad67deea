// Dynamic gradient correction (docs/dgc.md) against hand computations: the per-sequence weights from
// broken units, the gradient they produce through the MLM cross-entropy, and the PCGrad projection.
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { projectConflicting, scaleRowGradients, sequenceWeights } from '../../../engine/train/dgc'
import { softmaxCrossEntropy } from '../../../engine/model/ops/softmax-cross-entropy'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe('dynamic gradient correction', () => {
  it('weights: w̃ = max(floor, (1 − hit/units)^γ), normalised to mean 1 over masked positions', () => {
    // sequence 0: 10 units, 2 broken, 2 masked tokens; sequence 1: 4 units, 3 broken, 3 masked tokens;
    // sequence 2: 5 units, all broken, 1 masked token (floor)
    const T = 4
    const labels = new Int32Array(3 * T).fill(-100)
    labels.set([7, 7], 0)
    labels.set([7, 7, 7], T)
    labels.set([7], 2 * T)
    const batch = { batchSize: 3, seqLength: T, labels, units: Int32Array.from([10, 4, 5]), unitsHit: Int32Array.from([2, 3, 5]) }
    // by hand, γ = 2, floor 0.05: raw = [0.8² = 0.64, 0.25² = 0.0625, max(0.05, 0) = 0.05]
    // Σ over masked positions = 2·0.64 + 3·0.0625 + 1·0.05 = 1.5175; M = 6; scale = 6 / 1.5175
    const w = sequenceWeights(batch, { gamma: 2, floor: 0.05 })
    const scale = 6 / 1.5175
    expect(w[0]).toBeCloseTo(0.64 * scale, 5)
    expect(w[1]).toBeCloseTo(0.0625 * scale, 5)
    expect(w[2]).toBeCloseTo(0.05 * scale, 5)
    // the floor lifts sequence 1 too at 0.1: raw [0.64, 0.1, 0.1], Σ = 1.68
    expect(sequenceWeights(batch, { gamma: 2, floor: 0.1 })[1]).toBeCloseTo((0.1 * 6) / 1.68, 5)
    expect(2 * w[0] + 3 * w[1] + w[2]).toBeCloseTo(6, 5)
    // γ = 0 turns it off: every weight 1
    expect(Array.from(sequenceWeights(batch, { gamma: 0, floor: 0.1 }))).toEqual([1, 1, 1])
  })

  it('the MLM gradient becomes (1/M) Σ w_r (softmax_r − onehot_r); the loss value is unchanged', () => {
    const logits = [
      [1, 2, 0.5],
      [0, -1, 3],
    ]
    const labels = Int32Array.from([1, 0])
    const rowWeights = Float32Array.from([1.5, 0.5])
    const x = tf.tensor2d(logits)
    const plain = softmaxCrossEntropy(x, labels)
    const f = (z: tf.Tensor2D) => softmaxCrossEntropy(scaleRowGradients(z, rowWeights), labels)
    const { value, grad } = tf.valueAndGrad(f)(x)
    expect(value.dataSync()[0]).toBeCloseTo(plain.dataSync()[0], 6)
    // by hand
    const expected = logits.map((row, r) => {
      const e = row.map(Math.exp)
      const s = e.reduce((a, b) => a + b, 0)
      return e.map((v, c) => (rowWeights[r] * (v / s - (c === labels[r] ? 1 : 0))) / 2)
    })
    const got = grad.arraySync() as number[][]
    for (let r = 0; r < 2; r++) for (let c = 0; c < 3; c++) expect(got[r][c]).toBeCloseTo(expected[r][c], 6)
  })

  it('projection: g_m − (g_m·g_a/‖g_a‖²) g_a when they conflict, untouched otherwise; then + g_a', async () => {
    // g_m = ([1, 2], [3]), g_a = ([1, 0], [-2]): dot = 1 − 6 = −5, ‖g_a‖² = 5, coefficient −1
    const gm = () => new Map([['p', tf.tensor1d([1, 2])], ['q', tf.tensor1d([3])]])
    const ga = () => new Map([['p', tf.tensor1d([1, 0])], ['q', tf.tensor1d([-2])]])
    const { grads, cosine } = await projectConflicting(gm(), ga())
    // corrected g_m = g_m + g_a = ([2, 2], [1]); plus g_a = ([3, 2], [-1])
    expect(Array.from(grads.get('p')!.dataSync())).toEqual([3, 2])
    expect(Array.from(grads.get('q')!.dataSync())).toEqual([-1])
    expect(cosine).toBeCloseTo(-5 / Math.sqrt(14 * 5), 6)
    // no conflict: plain sum
    const agree = await projectConflicting(gm(), new Map([['p', tf.tensor1d([1, 0])], ['q', tf.tensor1d([1])]]))
    expect(Array.from(agree.grads.get('p')!.dataSync())).toEqual([2, 2])
    expect(Array.from(agree.grads.get('q')!.dataSync())).toEqual([4])
    // a parameter only one side touches
    const partial = await projectConflicting(new Map([['p', tf.tensor1d([1, 2])]]), new Map([['p', tf.tensor1d([-1, 0])], ['r', tf.tensor1d([2])]]))
    // dot = −1, ‖g_a‖² = 1 + 4 = 5: g_m ← [1, 2] − (−0.2)·[−1, 0] = [0.8, 2] and r: 0 − (−0.2)·2 = 0.4; then + g_a
    expect(Array.from(partial.grads.get('p')!.dataSync()).map((v) => +v.toFixed(6))).toEqual([-0.2, 2])
    expect(+partial.grads.get('r')!.dataSync()[0].toFixed(6)).toBe(2.4)
  })
})
