// Choice smoothing (docs/strategies.md § Choice smoothing): cross-entropy plus the mean binary
// cross-entropy of every class/choice logit against its one-hot target, so each wrong choice is also
// pushed down on its own (and not only relative to the right one):
//   L = CE(z, y) + w · mean_{b, c valid} BCE(σ(z_bc), [c = y_b])
import * as tf from '@tensorflow/tfjs'

/** The BCE term: logits [B, C], labels (−100 = none), `valid` [B·C] 1/0 (multiple-choice padding). */
export function choiceBce(logits: tf.Tensor2D, labels: Int32Array, valid?: Float32Array): tf.Scalar {
  const [B, C] = logits.shape
  const target = new Float32Array(B * C)
  const weight = new Float32Array(B * C)
  for (let b = 0; b < B; b++) {
    if (labels[b] < 0) continue
    target[b * C + labels[b]] = 1
    for (let c = 0; c < C; c++) weight[b * C + c] = valid ? valid[b * C + c] : 1
  }
  const w = tf.tensor2d(weight, [B, C])
  const n = weight.reduce((a, x) => a + x, 0)
  if (n === 0) return logits.sum().mul(0) as tf.Scalar
  // BCE with logits, stable form: max(z, 0) − z·y + log(1 + e^−|z|)
  const z = logits
  const bce = tf.relu(z).sub(z.mul(tf.tensor2d(target, [B, C]))).add(tf.log1p(tf.exp(tf.abs(z).neg())))
  return bce.mul(w).sum().div(n) as tf.Scalar
}
