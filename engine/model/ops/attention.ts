// BERT's self-attention core, from the projected Q, K, V [B, T, H] to the context [B, T, H]:
// split heads, scores = Q·Kᵀ/√d + mask, softmax, dropout, ·V, merge heads. With a fused kernel (native
// on wasm, WGSL on webgpu) it is one op working in the [B, T, H] layout (no head split/merge copies, the
// dropout mask recomputed from its seed; on webgpu flash style, the probabilities never stored);
// elsewhere the tfjs composition below, which stays the reference.
import * as tf from '@tensorflow/tfjs'
import { hasFusedKernel, runFused } from '../../compute/kernels/fused'
import { dropout } from './dropout'

export interface AttentionOptions {
  heads: number
  /** Dropout on the attention probabilities; 0 in eval. */
  dropoutRate: number
  /** Seed of the dropout mask (uint32); ignored when dropoutRate is 0. */
  seed: number
}

export function attentionCore(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, mask: tf.Tensor4D, options: AttentionOptions): tf.Tensor3D {
  const [B, T, H] = q.shape
  const { heads, dropoutRate, seed } = options
  const headSize = H / heads
  const scale = headSize ** -0.5
  const maskFits = mask.dtype === 'float32' && mask.shape.join() === [B, 1, 1, T].join()
  if (maskFits && hasFusedKernel('MengziAttention')) {
    const attrs = { heads, scale, rate: dropoutRate, seed: dropoutRate > 0 ? seed >>> 0 : 0 }
    const op = tf.customGrad(((qs: tf.Tensor, ks: tf.Tensor, vs: tf.Tensor, m: tf.Tensor, save: tf.GradSaveFunc) => {
      // `saved` is what the backend's backward needs beyond the inputs and the context: the probabilities
      // [B, heads, T, T] on wasm, per-row softmax statistics [B, heads, T, 2] on webgpu (flash style)
      const [context, saved] = runFused('MengziAttention', { q: qs, k: ks, v: vs, mask: m }, attrs)
      save([qs, ks, vs, m, context, saved])
      return {
        value: context,
        gradFunc: (dy: tf.Tensor, [sq, sk, sv, sm, sc, ss]: tf.Tensor[]) => [
          ...runFused('MengziAttentionGrad', { dcontext: dy, q: sq, k: sk, v: sv, mask: sm, context: sc, saved: ss }, attrs),
          tf.zerosLike(m),
        ],
      }
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...xs: tf.Tensor[]) => tf.Tensor3D
    return op(q, k, v, mask)
  }
  const split = (t: tf.Tensor) => t.reshape([B, T, heads, headSize]).transpose([0, 2, 1, 3]) // [B, nh, T, hd]
  const scores = tf.matMul(split(q), split(k), false, true) as tf.Tensor4D // [B, nh, T, T]
  let probs = tf.softmax(scores.mul(scale).add(mask), -1)
  if (dropoutRate > 0) probs = dropout(probs, dropoutRate, seed)
  const context = tf.matMul(probs, split(v)) // [B, nh, T, hd]
  return context.transpose([0, 2, 1, 3]).reshape([B, T, H]) as tf.Tensor3D
}
