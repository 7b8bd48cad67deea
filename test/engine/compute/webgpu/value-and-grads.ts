// The kernel tests' probe of an op: its value and the gradients of sum(value · fixed weights); and their
// comparison of two probes within a tolerance per output.
import * as tf from '@tensorflow/tfjs'
import { expect } from 'vitest'
import { randomValues } from '../../model/ops/compare'

/** Value and gradients of sum(f(inputs) · fixed weights) w.r.t. every input, read asynchronously. */
export async function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, make: () => tf.Tensor[]): Promise<Float32Array[]> {
  const inputs = make()
  const tensors = tf.tidy(() => {
    const value = f(...inputs)
    const weights = tf.tensor(randomValues(value.size, 77), value.shape)
    return [value, ...tf.grads((...xs: tf.Tensor[]) => f(...xs).mul(weights).sum())(inputs)]
  })
  const out = await Promise.all(tensors.map(async (t) => Float32Array.from(await t.data())))
  tf.dispose([...tensors, ...inputs])
  return out
}

/** |a − b| ≤ tol · (1 + the largest |b| of the output), per output (outputs in `except` left to the caller). */
export function expectNear(a: Float32Array[], b: Float32Array[], tol: number, label: string, except: number[] = []): void {
  expect(a).toHaveLength(b.length)
  a.forEach((x, o) => {
    if (except.includes(o)) return
    const scale = 1 + Math.max(...Array.from(b[o], Math.abs))
    for (let i = 0; i < x.length; i++) if (!(Math.abs(x[i] - b[o][i]) <= tol * scale)) expect.fail(`${label}, output ${o} element ${i}: ${x[i]} against ${b[o][i]}`)
  })
}
