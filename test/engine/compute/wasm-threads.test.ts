// Its own file, so its own process: the first wasm start in a process decides the binary.
import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { selectBackend } from '../../../engine/compute/backends'
import { expectSameNumbers, randomValues } from './kernels/on-backends'

describe('wasm with threads (opt-in)', () => {
  it('starts the threaded binary on 2 threads and computes what the cpu backend computes', async () => {
    const selection = await selectBackend('wasm', { wasmThreads: 2 })
    expect(selection.threads).toBe(2)
    expect(selection.detail).toContain('threaded-simd')
    const a = randomValues(3 * 64 * 48, 1)
    const b = randomValues(3 * 48 * 80, 2)
    const build = () => tf.matMul(tf.tensor3d(a, [3, 64, 48]), tf.tensor3d(b, [3, 80, 48]), false, true).add(1).exp().sum(0)
    const run = async () => {
      const t = tf.tidy(build)
      const result = { shape: t.shape, dtype: t.dtype, values: (await t.data()) as Float32Array }
      t.dispose()
      return result
    }
    const threaded = await run()
    await tf.setBackend('cpu')
    expectSameNumbers(threaded, await run(), 1e-5)
  })
})
