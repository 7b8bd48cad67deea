// BERT's attention probabilities, softmax(scores / √d + mask) over the keys, as one op: fused native
// kernels where the backend has them (two passes instead of nine), else the tfjs composition.
import * as tf from '@tensorflow/tfjs'
import { hasFusedKernel, runFused } from '../../train/backends/kernels/fused'

type FusedFn = (scores: tf.Tensor4D, mask: tf.Tensor4D) => tf.Tensor4D

const byScale = new Map<number, FusedFn>()

function build(scale: number): FusedFn {
  return tf.customGrad(((scores: tf.Tensor4D, mask: tf.Tensor4D, save: tf.GradSaveFunc) => {
    const [probs] = runFused('MengziAttentionSoftmax', { scores, mask }, { scale })
    save([probs])
    return {
      value: probs,
      // The mask is a constant of the batch: its gradient is never used.
      gradFunc: (dprobs: tf.Tensor, [p]: tf.Tensor[]) => [runFused('MengziAttentionSoftmaxGrad', { dprobs, probs: p }, { scale })[0], tf.zerosLike(mask)],
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as FusedFn
}

/** softmax(scores · scale + mask, −1) for scores [B, nh, T, T] and HF's additive mask [B, 1, 1, T]. */
export function attentionSoftmax(scores: tf.Tensor4D, mask: tf.Tensor4D, scale: number): tf.Tensor4D {
  const [B, , , T] = scores.shape
  const maskFits = mask.shape[0] === B && mask.shape[1] === 1 && mask.shape[2] === 1 && mask.shape[3] === T
  if (maskFits && mask.dtype === 'float32' && hasFusedKernel('MengziAttentionSoftmax')) {
    let fn = byScale.get(scale)
    if (!fn) byScale.set(scale, (fn = build(scale)))
    return fn(scores, mask)
  }
  return tf.softmax(scores.mul(scale).add(mask), -1) as tf.Tensor4D
}
