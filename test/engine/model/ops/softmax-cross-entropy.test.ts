import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { IGNORE_INDEX, softmaxCrossEntropy } from '../../../../engine/model/ops/softmax-cross-entropy'
import { hasFusedKernel } from '../../../../engine/compute/kernels/fused'
import { nativeAddon } from '../../../../engine/compute/native'
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

  it('runs as the fused native kernels on wasm, and as the composition on wasm-js and cpu', async () => {
    await useBackend('wasm')
    expect(hasFusedKernel('MengziSoftmaxXent')).toBe(true)
    const labels = new Int32Array([1, IGNORE_INDEX, 0])
    const { kernelNames } = await tf.profile(() => valueAndGrads(fused(labels), [tf.ones([3, 4])]))
    expect(kernelNames).toEqual(expect.arrayContaining(['MengziSoftmaxXent', 'MengziSoftmaxXentGrad']))
    expect(kernelNames).not.toContain('Exp')
    await useBackend('wasm-js')
    expect(hasFusedKernel('MengziSoftmaxXent')).toBe(false)
    await useBackend('cpu')
    expect(hasFusedKernel('MengziSoftmaxXent')).toBe(false)
  })

  it('matches the cpu composition at the MLM head size (304 × 21128, logits in ±10)', async () => {
    const [N, C] = [304, 21128]
    const labels = Int32Array.from(randomValues(N, 5), (v) => Math.floor(((v + 1) / 2) * C))
    for (let i = 0; i < N; i += 7) labels[i] = IGNORE_INDEX
    const logits = randomValues(N * C, 6).map((v) => 10 * v)
    await useBackend('cpu')
    const [value, grad] = lossAndGradient(logits, [N, C], labels)
    await useBackend('wasm')
    const [fusedValue, fusedGrad] = lossAndGradient(logits, [N, C], labels)
    // Relative to the largest gradient: entries are ≤ 1/count, far below expectClose's floor of 1.
    expectRelativelyClose(fusedValue, value, 1e-6)
    expectRelativelyClose(fusedGrad, grad, 1e-5)
  })

  it('handles ±1e4 and -Inf logits as the composition does', async () => {
    const inf = -Infinity
    // prettier-ignore
    const values = [
      1e4, -1e4, 0, 3, // target 0: the winner, loss 0
      1e4, -1e4, 0, 3, // target 1: loss 2e4
      inf, 2, inf, 1, // target 1, -Inf elsewhere: probability 0, gradient 0
      inf, inf, inf, 5, // ignored
    ]
    const labels = new Int32Array([0, 1, 1, IGNORE_INDEX])
    const z = () => [tf.tensor2d(values, [4, 4])]
    await useBackend('cpu')
    const expected = valueAndGrads(fused(labels), z())
    await useBackend('wasm')
    const actual = valueAndGrads(fused(labels), z())
    expectClose(actual, expected, 1e-6)
    expect(actual[0][0]).toBeCloseTo((2e4 + Math.log(1 + Math.exp(-1))) / 3, 2)
  })

  it('the raw addon rejects bad targets and lengths in one line, before writing', async () => {
    await useBackend('wasm')
    const native = nativeAddon()!
    const [N, C] = [2, 3]
    const z = new Float32Array(N * C)
    const probs = new Float32Array(N * C).fill(7)
    const loss = new Float32Array(N)
    const oneLine = (f: () => void, message: string) => {
      expect(f).toThrow(message)
      try {
        f()
      } catch (err) {
        expect((err as Error).message).not.toContain('\n')
      }
    }
    oneLine(() => native.softmaxXentForward(z, new Int32Array([0, 3]), N, C, probs, loss), 'softmaxXentForward: target 3 at row 1 is outside [-1, 3)')
    oneLine(() => native.softmaxXentForward(z, new Int32Array([-2, 0]), N, C, probs, loss), 'target -2 at row 0 is outside [-1, 3)')
    oneLine(() => native.softmaxXentForward(z, new Int32Array([0, 1]), N, C, new Float32Array(5), loss), 'logits (6) and probs (5) must hold N·C = 6 elements')
    oneLine(() => native.softmaxXentForward(z, new Int32Array([0]), N, C, probs, loss), 'targets (1) and rowLoss (2) must hold N = 2 elements')
    oneLine(() => native.softmaxXentForward(z, new Int32Array([0, 1]), N, 0, probs, loss), 'argument 3 must be an integer in [1, 2^31)')
    expect(Array.from(probs).every((p) => p === 7)).toBe(true)
    const dz = new Float32Array(N * C).fill(7)
    oneLine(() => native.softmaxXentBackward(probs, new Int32Array([0, 3]), new Float32Array(N), dz), 'softmaxXentBackward: target 3 at row 1 is outside [-1, 3)')
    oneLine(() => native.softmaxXentBackward(probs, new Int32Array([0, 1]), new Float32Array(1), dz), 'rowScale (1) must hold N = 2 elements')
    oneLine(() => native.softmaxXentBackward(probs, new Int32Array([0, 1, 2, 0]), new Float32Array(4), dz), 'probs (6) and dlogits (6) must hold N·C elements for N = 4 targets')
    oneLine(() => native.softmaxXentBackward(probs, new Int32Array([0, 1]), new Float32Array(N), new Float32Array(4)), 'probs (6) and dlogits (4)')
    expect(Array.from(dz).every((d) => d === 7)).toBe(true)
  })
})

/**
 * Loss and d loss / d logits. Not compare.ts's valueAndGrads: tf.tidy walks the typed arrays it returns
 * element by element, seconds for 6.4M elements.
 */
function lossAndGradient(logits: Float32Array, shape: [number, number], labels: Int32Array): Float32Array[] {
  const z = tf.tensor2d(logits, shape)
  const [value, grad] = [softmaxCrossEntropy(z, labels), tf.grad((x: tf.Tensor) => softmaxCrossEntropy(x as tf.Tensor2D, labels))(z)]
  const out = [value.dataSync() as Float32Array, grad.dataSync() as Float32Array]
  tf.dispose([z, value, grad])
  return out
}

/** Every element within tol · max|expected| (gradients of a mean are all far below 1). */
function expectRelativelyClose(actual: Float32Array, expected: Float32Array, tol: number): void {
  expect(actual.length).toBe(expected.length)
  let scale = 0
  for (const v of expected) scale = Math.max(scale, Math.abs(v))
  let worst = 0
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]))
  expect(worst).toBeLessThanOrEqual(tol * scale)
}
