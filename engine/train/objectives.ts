// The pretraining objectives and their heads (docs/objectives.md): MLM on masked positions, POS and NE
// token classification on every real token, NSP and SOP on the pooled [CLS]. One forward pass of the
// encoder serves them all; the weighted sum is the loss that is differentiated.
//
//   mlm  cls.predictions.*        (HF BertForPreTraining; decoder tied to the word embeddings)
//   nsp  cls.seq_relationship.*   (HF BertForPreTraining), 2-way on the pooled output
//   sop  cls.sop.*                2-way on the pooled output (its own head, so NSP and SOP can train together)
//   pos  cls.pos.*                18-way per token: 17 UPOS + "none" for [CLS]/[SEP]
//   ner  cls.ner.*                35-way per token: O + B-/I- of the 17 OntoNotes labels
import * as tf from '@tensorflow/tfjs'
import { bertEncoder, dense, EVAL, gatherRows, type ForwardContext } from '../model/bert'
import type { Weights } from '../compute/grads'
import type { BertConfig } from '../model/config'
import { crossEntropy, mlmLogits, targetPositions, type HeadSpec } from '../model/heads'
import type { PretrainBatch } from './batch'
import type { Objective } from './config'
import { scaleRowGradients, sequenceWeights, type DgcConfig } from './dgc'
import { hiddenStateLoss, softLabelKl } from './strategies/kd'
import { Readback } from '../compute/read'

export const POS_CLASSES = 18
export const NER_CLASSES = 35

export const HEAD_NAMES: Record<Objective, string> = {
  mlm: 'cls.predictions',
  nsp: 'cls.seq_relationship',
  sop: 'cls.sop',
  pos: 'cls.pos',
  ner: 'cls.ner',
}

export function headsFor(objectives: readonly Objective[]): HeadSpec[] {
  return objectives.map((o): HeadSpec => {
    switch (o) {
      case 'mlm':
        return { kind: 'mlm' }
      case 'nsp':
        return { kind: 'nsp' }
      case 'sop':
        return { kind: 'sequence', name: HEAD_NAMES.sop, numLabels: 2 }
      case 'pos':
        return { kind: 'token', name: HEAD_NAMES.pos, numLabels: POS_CLASSES }
      case 'ner':
        return { kind: 'token', name: HEAD_NAMES.ner, numLabels: NER_CLASSES }
    }
  })
}

export const usesPairs = (objectives: readonly Objective[]) => objectives.includes('nsp') || objectives.includes('sop')

export interface ObjectiveInputs {
  batch: PretrainBatch
  /** Per sequence, when NSP/SOP train: 0 = in order / next, 1 = swapped / random. */
  nspLabels?: Int32Array
  sopLabels?: Int32Array
}

/** A frozen teacher's outputs on a batch (kept; no gradient reaches them): its MLM logits at the masked positions, its hidden states. */
export interface TeacherOutputs {
  mlmLogits: tf.Tensor2D | null
  hidden: tf.Tensor3D[]
}

/** How the distillation terms enter the loss (TrainConfig.distill without the teacher). */
export interface DistillTerms {
  temperature: number
  logitWeight: number
  hiddenWeight: number
  hiddenLoss: 'mse' | 'kl'
  layerMap?: number[]
}

/** The teacher's forward pass on the batch, in eval mode (no dropout), outside any gradient tape. */
export function teacherOutputs(w: Weights, config: BertConfig, batch: PretrainBatch, withLogits: boolean): TeacherOutputs {
  const result: TeacherOutputs = { mlmLogits: null, hidden: [] }
  tf.tidy(() => {
    const shape: [number, number] = [batch.batchSize, batch.seqLength]
    const inputs = { inputIds: tf.tensor2d(batch.inputIds, shape, 'int32'), attentionMask: tf.tensor2d(batch.attentionMask, shape, 'int32'), tokenTypeIds: tf.tensor2d(batch.tokenTypeIds, shape, 'int32') }
    const out = bertEncoder(w, config, inputs, EVAL, { pooler: false })
    result.hidden = out.hiddenStates.map((h) => tf.keep(h))
    if (!withLogits) return
    const sequence = out.hiddenStates[config.num_hidden_layers]
    const [B, T, H] = sequence.shape
    const picked = gatherRows(sequence.reshape([B * T, H]) as tf.Tensor2D, tf.tensor1d(targetPositions(batch.labels), 'int32'))
    result.mlmLogits = tf.keep(mlmLogits(w, config, picked) as tf.Tensor2D)
  })
  return result
}

/** Per objective: the loss (a kept scalar) and predictions with their labels for accuracy. */
export interface ObjectiveOutputs {
  losses: Map<Objective, tf.Scalar>
  /** argmax of each objective's logits, kept, with the labels they are scored against (-100 = skip). */
  predictions: Map<Objective, { argmax: tf.Tensor; labels: Int32Array }>
  /** With a teacher: the weighted distillation terms (kept): kd = kd_logits + kd_hidden. */
  distill?: Map<'kd' | 'kd_logits' | 'kd_hidden', tf.Scalar>
}

/**
 * Forward pass and every objective's loss; returns the weighted total (for the tape) and keeps the parts
 * (caller disposes `outputs`). With DGC's reweighting, each masked position's MLM gradient is scaled by its
 * sequence's weight (engine/train/dgc.ts); the loss values reported stay the plain means.
 */
export function objectiveLosses(
  w: Weights,
  config: BertConfig,
  objectives: readonly Objective[],
  weights: Partial<Record<Objective, number>>,
  inputs: ObjectiveInputs,
  ctx: ForwardContext,
  dgc?: DgcConfig,
  distill?: { teacher: TeacherOutputs; terms: DistillTerms },
): { total: tf.Scalar; outputs: ObjectiveOutputs } {
  const { batch } = inputs
  const shape: [number, number] = [batch.batchSize, batch.seqLength]
  const ids = tf.tensor2d(batch.inputIds, shape, 'int32')
  const mask = tf.tensor2d(batch.attentionMask, shape, 'int32')
  const types = tf.tensor2d(batch.tokenTypeIds, shape, 'int32')
  const out = bertEncoder(w, config, { inputIds: ids, attentionMask: mask, tokenTypeIds: types }, ctx, { pooler: usesPairs(objectives) })
  const sequence = out.hiddenStates[config.num_hidden_layers] // [B, T, H]
  const [B, T, H] = sequence.shape
  const outputs: ObjectiveOutputs = { losses: new Map(), predictions: new Map() }
  let total = null as tf.Scalar | null
  let studentLogits: tf.Tensor2D | null = null // MLM logits at masked positions, before DGC's gradient scaling
  const add = (o: Objective, logits: tf.Tensor2D, labels: Int32Array) => {
    const loss = crossEntropy(logits, labels)
    outputs.losses.set(o, tf.keep(loss))
    outputs.predictions.set(o, { argmax: tf.keep(tf.argMax(logits, -1)), labels })
    const weighted = loss.mul(weights[o] ?? 1) as tf.Scalar
    total = total ? (total.add(weighted) as tf.Scalar) : weighted
  }
  for (const o of objectives) {
    switch (o) {
      case 'mlm': {
        const positions = targetPositions(batch.labels)
        const picked = gatherRows(sequence.reshape([B * T, H]) as tf.Tensor2D, tf.tensor1d(positions, 'int32')) // [M, H]
        let logits = mlmLogits(w, config, picked) as tf.Tensor2D // [M, V]
        studentLogits = logits
        if (dgc?.enabled && dgc.reweight) {
          const perSequence = sequenceWeights(batch, dgc)
          logits = scaleRowGradients(logits, Float32Array.from(positions, (p) => perSequence[Math.floor(p / T)]))
        }
        add(o, logits, Int32Array.from(positions, (i) => batch.labels[i]))
        break
      }
      case 'pos':
      case 'ner': {
        const logits = dense(w, HEAD_NAMES[o], sequence).reshape([B * T, -1]) as tf.Tensor2D // [B·T, C]
        add(o, logits, o === 'pos' ? batch.posLabels : batch.nerLabels)
        break
      }
      case 'nsp':
      case 'sop': {
        const logits = dense(w, HEAD_NAMES[o], out.pooled!) as tf.Tensor2D // [B, 2]
        add(o, logits, (o === 'nsp' ? inputs.nspLabels : inputs.sopLabels)!)
        break
      }
    }
  }
  if (distill) {
    const { teacher, terms } = distill
    const parts: tf.Scalar[] = []
    outputs.distill = new Map()
    if (terms.logitWeight > 0) {
      if (!studentLogits || !teacher.mlmLogits) throw new Error('distill.logitWeight needs the mlm objective and the teacher\'s MLM logits')
      const kd = softLabelKl(studentLogits, teacher.mlmLogits, terms.temperature).mul(terms.logitWeight) as tf.Scalar
      outputs.distill.set('kd_logits', tf.keep(kd))
      parts.push(kd)
    }
    if (terms.hiddenWeight > 0) {
      const kd = hiddenStateLoss(out.hiddenStates, teacher.hidden, mask as tf.Tensor2D, { layerMap: terms.layerMap, loss: terms.hiddenLoss }).mul(terms.hiddenWeight) as tf.Scalar
      outputs.distill.set('kd_hidden', tf.keep(kd))
      parts.push(kd)
    }
    if (parts.length) {
      const kd = tf.addN(parts) as tf.Scalar
      outputs.distill.set('kd', tf.keep(kd))
      total = total ? (total.add(kd) as tf.Scalar) : kd
    }
  }
  tf.dispose([ids, mask, types])
  return { total: total!, outputs }
}

export type ObjectiveStats = Map<Objective, { loss: number; correct: number; count: number }>

/**
 * Queues the losses and accuracies (correct / scored) of kept outputs on `reads`; the map returned is
 * filled once `reads.read()` resolves, and the tensors are disposed then.
 */
export function queueOutputs(outputs: ObjectiveOutputs, reads: Readback): ObjectiveStats {
  const out: ObjectiveStats = new Map()
  for (const [o, loss] of outputs.losses) {
    const pred = outputs.predictions.get(o)!
    const entry = { loss: NaN, correct: 0, count: 0 }
    out.set(o, entry)
    reads.add(pred.argmax, (argmax) => {
      for (let i = 0; i < pred.labels.length; i++) {
        if (pred.labels[i] === -100) continue
        entry.count++
        if (argmax[i] === pred.labels[i]) entry.correct++
      }
    })
    reads.scalar(loss, (v) => (entry.loss = v))
  }
  return out
}

/** Losses and accuracies of kept outputs, read with one wait; disposes them. */
export async function readOutputs(outputs: ObjectiveOutputs): Promise<ObjectiveStats> {
  const reads = new Readback()
  const out = queueOutputs(outputs, reads)
  await reads.read()
  return out
}

/** Queues the distillation terms of kept outputs (loss/kd, loss/kd_logits, loss/kd_hidden) on `reads`; filled as queueOutputs. */
export function queueDistill(outputs: ObjectiveOutputs, reads: Readback): Map<string, number> {
  const out = new Map<string, number>()
  for (const [name, v] of outputs.distill ?? []) reads.scalar(v, (x) => out.set(name, x))
  return out
}
