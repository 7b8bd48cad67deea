// A CLUE dataset's splits as task examples and packed features, for one fine-tuning run.
import { readSamples } from '../data/shards'
import { badInput } from '../errors'
import type { BertTokenizer } from '../text/tokenizer'
import { collectLabels, packChoice, packSpan, packText, recordExamples, TASK_SPECS, type ClueTask, type Example, type TaskSpec } from '../tasks'
import type { FinetuneConfig } from './finetune-config'
import type { Feature } from './finetune-model'

export interface SplitData {
  examples: Example[]
  features: Feature[]
}

/** Every record of a dataset folder by split, in stored order. */
export async function readSplits(dataDir: string): Promise<Map<string, Record<string, unknown>[]>> {
  const { items } = await readSamples(dataDir, 0, Number.MAX_SAFE_INTEGER)
  const out = new Map<string, Record<string, unknown>[]>()
  for (const it of items) {
    if (!out.has(it.split)) out.set(it.split, [])
    out.get(it.split)!.push(it.record)
  }
  return out
}

export function splitExamples(task: ClueTask, records: Record<string, unknown>[], limit = 0): Example[] {
  const out: Example[] = []
  records.forEach((r, i) => out.push(...recordExamples(task, r, i)))
  return limit > 0 ? out.slice(0, limit) : out
}

export interface TaskExamples {
  train: Example[]
  dev: Example[]
  labels: string[]
  /** Choices a multiple-choice example is padded to (1 for other tasks). */
  numChoices: number
}

/** The train and dev examples a run would use (its caps applied), refused with the reason when a run could not train on them. */
export async function readTaskExamples(config: Pick<FinetuneConfig, 'dataDir' | 'task' | 'maxTrainExamples' | 'maxDevExamples'>): Promise<TaskExamples> {
  const splits = await readSplits(config.dataDir)
  const train = splitExamples(config.task, splits.get('train') ?? [], config.maxTrainExamples)
  const dev = splitExamples(config.task, splits.get('dev') ?? [], config.maxDevExamples)
  if (train.length === 0) throw badInput(`${config.dataDir}: no ${config.task} training examples (the dataset has splits ${[...splits.keys()].join(', ') || 'none'})`)
  if (dev.length === 0) throw badInput(`${config.dataDir}: no dev split to pick the best epoch by`)
  return { train, dev, labels: taskLabels(config.task, train, dev), numChoices: choiceCount(train, dev) }
}

export interface PackOptions {
  maxSeqLength: number
  docStride: number
  maxQueryLength: number
}

/** The most choices any example of these splits has (multiple choice pads to it). */
export const choiceCount = (...splits: Example[][]) => Math.max(1, ...splits.flat().map((e) => (e.kind === 'choice' ? e.firsts.length : 1)))

export function packExamples(spec: TaskSpec, tok: BertTokenizer, examples: Example[], labels: string[], numChoices: number, o: PackOptions): Feature[] {
  const out: Feature[] = []
  examples.forEach((e, i) => {
    if (e.kind === 'text') out.push(packText(tok, e, i, labels, o.maxSeqLength))
    else if (e.kind === 'choice') out.push(packChoice(tok, e, i, numChoices, o.maxSeqLength))
    else out.push(...packSpan(tok, e, i, { maxLength: o.maxSeqLength, docStride: o.docStride, maxQueryLength: o.maxQueryLength }))
  })
  return out
}

/** Labels of a classification task: the task's fixed set, else every label of train and dev (sorted). */
export function taskLabels(task: ClueTask, ...splits: Example[][]): string[] {
  const spec = TASK_SPECS[task]
  if (spec.shape !== 'single' && spec.shape !== 'pair') return []
  const labels = collectLabels(spec.labels, splits.flat())
  if (labels.length < 2) throw badInput(`${task}: the training data has ${labels.length} label(s); a classifier needs at least 2`)
  return labels
}

/** The tokens a feature's batch row is padded to at least: its sequence, or a choice feature's longest choice. */
export const featureLength = (f: Feature): number => ('choices' in f ? Math.max(...f.choices.map((c) => c.inputIds.length)) : f.inputIds.length)
