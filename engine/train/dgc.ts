// Dynamic gradient correction (docs/dgc.md). The Mengzi report names it without a formula: "MLM causes
// disturbance of the original sentence structure, which leads to the loss of semantics". Ours has two
// parts, each switchable:
//
//   reweight  a sequence whose words and entities the mask broke more gets a smaller share of the MLM
//             gradient: d_b = hit_b / units_b, w_b = max(floor, (1 − d_b)^γ), normalised to mean 1 over
//             the masked positions; applied to the gradient only (the loss reported is unchanged).
//   project   where the MLM gradient points against the linguistic objectives' gradient (POS, NE),
//             remove that component (PCGrad): g_mlm ← g_mlm − min(0, g_mlm·g_aux) / ‖g_aux‖² · g_aux.
import * as tf from '@tensorflow/tfjs'
import type { Grads } from '../compute/grads'
import type { PretrainBatch } from './batch'

export interface DgcConfig {
  enabled: boolean
  reweight: boolean
  /** γ: how sharply the weight falls with the share of broken units. */
  gamma: number
  /** The smallest weight a sequence can get (before normalisation). */
  floor: number
  project: boolean
}

/** Per-sequence MLM gradient weights, mean 1 over the batch's masked positions. */
export function sequenceWeights(batch: Pick<PretrainBatch, 'batchSize' | 'seqLength' | 'labels' | 'units' | 'unitsHit'>, dgc: Pick<DgcConfig, 'gamma' | 'floor'>): Float32Array {
  const B = batch.batchSize
  const T = batch.seqLength
  const raw = new Float32Array(B)
  const masked = new Int32Array(B)
  for (let b = 0; b < B; b++) {
    const d = batch.units[b] > 0 ? batch.unitsHit[b] / batch.units[b] : 0
    raw[b] = Math.max(dgc.floor, Math.pow(1 - d, dgc.gamma))
    for (let t = 0; t < T; t++) if (batch.labels[b * T + t] !== -100) masked[b]++
  }
  let sum = 0
  let count = 0
  for (let b = 0; b < B; b++) {
    sum += raw[b] * masked[b]
    count += masked[b]
  }
  const scale = sum > 0 ? count / sum : 1
  return raw.map((w) => w * scale)
}

/** Identity forward; backward multiplies row r of the gradient by rowWeights[r]. x: [N, C]. */
export function scaleRowGradients(x: tf.Tensor2D, rowWeights: Float32Array): tf.Tensor2D {
  const w = tf.tensor2d(rowWeights, [rowWeights.length, 1])
  const op = tf.customGrad(((input: tf.Tensor2D, weights: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([weights])
    return {
      value: input.clone(),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => [dy.mul(saved[0]), tf.zerosLike(saved[0])],
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0])
  return op(x, w) as tf.Tensor2D
}

/**
 * PCGrad between the MLM gradient and the auxiliary objectives' gradient, over all parameters as one
 * vector. Returns the corrected MLM gradient plus the auxiliary one (new tensors; inputs disposed), and
 * the cosine between the two before correction.
 */
export async function projectConflicting(mlm: Grads, aux: Grads): Promise<{ grads: Grads; cosine: number }> {
  const names = [...new Set([...mlm.keys(), ...aux.keys()])]
  const parts = tf.tidy(() => {
    let dot = tf.scalar(0)
    let mm = tf.scalar(0)
    let aa = tf.scalar(0)
    for (const n of names) {
      const m = mlm.get(n)
      const a = aux.get(n)
      if (m && a) dot = dot.add(tf.sum(tf.mul(m, a)))
      if (m) mm = mm.add(tf.sum(tf.square(m)))
      if (a) aa = aa.add(tf.sum(tf.square(a)))
    }
    return tf.stack([dot, mm, aa])
  })
  const [dot, mm, aa] = await parts.data()
  parts.dispose()
  const coefficient = dot < 0 && aa > 0 ? dot / aa : 0
  const out: Grads = new Map()
  for (const n of names) {
    const m = mlm.get(n)
    const a = aux.get(n)
    out.set(
      n,
      tf.tidy(() => {
        let g = m ? m.clone() : tf.zerosLike(a!)
        if (a && coefficient !== 0) g = g.sub(a.mul(coefficient))
        if (a) g = g.add(a)
        return g
      }),
    )
  }
  tf.dispose([...mlm.values(), ...aux.values()])
  return { grads: out, cosine: mm > 0 && aa > 0 ? dot / Math.sqrt(mm * aa) : 0 }
}
