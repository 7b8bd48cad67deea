// What the flash-attention tests (kernels.test.ts, attention-lanes.test.ts) compare against: inputs of a
// case (Q, K, V of seeded values, keys padded at the end of each sequence) and the plain composition on
// tfjs ops (split heads, softmax(Q·Kᵀ·scale + mask), × the hash dropout mask's factors by index
// item·T² + i·T + j written out element by element, ·V, merge heads).
import * as tf from '@tensorflow/tfjs'
import { dropoutParams } from '../../../../engine/compute/webgpu/wgsl'
import { randomValues } from '../../model/ops/compare'
import { keptByHash } from './dropout-hash'

const MASKED = -3.4028234663852886e38
const t = (shape: number[], seed: number, scale = 1) => tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed).map((x) => x * scale), shape)

/** Q, K, V [B, T, H] (Q scaled by qScale) and the additive mask [B, 1, 1, T] with `padded[b]` keys masked at the end. */
export const flashInputs = (B: number, T: number, H: number, padded: readonly number[], qScale: number) => (): tf.Tensor[] => {
  const mask = new Float32Array(B * T)
  padded.forEach((p, b) => mask.fill(MASKED, b * T + T - p, b * T + T))
  return [t([B, T, H], 51, 2 * qScale), t([B, T, H], 52, 2), t([B, T, H], 53, 2), tf.tensor(mask, [B, 1, 1, T])]
}

/** The attention core as plain tfjs ops, with the hash mask of (rate, seed) as explicit factors. */
export function plainAttention(B: number, T: number, H: number, heads: number, rate: number, seed: number) {
  const { seedWord, threshold, scale } = dropoutParams(rate, seed)
  const factors = new Float32Array(B * heads * T * T).map((_, i) => (rate === 0 ? 1 : keptByHash(i, seedWord, threshold) ? scale : 0))
  return (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, m: tf.Tensor): tf.Tensor => {
    const split = (a: tf.Tensor) => a.reshape([B, T, heads, H / heads]).transpose([0, 2, 1, 3])
    const probs = tf.softmax(tf.matMul(split(q), split(k), false, true).mul((H / heads) ** -0.5).add(m), -1).mul(tf.tensor(factors, [B, heads, T, T]))
    return tf.matMul(probs, split(v)).transpose([0, 2, 1, 3]).reshape([B, T, H])
  }
}
