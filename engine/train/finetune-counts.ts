// What a fine-tuning run's data comes to before it starts, counted the way the run counts it: its examples
// (caps applied), labels and choices, and its features packed with the starting model's tokenizer
// (CMRC2018's windows included), with their lengths. The Fine-tune form's estimate (finetune-estimate.ts)
// turns these into steps and time; tokenizing a dataset takes seconds, so the service runs this in a worker.
import { readTokenizerFiles } from '../model/hf-checkpoint'
import { BertTokenizer } from '../text/tokenizer'
import { TASK_SPECS } from '../tasks'
import type { FinetuneConfig } from './finetune-config'
import { featureLength, packExamples, readTaskExamples } from './finetune-data'

export type CountsInput = Pick<FinetuneConfig, 'dataDir' | 'task' | 'init' | 'maxTrainExamples' | 'maxDevExamples' | 'maxSeqLength' | 'docStride' | 'maxQueryLength'>

export interface FinetuneCounts {
  trainExamples: number
  devExamples: number
  /** Classes of a classification task (0 for spans and choices). */
  labels: number
  /** Sequences per example: a multiple-choice example's choices, padded to the most any has; 1 otherwise. */
  choices: number
  /** lengthCounts[n]: training features whose batch row has n tokens (a batch pads to its longest row). */
  trainLengths: number[]
  /** The dev features' lengths in order: evaluation batches them in this order. */
  devLengths: number[]
}

export async function finetuneCounts(input: CountsInput): Promise<FinetuneCounts> {
  const { train, dev, labels, numChoices } = await readTaskExamples(input)
  const { vocab, lowercase } = readTokenizerFiles(input.init)
  const tok = new BertTokenizer(vocab, { lowercase })
  const spec = TASK_SPECS[input.task]
  const pack = { maxSeqLength: input.maxSeqLength, docStride: input.docStride, maxQueryLength: input.maxQueryLength }
  const trainLengths: number[] = []
  for (const f of packExamples(spec, tok, train, labels, numChoices, pack)) {
    const n = featureLength(f)
    trainLengths[n] = (trainLengths[n] ?? 0) + 1
  }
  return {
    trainExamples: train.length,
    devExamples: dev.length,
    labels: labels.length,
    choices: numChoices,
    trainLengths: Array.from(trainLengths, (c) => c ?? 0),
    devLengths: packExamples(spec, tok, dev, labels, numChoices, pack).map(featureLength),
  }
}
