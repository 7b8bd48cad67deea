// The kernel tests' probe of an op: its value and the gradients of sum(value · fixed weights).
import * as tf from '@tensorflow/tfjs'
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
