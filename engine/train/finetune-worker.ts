// The fine-tuning worker thread: activates the backend, runs `finetune` or `predictSplit`, and reports
// through messages. Started by finetune-run-worker.ts; stop requests arrive through a shared flag.
import { parentPort, workerData } from 'node:worker_threads'
import { toErrorPayload } from '../errors'
import { useBackend } from './backend'
import { finetune, predictSplit } from './finetune'
import type { FinetuneWorkerInput, FinetuneWorkerMessage } from './finetune-run-worker'

const input = workerData as FinetuneWorkerInput
const stop = new Int32Array(input.stopFlag)
const post = (m: FinetuneWorkerMessage) => parentPort!.postMessage(m)

async function main(): Promise<void> {
  const backend = await useBackend(input.mode === 'train' ? input.config.backend : input.backend, input.tuningCache)
  post({ type: 'backend', ...backend })
  if (input.mode === 'predict') {
    post({ type: 'done', result: await predictSplit(input.modelDir, input.task, input.dataDir, input.split, input.options) })
    return
  }
  const result = await finetune(
    input.config,
    { runDir: input.runDir, backend: backend.name, resumeFrom: input.resumeFrom },
    {
      progress: (progress) => post({ type: 'progress', progress }),
      metrics: (points) => post({ type: 'metrics', points }),
      epoch: (epoch) => post({ type: 'epoch', epoch }),
      checkpoint: (c) => post({ type: 'checkpoint', ...c }),
      log: (line) => post({ type: 'log', line }),
      stopRequested: () => Atomics.load(stop, 0) === 1,
    },
  )
  post({ type: 'done', result })
}

main().catch((err) => post({ type: 'error', error: toErrorPayload(err) }))
