// Mean softmax cross-entropy of logits [N, C] against integer labels, as one tfjs op. For the MLM head
// (C = 21128) the composition logSoftmax → mul(oneHot) → sum runs ~14 passes over N×C, two of them
// exp; this one runs 8 with one exp, and keeps only the probabilities for backward:
// d loss / d logits = (softmax − onehot) / count. Where the backend has the fused kernels (wasm with
// @mengzi/native) forward and backward are one native pass each.
import * as tf from '@tensorflow/tfjs'
import { registerCustomKernels } from '../../compute/kernels'
import { hasFusedKernel, runFused } from '../../compute/kernels/fused'

/** Label value that contributes nothing (PyTorch's ignore_index default). */
export const IGNORE_INDEX = -100

/**
 * Mean over rows whose label is not IGNORE_INDEX; 0 when there are none (PyTorch gives NaN there, a
 * batch without targets should not poison training). Labels must be in [0, C) or IGNORE_INDEX.
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, labels: Int32Array): tf.Scalar {
  // The backward builds a float32 one-hot, which tfjs-wasm gets wrong without our OneHot kernel.
  registerCustomKernels()
  const [N, C] = logits.shape
  if (labels.length !== N) throw new Error(`softmax cross-entropy: ${N} rows of logits but ${labels.length} labels`)
  const targets = new Int32Array(N).fill(-1) // -1: an all-zero one-hot row
  const picks: number[] = []
  const keep = new Float32Array(N)
  for (let i = 0; i < N; i++) {
    const y = labels[i]
    if (y === IGNORE_INDEX) continue
    if (!(Number.isInteger(y) && y >= 0 && y < C)) throw new Error(`softmax cross-entropy: label ${y} at row ${i} is outside [0, ${C})`)
    targets[i] = y
    keep[i] = 1
    picks.push(i * C + y)
  }
  const count = picks.length
  if (count === 0) return tf.mul(tf.sum(logits), 0) as tf.Scalar // 0, still connected to the logits

  const op = tf.customGrad(((z: tf.Tensor2D, save: tf.GradSaveFunc) => {
    if (hasFusedKernel('MengziSoftmaxXent')) {
      const rowTargets = tf.tensor1d(targets, 'int32')
      // probs [N, C] (webgpu fp16 storage: packed f16, compute/webgpu/softmax-xent.ts), rowLoss [N]
      const [probs, rowLoss] = runFused('MengziSoftmaxXent', { logits: z, targets: rowTargets })
      save([probs, rowTargets])
      if (hasFusedKernel('MengziSoftmaxXentMean')) {
        // webgpu: the mean and its gradient's row scale inside our kernels, no tfjs programs
        return {
          value: runFused('MengziSoftmaxXentMean', { rowLoss }, { count })[0],
          gradFunc: (dy: tf.Tensor, [p, t]: tf.Tensor[]) => [runFused('MengziSoftmaxXentGrad', { probs: p, targets: t, dy }, { C, count })[0]],
        }
      }
      return {
        value: tf.div(tf.sum(rowLoss), count), // rowLoss is 0 on ignored rows
        gradFunc: (dy: tf.Tensor, [p, t]: tf.Tensor[]) => {
          const rowScale = tf.mul(tf.tensor1d(keep), tf.div(dy, count)) // [N]
          return [runFused('MengziSoftmaxXentGrad', { probs: p, targets: t, rowScale }, { C })[0]]
        },
      }
    }
    const max = tf.max(z, -1, true) // [N, 1]
    const e = tf.exp(tf.sub(z, max))
    const sumExp = tf.sum(e, -1, true)
    const probs = tf.div(e, sumExp) // [N, C]
    const logSumExp = tf.add(tf.log(sumExp), max).reshape([N])
    const picked = tf.scatterND(tf.tensor2d(Int32Array.from(picks, (p) => Math.floor(p / C)), [count, 1], 'int32'),
      tf.gather(z.reshape([N * C]), tf.tensor1d(picks, 'int32')), [N]) // z[i, y_i], 0 for ignored rows
    save([probs])
    return {
      value: tf.div(tf.sum(tf.mul(tf.sub(logSumExp, picked), tf.tensor1d(keep))), count),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [p] = saved
        const rowScale = tf.mul(tf.tensor2d(keep, [N, 1]), tf.div(dy, count)) // [N, 1]
        return [tf.mul(tf.sub(p, tf.oneHot(tf.tensor1d(targets, 'int32'), C, 1, 0, 'float32')), rowScale)]
      },
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (z: tf.Tensor2D) => tf.Scalar
  return op(logits)
}
