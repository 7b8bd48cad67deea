// Evaluation and prediction for fine-tuned models: logits → predictions → CLUE's metrics, and a plain
// record per example for inspecting right and wrong answers.
import * as tf from '@tensorflow/tfjs'
import { EVAL, type Weights } from '../model/bert'
import { accuracy, cmrcScores, confusionMatrix, decodeSpan, type Example, type Prediction, type SpanFeature, type TaskSpec } from '../tasks'
import { batchInputs, buildBatch, taskForward, type Feature, type TaskModel } from './finetune-model'
import { tuningDue } from '../compute/webgpu/matmul-choice'
import { tuneBetweenSteps } from '../compute/webgpu/matmul-tune'

export interface Evaluation {
  /** accuracy, or em and f1 (fractions); empty when the split has no gold labels. */
  metrics: Record<string, number>
  predictions: Prediction[]
}

/** Logits of every feature, in order: [C] per feature (classes/choices) or start/end per window. */
async function forwardAll(model: Pick<TaskModel, 'config' | 'arch'>, weights: Weights, features: Feature[], batchSize: number, log?: (line: string) => void) {
  const rows: { logits?: Float32Array; start?: Float32Array; end?: Float32Array }[] = []
  for (let i = 0; i < features.length; i += batchSize) {
    // webgpu: the classes of product a batch recorded first (the eval batch size), tuned before the next (matmul-tune.ts)
    if (tuningDue()) await tuneBetweenSteps(log)
    const b = buildBatch(features.slice(i, i + batchSize))
    const inputs = batchInputs(b)
    const out = tf.tidy(() => {
      const o = taskForward(model, weights, inputs, b, EVAL)
      return o.logits ? [o.logits] : [o.start!, o.end!]
    })
    tf.dispose(Object.values(inputs))
    const data = await Promise.all(out.map((t) => t.data() as Promise<Float32Array>))
    const width = out[0].shape[1]
    tf.dispose(out)
    const n = out[0].shape[0]
    for (let r = 0; r < n; r++) {
      if (data.length === 1) rows.push({ logits: data[0].slice(r * width, (r + 1) * width) })
      else rows.push({ start: data[0].slice(r * width, (r + 1) * width), end: data[1].slice(r * width, (r + 1) * width) })
    }
  }
  return rows
}

const argmax = (a: Float32Array) => a.reduce((best, v, i) => (v > a[best] ? i : best), 0)

export async function evaluate(model: Pick<TaskModel, 'config' | 'arch'>, weights: Weights, spec: TaskSpec, examples: Example[], features: Feature[], options: { batchSize: number; maxAnswerTokens: number; log?: (line: string) => void }): Promise<Evaluation> {
  const rows = await forwardAll(model, weights, features, options.batchSize, options.log)
  if (spec.shape === 'span') {
    const windows = new Map<number, { offsets: SpanFeature['offsets']; start: Float32Array; end: Float32Array }[]>()
    features.forEach((f, i) => {
      const e = (f as SpanFeature).example
      if (!windows.has(e)) windows.set(e, [])
      windows.get(e)!.push({ offsets: (f as SpanFeature).offsets, start: rows[i].start!, end: rows[i].end! })
    })
    const predictions = examples.map((e, i) => {
      const best = e.kind === 'span' ? decodeSpan(e.context, windows.get(i) ?? [], options.maxAnswerTokens) : { text: '', start: -1 }
      return { index: -1, text: best.text, start: best.start }
    })
    const gold = examples.flatMap((e) => (e.kind === 'span' && e.answers.length > 0 ? [{ id: e.id, answers: e.answers.map((a) => a.text) }] : []))
    const answered = new Map(examples.map((e, i) => [String(e.id), predictions[i].text]))
    const scores = gold.length > 0 ? cmrcScores(gold, answered) : null
    return { metrics: scores ? { em: scores.em, f1: scores.f1 } : {}, predictions }
  }
  const predicted = rows.map((r) => argmax(r.logits!))
  const gold = features.map((f) => ('label' in f ? f.label : -100))
  const labelled = gold.some((g) => g >= 0)
  return { metrics: labelled ? { accuracy: accuracy(predicted, gold) } : {}, predictions: predicted.map((index) => ({ index })) }
}

/** The share of the most frequent gold label: the accuracy of always answering it. */
export function majorityShare(features: Feature[]): number {
  const counts = new Map<number, number>()
  let n = 0
  for (const f of features) {
    if (!('label' in f) || f.label < 0) continue
    counts.set(f.label, (counts.get(f.label) ?? 0) + 1)
    n++
  }
  return n === 0 ? 0 : Math.max(...counts.values()) / n
}

export interface InspectedExample {
  id: string | number
  text: string
  gold: string | null
  predicted: string
  right: boolean | null
  /** CMRC2018: the passage and the predicted span's start, for highlighting. */
  context?: string
  answerStart?: number
  choices?: string[]
}

export interface Inspection {
  task: string
  labels: string[]
  metrics: Record<string, number>
  examples: InspectedExample[]
  /** Classification: confusion[gold][predicted]. */
  confusion?: number[][]
}

/** Per-example records of an evaluation, for the UI (right/wrong, confusion matrix, CMRC spans). */
export function inspect(task: string, labels: string[], examples: Example[], features: Feature[], ev: Evaluation): Inspection {
  const out: InspectedExample[] = examples.map((e, i) => {
    const p = ev.predictions[i]
    if (e.kind === 'span') {
      const gold = e.answers[0]?.text ?? null
      const right = e.answers.length ? e.answers.some((a) => a.text === p.text) : null
      return { id: e.id, text: e.question, gold, predicted: p.text ?? '', right, context: e.context, answerStart: (p as Prediction & { start?: number }).start }
    }
    if (e.kind === 'choice') {
      const gold = e.label === null ? null : e.firsts[e.label]
      return { id: e.id, text: e.second, gold, predicted: e.firsts[p.index] ?? '', right: e.label === null ? null : e.label === p.index, choices: e.firsts }
    }
    return { id: e.id, text: e.textB ? `${e.textA} ｜ ${e.textB}` : e.textA, gold: e.label, predicted: labels[p.index], right: e.label === null ? null : e.label === labels[p.index] }
  })
  const result: Inspection = { task, labels, metrics: ev.metrics, examples: out }
  if (labels.length > 0) {
    result.confusion = confusionMatrix(
      ev.predictions.map((p) => p.index),
      features.map((f) => ('label' in f ? f.label : -100)),
      labels.length,
    )
  }
  return result
}
