// What the Fine-tune form learns before a run starts: the config finetune.start would make (a bad field
// refused with its reason), checked against Settings' probe of this machine (train/start-check.ts): a
// backend that cannot start, fp16 where auto lands off webgpu, tensors over the adapter's binding limit.
import type { BackendProbe } from '../compute/backends'
import { readBertConfig } from '../model/checkpoint'
import { TASK_SPECS } from '../tasks'
import type { FinetuneConfig } from '../train/finetune-config'
import { choiceCount, readSplits, splitExamples } from '../train/finetune-data'
import { finetuneMicroBatch } from '../train/estimate'
import { startCheck } from '../train/start-check'
import type { BackendCheck } from './api'
import { backendCheckLines } from './backend-lines'
import { finetuneConfigFor, type FinetuneDeps, type FinetuneRequest } from './finetuning'

export interface FinetuneCheckDeps extends Pick<FinetuneDeps, 'db' | 'layout'> {
  probeBackends(): Promise<BackendProbe[]>
}

export function createFinetuneCheck(deps: FinetuneCheckDeps): (req: FinetuneRequest) => Promise<BackendCheck> {
  // a choice task's sequences per example (its most choices, as finetune.ts counts them): read once per dataset folder
  const choices = new Map<string, Promise<number>>()
  const choicesOf = (config: FinetuneConfig) => {
    let known = choices.get(config.dataDir)
    if (!known) {
      known = readSplits(config.dataDir).then((splits) => choiceCount(...['train', 'dev'].map((split) => splitExamples(config.task, splits.get(split) ?? []))))
      known.catch(() => choices.delete(config.dataDir))
      choices.set(config.dataDir, known)
    }
    return known
  }

  return async (req) => {
    const { config } = finetuneConfigFor(deps, req)
    if (config.backend === 'cpu') return { device: null, backendWarnings: [] } // always starts, no device limit
    const bert = await readBertConfig(config.init)
    const perExample = TASK_SPECS[config.task].shape === 'choice' ? await choicesOf(config) : 1
    return backendCheckLines(startCheck(config, bert, finetuneMicroBatch(config, perExample), await deps.probeBackends().catch(() => [])))
  }
}
