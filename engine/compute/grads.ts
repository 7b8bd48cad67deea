// Loss and gradients by parameter name (tfjs keys gradients by its internal variable names).
import * as tf from '@tensorflow/tfjs'

/** Trainable parameters by name, and their gradients by the same names. */
export type Weights = Map<string, tf.Variable>
export type Grads = Map<string, tf.Tensor>

/**
 * Runs `loss` under the gradient tape and returns the loss and the gradient of every parameter it
 * touched (parameters it does not touch get none, like PyTorch's grad None). Dispose both.
 */
export function lossAndGrads(weights: Weights, loss: () => tf.Scalar): { loss: tf.Scalar; grads: Grads } {
  const byVariable = new Map<string, string>()
  for (const [name, v] of weights) byVariable.set(v.name, name)
  const { value, grads } = tf.variableGrads(loss, [...weights.values()])
  const out: Grads = new Map()
  for (const [name] of weights) {
    const g = grads[weights.get(name)!.name]
    if (g) out.set(name, g)
  }
  return { loss: value, grads: out }
}

/**
 * The "gradient" a custom op returns for an input it is not differentiable in (int32 ids, a constant
 * mask): float32 zeros of its shape as host values. tf.zerosLike would record a Fill program per call
 * on webgpu; these are uploaded only if something reads them, which nothing does unless a caller
 * differentiates with respect to that input (the tape prunes it otherwise and disposes the zeros).
 */
export function noGradient(x: tf.Tensor): tf.Tensor {
  return tf.zeros(x.shape, 'float32')
}
