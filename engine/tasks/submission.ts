// CLUE's submission files: one file per task, named as the leaderboard expects (TASK_SPECS). Classification
// and C3: JSON lines {"id", "label"} in test order (labels as the task's strings; C3 the choice index).
// CMRC2018: one object {question id: answer text}. CHID: one object {"#idiomN#": candidate index}.
import type { Example } from './examples'
import { TASK_SPECS, type ClueTask } from './spec'

export interface Prediction {
  /** Index into the label list (classification) or the choice (C3, CHID); -1 for CMRC. */
  index: number
  /** CMRC2018's answer text. */
  text?: string
}

export function submissionText(task: ClueTask, examples: readonly Example[], predictions: readonly Prediction[], labels: readonly string[]): string {
  if (examples.length !== predictions.length) throw new Error(`${examples.length} examples but ${predictions.length} predictions`)
  const shape = TASK_SPECS[task].shape
  if (task === 'cmrc2018') {
    return `${JSON.stringify(Object.fromEntries(examples.map((e, i) => [String(e.id), predictions[i].text ?? ''])), null, 2)}\n`
  }
  if (task === 'chid') return `${JSON.stringify(Object.fromEntries(examples.map((e, i) => [String(e.id), predictions[i].index])), null, 2)}\n`
  const id = (e: Example) => (typeof e.id === 'string' && /^\d+$/.test(e.id) ? Number(e.id) : e.id)
  return examples
    .map((e, i) => JSON.stringify({ id: id(e), label: shape === 'choice' ? predictions[i].index : labels[predictions[i].index] }))
    .join('\n')
    .concat('\n')
}

export const submissionFileName = (task: ClueTask) => TASK_SPECS[task].submissionFile
