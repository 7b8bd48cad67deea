// Runs `finetune` (or a prediction over a split) in a worker thread, like run-worker.ts does for
// pretraining: the worker's messages become hooks; aborting the signal stops after the current step.
import { errorFromWorker, startWorker } from '../worker-thread'
import type { FinetuneConfig } from './finetune-config'
import type { EpochResult, FinetuneHooks, FinetuneProgress, FinetuneResult, PredictOutput } from './finetune'
import type { MetricValue } from './loop'

export interface PredictJob {
  backend: FinetuneConfig['backend']
  modelDir: string
  task: FinetuneConfig['task']
  dataDir: string
  split: string
  options: Pick<FinetuneConfig, 'maxSeqLength' | 'docStride' | 'maxQueryLength' | 'maxAnswerTokens' | 'evalBatchSize'>
  /** On webgpu, the file tuned product kernels are kept in between runs (matmul-tune-cache.ts). */
  tuningCache?: string
}

/** `resumeFrom`: an epoch checkpoint of this run to continue from. */
export interface FinetuneJob {
  resumeFrom?: string
  tuningCache?: string
}

type WorkerJob = ({ mode: 'train'; config: FinetuneConfig; runDir: string } & FinetuneJob) | ({ mode: 'predict' } & PredictJob)
export type FinetuneWorkerInput = WorkerJob & { stopFlag: SharedArrayBuffer }

export type FinetuneWorkerMessage =
  | { type: 'backend'; name: string; detail: string }
  | { type: 'progress'; progress: FinetuneProgress }
  | { type: 'metrics'; points: MetricValue[] }
  | { type: 'epoch'; epoch: EpochResult }
  | { type: 'checkpoint'; step: number; epoch: number; dir: string }
  | { type: 'log'; line: string }
  | { type: 'done'; result: FinetuneResult | PredictOutput }
  | { type: 'error'; error: { code: string; message: string } }

export interface FinetuneWorkerHooks extends Omit<FinetuneHooks, 'stopRequested'> {
  backend?(b: { name: string; detail: string }): void
}

const BUILT_ENTRY = new URL('./finetune-worker.js', import.meta.url)
const SOURCE_ENTRY = new URL('./finetune-worker.ts', import.meta.url)

function run<T>(input: WorkerJob, hooks: FinetuneWorkerHooks, signal?: AbortSignal): Promise<T> {
  const stopFlag = new SharedArrayBuffer(4)
  const stop = new Int32Array(stopFlag)
  const worker = startWorker(BUILT_ENTRY, SOURCE_ENTRY, { ...input, stopFlag })
  const requestStop = () => Atomics.store(stop, 0, 1)
  if (signal?.aborted) requestStop()
  signal?.addEventListener('abort', requestStop)
  return new Promise<T>((resolve, reject) => {
    let settled = false
    const finish = (f: () => void) => {
      if (settled) return
      settled = true
      signal?.removeEventListener('abort', requestStop)
      f()
      void worker.terminate()
    }
    worker.on('message', (m: FinetuneWorkerMessage) => {
      try {
        if (m.type === 'backend') hooks.backend?.({ name: m.name, detail: m.detail })
        else if (m.type === 'progress') hooks.progress?.(m.progress)
        else if (m.type === 'metrics') hooks.metrics?.(m.points)
        else if (m.type === 'epoch') hooks.epoch?.(m.epoch)
        else if (m.type === 'checkpoint') hooks.checkpoint?.({ step: m.step, epoch: m.epoch, dir: m.dir })
        else if (m.type === 'log') hooks.log?.(m.line)
        else if (m.type === 'done') finish(() => resolve(m.result as T))
        else finish(() => reject(errorFromWorker(m.error)))
      } catch (err) {
        requestStop()
        finish(() => reject(err))
      }
    })
    worker.on('error', (err) => finish(() => reject(err)))
    worker.on('exit', (code) => finish(() => reject(new Error(`fine-tuning worker exited with code ${code} before finishing`))))
  })
}

export function finetuneInWorker(config: FinetuneConfig, runDir: string, hooks: FinetuneWorkerHooks = {}, signal?: AbortSignal, job: FinetuneJob = {}): Promise<FinetuneResult> {
  return run<FinetuneResult>({ mode: 'train', config, runDir, ...job }, hooks, signal)
}

export function predictInWorker(input: PredictJob, signal?: AbortSignal): Promise<PredictOutput> {
  return run<PredictOutput>({ mode: 'predict', ...input }, {}, signal)
}
