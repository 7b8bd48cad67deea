// Fused op vs the plain tfjs composition it replaces: values and gradients, on cpu and wasm.
import * as tf from '@tensorflow/tfjs'
import { expect } from 'vitest'
import { registerCustomKernels } from '../../../../engine/compute/kernels'
import { setNativeKernels } from '../../../../engine/compute/native'
import { randomValues } from '../../compute/kernels/on-backends'

export { randomValues }
/** 'wasm' runs the fused native kernels (@mengzi/native); 'wasm-js' the tfjs composition on wasm. */
export const BACKENDS = ['cpu', 'wasm', 'wasm-js'] as const

export async function useBackend(name: (typeof BACKENDS)[number]): Promise<void> {
  registerCustomKernels()
  setNativeKernels(name !== 'wasm-js')
  await tf.setBackend(name === 'wasm-js' ? 'wasm' : name)
}

/** Value and the gradients with respect to every input, of sum(f(inputs) · weights). */
export function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[]): Float32Array[] {
  // Read the data outside tidy: tidy walks a returned typed array element by element.
  const tensors = tf.tidy(() => {
    const value = f(...inputs)
    const weights = tf.tensor(randomValues(value.size, 77), value.shape)
    const grads = tf.grads((...xs: tf.Tensor[]) => f(...xs).mul(weights).sum())(inputs)
    return [value, ...grads]
  })
  const out = tensors.map((t) => t.dataSync() as Float32Array)
  tf.dispose(tensors)
  return out
}

export function expectClose(actual: Float32Array[], expected: Float32Array[], tol: number): void {
  expect(actual.length).toBe(expected.length)
  actual.forEach((a, k) => {
    expect(a.length).toBe(expected[k].length)
    let scale = 1
    for (const v of expected[k]) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v))
    for (let i = 0; i < a.length; i++) {
      const e = expected[k][i]
      if (!Number.isFinite(e)) {
        if (!Object.is(a[i], e)) expect.fail(`output ${k}, element ${i}: ${a[i]}, expected ${e}`)
      } else if (!(Math.abs(a[i] - e) <= tol * scale)) {
        expect.fail(`output ${k}, element ${i}: ${a[i]}, expected ${e}`)
      }
    }
  })
}
