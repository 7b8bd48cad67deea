// The training worker thread: activates the backend, runs `train`, and reports through messages.
// Started by run-worker.ts; stop requests arrive through a shared flag, read between steps.
import { parentPort, workerData } from 'node:worker_threads'
import { toErrorPayload } from '../errors'
import { useBackend } from './backend'
import { train } from './loop'
import type { WorkerInput, WorkerMessage } from './run-worker'

const input = workerData as WorkerInput
const stop = new Int32Array(input.stopFlag)
const post = (m: WorkerMessage) => parentPort!.postMessage(m)

async function main(): Promise<void> {
  const { tuningCache, ...options } = input.options
  const backend = await useBackend(input.config.backend, tuningCache)
  post({ type: 'backend', ...backend })
  const result = await train(
    input.config,
    { ...options, backend: backend.name },
    {
      progress: (progress) => post({ type: 'progress', progress }),
      preparing: (progress) => post({ type: 'preparing', progress }),
      metrics: (points) => post({ type: 'metrics', points }),
      checkpoint: (c) => post({ type: 'checkpoint', ...c }),
      log: (line) => post({ type: 'log', line }),
      stopRequested: () => Atomics.load(stop, 0) === 1,
    },
  )
  post({ type: 'done', result })
}

main().catch((err) => post({ type: 'error', error: toErrorPayload(err) }))
