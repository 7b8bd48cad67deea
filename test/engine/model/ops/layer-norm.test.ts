import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { layerNorm } from '../../../../engine/model/ops/layer-norm'
import { hasFusedKernel } from '../../../../engine/compute/kernels/fused'
import { nativeAddon } from '../../../../engine/compute/native'
import { BACKENDS, expectClose, randomValues, useBackend, valueAndGrads } from './compare'

const plain = (eps: number) => (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
  const { mean, variance } = tf.moments(x, -1, true)
  return x.sub(mean).mul(tf.rsqrt(variance.add(eps))).mul(g).add(b)
}
const fused = (eps: number) => (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => layerNorm(x, g as tf.Tensor1D, b as tf.Tensor1D, eps)

describe('layerNorm (custom gradient)', () => {
  for (const backend of BACKENDS) {
    it(`of x + residual equals the composition in value and all four gradients on ${backend}`, async () => {
      await useBackend(backend)
      const shape = [3, 7, 16]
      const inputs = () => [
        tf.tensor(randomValues(3 * 7 * 16, 4).map((v) => 2 * v), shape),
        tf.tensor1d(randomValues(16, 5)),
        tf.tensor1d(randomValues(16, 6)),
        tf.tensor(randomValues(3 * 7 * 16, 7), shape),
      ]
      const withResidual = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, r: tf.Tensor) => layerNorm(x, g as tf.Tensor1D, b as tf.Tensor1D, 1e-12, r)
      const composed = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, r: tf.Tensor) => plain(1e-12)(x.add(r), g, b)
      expectClose(valueAndGrads(withResidual, inputs()), valueAndGrads(composed, inputs()), 2e-5)
    })
  }

  for (const backend of BACKENDS) {
    for (const shape of [[6, 8], [2, 5, 16], [3, 1]]) {
      it(`equals the composition in value and gradients on ${backend}, shape [${shape}]`, async () => {
        await useBackend(backend)
        const H = shape.at(-1)!
        const inputs = () => [tf.tensor(randomValues(tf.util.sizeFromShape(shape), 1).map((v) => 3 * v + 1), shape), tf.tensor1d(randomValues(H, 2)), tf.tensor1d(randomValues(H, 3))]
        for (const eps of [1e-12, 1e-5]) {
          expectClose(valueAndGrads(fused(eps), inputs()), valueAndGrads(plain(eps), inputs()), 2e-5)
        }
      })
    }
  }

  it('runs as the fused native kernel on wasm, and as the composition on wasm-js and cpu', async () => {
    await useBackend('wasm')
    expect(hasFusedKernel('MengziLayerNorm')).toBe(true)
    expect(hasFusedKernel('MengziLayerNormGrad')).toBe(true)
    await useBackend('wasm-js')
    expect(hasFusedKernel('MengziLayerNorm')).toBe(false)
    await useBackend('cpu')
    expect(hasFusedKernel('MengziLayerNorm')).toBe(false)
  })

  it('matches the cpu composition on BERT-base rows with a large mean offset (1000 + noise)', async () => {
    // Float sums of 768 values near 1000 lose the noise (the composition on wasm-js is off by ~1e-3 here).
    const shape = [300, 768]
    const inputs = () => [
      tf.tensor(randomValues(300 * 768, 5).map((v) => 1000 + v), shape),
      tf.tensor1d(randomValues(768, 6)),
      tf.tensor1d(randomValues(768, 7)),
    ]
    await useBackend('cpu')
    const expected = valueAndGrads(plain(1e-12), inputs())
    await useBackend('wasm')
    expectClose(valueAndGrads(fused(1e-12), inputs()), expected, 1e-5)
  })

  it('throws a one-line error when the native kernel is called with wrong lengths', async () => {
    await useBackend('wasm')
    const native = nativeAddon()!
    const [rows, H] = [4, 8]
    const f = (n: number) => new Float32Array(n)
    expect(() => native.layerNormForward(f(rows * H), f(H), f(H), rows, H, 1e-12, f(rows * H - 1), f(rows * H), f(rows))).toThrow(
      /^layerNormForward: x, y and xhat must have rows·H elements$/,
    )
    expect(() => native.layerNormForward(f(rows * H), f(H), f(H), rows, H, 1e-12, f(rows * H), f(rows * H), f(rows - 1))).toThrow(
      /^layerNormForward: rstd must have rows elements$/,
    )
    expect(() => native.layerNormBackward(f(rows * H), f(rows * H), f(rows), f(H), rows, H, f(rows * H), f(H + 1), f(H))).toThrow(
      /^layerNormBackward: gamma, dgamma and dbeta must have H elements$/,
    )
  })

  it('propagates NaN in a row to that row only', async () => {
    await useBackend('wasm')
    const x = randomValues(4 * 6, 9)
    x[7] = NaN // row 1
    const y = tf.tidy(() => layerNorm(tf.tensor2d(x, [4, 6]), tf.ones([6]) as tf.Tensor1D, tf.zeros([6]) as tf.Tensor1D, 1e-12).dataSync())
    expect(Array.from(y.slice(6, 12)).every(Number.isNaN)).toBe(true)
    expect([...y.slice(0, 6), ...y.slice(12)].every(Number.isFinite)).toBe(true)
  })

  it('keeps fewer tensors alive for backward than the composition', async () => {
    await useBackend('wasm')
    const x = tf.randomNormal([64, 32])
    const g = tf.ones([32]) as tf.Tensor1D
    const b = tf.zeros([32]) as tf.Tensor1D
    const bytesDuring = (f: () => tf.Tensor) => {
      let peak = 0
      tf.tidy(() => tf.grads((a: tf.Tensor) => {
        const y = f().add(a).sum()
        peak = tf.memory().numBytes
        return y
      })([tf.zeros([64, 32])]))
      return peak
    }
    const fusedBytes = bytesDuring(() => layerNorm(x, g, b, 1e-12))
    const plainBytes = bytesDuring(() => plain(1e-12)(x, g, b))
    expect(fusedBytes).toBeLessThan(plainBytes)
  })
})
