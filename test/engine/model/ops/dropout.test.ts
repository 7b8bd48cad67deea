import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { dropout } from '../../../../engine/model/ops/dropout'
import { hasFusedKernel } from '../../../../engine/compute/kernels/fused'
import { nativeAddon } from '../../../../engine/compute/native'
import { BACKENDS, randomValues, useBackend } from './compare'

describe('dropout (seeded, inverted)', () => {
  for (const backend of BACKENDS) {
    it(`drops about rate of the elements, scales the rest by 1/(1 − rate), and its gradient uses the same mask, on ${backend}`, async () => {
      await useBackend(backend)
      expect(hasFusedKernel('MengziDropout')).toBe(backend === 'wasm')
      const x = tf.tensor(randomValues(200_000, 3).map((v) => v + 2), [400, 500]) // never 0
      const up = tf.tensor(randomValues(200_000, 4), [400, 500])
      const [y, dx] = tf.tidy(() => {
        const value = dropout(x, 0.1, 1234)
        const grad = tf.grad((t: tf.Tensor) => dropout(t, 0.1, 1234).mul(up).sum())(x)
        return [value.dataSync() as Float32Array, grad.dataSync() as Float32Array]
      })
      const xs = x.dataSync(), ups = up.dataSync()
      let dropped = 0
      for (let i = 0; i < y.length; i++) {
        if (y[i] === 0) {
          dropped++
          expect(Math.abs(dx[i])).toBe(0)
        } else {
          expect(y[i]).toBeCloseTo(xs[i] / 0.9, 5)
          expect(dx[i]).toBeCloseTo(ups[i] / 0.9, 5)
        }
      }
      expect(Math.abs(dropped / y.length - 0.1)).toBeLessThan(0.005)
      const again = tf.tidy(() => dropout(x, 0.1, 1234).dataSync())
      expect(Array.from(again)).toEqual(Array.from(y)) // a seed fixes the mask
      const other = tf.tidy(() => dropout(x, 0.1, 1235).dataSync())
      let differ = 0
      for (let i = 0; i < y.length; i++) if ((other[i] === 0) !== (y[i] === 0)) differ++
      expect(differ / y.length).toBeGreaterThan(0.1) // independent masks differ on ~18% of elements
    })
  }

  it('keeps every element at rate 0, refuses rate 1, and the native kernel refuses a bad rate in one line', async () => {
    await useBackend('wasm')
    const x = tf.tensor1d([1, 2, 3])
    expect(Array.from(dropout(x, 0, 7).dataSync())).toEqual([1, 2, 3])
    expect(() => dropout(x, 1, 7)).toThrow(/rate must be in \[0, 1\)/)
    expect(() => nativeAddon()!.dropoutApply(new Float32Array(3), new Float32Array(3), 1.5, 7)).toThrow(/^dropoutApply: rate must be in \[0, 1\)$/)
  })

  it('draws masks without visible structure (no correlation between neighbours or rows)', async () => {
    await useBackend('wasm')
    const y = tf.tidy(() => dropout(tf.ones([1000, 128]), 0.5, 42).dataSync())
    let same = 0
    let sameRow = 0
    for (let i = 1; i < y.length; i++) if ((y[i] === 0) === (y[i - 1] === 0)) same++
    for (let i = 128; i < y.length; i++) if ((y[i] === 0) === (y[i - 128] === 0)) sameRow++
    expect(Math.abs(same / (y.length - 1) - 0.5)).toBeLessThan(0.01)
    expect(Math.abs(sameRow / (y.length - 128) - 0.5)).toBeLessThan(0.01)
  })
})
