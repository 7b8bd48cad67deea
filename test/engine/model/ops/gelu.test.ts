import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { gelu } from '../../../../engine/model/ops/gelu'
import { hasFusedKernel } from '../../../../engine/compute/kernels/fused'
import { BACKENDS, expectClose, randomValues, useBackend, valueAndGrads } from './compare'

const plain = (x: tf.Tensor) => x.mul(0.5).mul(tf.erf(x.mul(Math.SQRT1_2)).add(1))

describe('gelu (erf, custom gradient)', () => {
  for (const backend of BACKENDS) {
    it(`equals the composition in value and gradient on ${backend}`, async () => {
      await useBackend(backend)
      const x = () => [tf.tensor(randomValues(3 * 40, 4).map((v) => 6 * v), [3, 40])]
      expectClose(valueAndGrads(gelu, x()), valueAndGrads(plain, x()), 1e-5)
    })
  }

  it('runs as the fused native kernel on wasm, and as the composition on wasm-js and cpu', async () => {
    await useBackend('wasm')
    expect(hasFusedKernel('MengziGelu')).toBe(true)
    await useBackend('wasm-js')
    expect(hasFusedKernel('MengziGelu')).toBe(false)
    await useBackend('cpu')
    expect(hasFusedKernel('MengziGelu')).toBe(false)
  })

  it('passes NaN and ±Inf through as the composition does', async () => {
    await useBackend('wasm')
    const x = tf.tensor1d([NaN, Infinity, -Infinity, 0])
    expect(Array.from(gelu(x).dataSync())).toEqual([NaN, Infinity, NaN, 0])
    expect(Array.from(plain(x).dataSync())).toEqual([NaN, Infinity, NaN, 0])
  })
})
