// Inverted dropout as one op. With the fused kernel the mask is a hash of (element, seed): backward
// recomputes it from the seed instead of keeping a mask tensor, and no random numbers are drawn in
// JavaScript (tf.dropout draws one per element: ~20 ms for a [16, 128, 256] activation on wasm). Other
// backends use tf.dropout with the same seed. Either way the masks depend only on the seeds, which the
// training loop draws from its checkpointed RNG.
import * as tf from '@tensorflow/tfjs'
import { hasFusedKernel, runFused } from '../../compute/kernels/fused'

/** x · mask / (1 − rate), rate in [0, 1), seed a uint32. */
export function dropout(x: tf.Tensor, rate: number, seed: number): tf.Tensor {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout rate must be in [0, 1), got ${rate}`)
  if (x.dtype !== 'float32' || !hasFusedKernel('MengziDropout')) return tf.dropout(x, rate, undefined, seed)
  const attrs = { rate, seed: seed >>> 0 }
  const op = tf.customGrad(((input: tf.Tensor) => ({
    value: runFused('MengziDropout', { x: input }, attrs)[0],
    gradFunc: (dy: tf.Tensor) => runFused('MengziDropout', { x: dy }, attrs)[0],
  })) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Tensor
  return op(x)
}
