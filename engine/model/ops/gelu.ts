// HF's "gelu" (exact, with erf) as one tfjs op: y = x·Φ(x), dy/dx = Φ(x) + x·φ(x). The composition
// differentiates four ops and keeps their inputs; this keeps x and Φ(x) only.
import * as tf from '@tensorflow/tfjs'
import { hasFusedKernel, runFused } from '../../compute/kernels/fused'

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI)

export const gelu = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  if (hasFusedKernel('MengziGelu')) {
    const [y, cdf] = runFused('MengziGelu', { x })
    save([x, cdf])
    return { value: y, gradFunc: (dy: tf.Tensor, [xs, c]: tf.Tensor[]) => runFused('MengziGeluGrad', { dy, x: xs, cdf: c })[0] }
  }
  const cdf = tf.add(tf.mul(tf.erf(tf.mul(x, Math.SQRT1_2)), 0.5), 0.5) // Φ(x)
  save([x, cdf])
  return {
    value: tf.mul(x, cdf),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, c] = saved
      const pdf = tf.mul(tf.exp(tf.mul(tf.square(xs), -0.5)), INV_SQRT_2PI) // φ(x)
      return [tf.mul(dy, tf.add(c, tf.mul(xs, pdf)))]
    },
  }
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Tensor
