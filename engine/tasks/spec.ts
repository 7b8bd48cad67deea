// The ten CLUE tasks as the fine-tuning loop sees them: which head, which labels, which metric, and the
// file name CLUE's leaderboard expects for the test-split predictions.
import type { Task } from '../data/types'

export type ClueTask = Exclude<Task, 'text'>
export const CLUE_TASKS: readonly ClueTask[] = ['afqmc', 'tnews', 'iflytek', 'cmnli', 'ocnli', 'wsc', 'csl', 'cmrc2018', 'c3', 'chid']

/** How a task's records become model inputs and which head reads them. */
export type TaskShape = 'single' | 'pair' | 'span' | 'choice'

export interface TaskSpec {
  task: ClueTask
  shape: TaskShape
  /** The dev metric that picks the best checkpoint (CLUE's leaderboard figure: EM for CMRC2018). */
  metric: 'accuracy' | 'em'
  /** Fixed label sets; null: collected from the data (TNEWS, IFLYTEK codes). */
  labels: readonly string[] | null
  /** CLUE 1.1 submission file name (the leaderboard's own names, e.g. tnews11, cluewsc11). */
  submissionFile: string
}

const NLI = ['contradiction', 'entailment', 'neutral'] as const

export const TASK_SPECS: Record<ClueTask, TaskSpec> = {
  tnews: { task: 'tnews', shape: 'single', metric: 'accuracy', labels: null, submissionFile: 'tnews11_predict.json' },
  iflytek: { task: 'iflytek', shape: 'single', metric: 'accuracy', labels: null, submissionFile: 'iflytek_predict.json' },
  afqmc: { task: 'afqmc', shape: 'pair', metric: 'accuracy', labels: ['0', '1'], submissionFile: 'afqmc_predict.json' },
  cmnli: { task: 'cmnli', shape: 'pair', metric: 'accuracy', labels: NLI, submissionFile: 'cmnli_predict.json' },
  ocnli: { task: 'ocnli', shape: 'pair', metric: 'accuracy', labels: NLI, submissionFile: 'ocnli_50k_predict.json' },
  csl: { task: 'csl', shape: 'pair', metric: 'accuracy', labels: ['0', '1'], submissionFile: 'csl_predict.json' },
  wsc: { task: 'wsc', shape: 'single', metric: 'accuracy', labels: ['false', 'true'], submissionFile: 'cluewsc11_predict.json' },
  cmrc2018: { task: 'cmrc2018', shape: 'span', metric: 'em', labels: null, submissionFile: 'cmrc2018_predict.json' },
  c3: { task: 'c3', shape: 'choice', metric: 'accuracy', labels: null, submissionFile: 'c311_predict.json' },
  chid: { task: 'chid', shape: 'choice', metric: 'accuracy', labels: null, submissionFile: 'chid11_predict.json' },
}

export const isClueTask = (t: string): t is ClueTask => (CLUE_TASKS as readonly string[]).includes(t)
