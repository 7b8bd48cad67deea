// Knowledge distillation (docs/strategies.md § Knowledge distillation). Plain functions of student and
// teacher outputs, so fine-tuning and pretraining (distilling a shallower student from a deeper model,
// as Mengzi-BERT-L6-H768 was) call the same code:
//   soft   = T² · mean_b Σ_c p_t log(p_t / p_s),  p = softmax(z / T)
//   hidden = mean over mapped layers of the masked mean of (h_s − h_t)²  (or KL of softmax over H)
import * as tf from '@tensorflow/tfjs'
import { badInput } from '../../errors'

/** T² · KL(softmax(teacher/T) ‖ softmax(student/T)), averaged over rows: [N, C] logits. */
export function softLabelKl(student: tf.Tensor2D, teacher: tf.Tensor2D, temperature: number): tf.Scalar {
  const logPs = tf.logSoftmax(student.div(temperature))
  const logPt = tf.logSoftmax(teacher.div(temperature))
  return tf.exp(logPt).mul(logPt.sub(logPs)).sum(-1).mean().mul(temperature * temperature) as tf.Scalar
}

/** Student layer i (0 = embeddings … Ls) ← teacher layer round(i · Lt / Ls): ends meet ends. */
export function uniformLayerMap(studentLayers: number, teacherLayers: number): number[] {
  return Array.from({ length: studentLayers + 1 }, (_, i) => Math.round((i * teacherLayers) / Math.max(1, studentLayers)))
}

/**
 * Mean over mapped layers of the per-token loss between hidden states [N, T, H], over the positions
 * where `mask` ([N, T], 1 = token) is set. 'mse': mean squared difference over H; 'kl':
 * KL(softmax(h_t) ‖ softmax(h_s)) over H.
 */
export function hiddenStateLoss(student: tf.Tensor3D[], teacher: tf.Tensor3D[], mask: tf.Tensor2D, options: { layerMap?: number[]; loss: 'mse' | 'kl' }): tf.Scalar {
  const map = options.layerMap ?? uniformLayerMap(student.length - 1, teacher.length - 1)
  if (map.length !== student.length) throw badInput(`distill.layerMap: ${map.length} entries, the student has ${student.length} hidden states (embeddings + ${student.length - 1} layers)`)
  const m = mask.cast('float32') // [N, T]
  const tokens = m.sum()
  const per: tf.Scalar[] = []
  map.forEach((t, s) => {
    if (t < 0 || t >= teacher.length) throw badInput(`distill.layerMap[${s}] = ${t}: the teacher has hidden states 0..${teacher.length - 1}`)
    const hs = student[s]
    const ht = teacher[t]
    if (hs.shape[2] !== ht.shape[2]) throw badInput(`distill: student hidden size ${hs.shape[2]} ≠ teacher's ${ht.shape[2]}; hidden-state distillation needs equal sizes (use logitWeight only)`)
    const token = options.loss === 'mse' ? hs.sub(ht).square().mean(-1) : tf.exp(tf.logSoftmax(ht)).mul(tf.logSoftmax(ht).sub(tf.logSoftmax(hs))).sum(-1) // [N, T]
    per.push(token.mul(m).sum().div(tokens) as tf.Scalar)
  })
  return tf.addN(per).div(per.length) as tf.Scalar
}
