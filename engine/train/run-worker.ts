// Runs `train` in a worker thread so the API stays responsive while a run computes. The worker's
// messages become the same hooks `train` takes in-process; aborting the signal asks it to stop after
// the current step (it then writes a checkpoint and resolves with `stopped: true`); aborting `kill`
// terminates the worker at once, writing nothing (the run's lease went to another process).
import { errorFromWorker, startWorker } from '../worker-thread'
import type { TrainConfig } from './config'
import type { MetricValue, PrepareProgress, TrainHooks, TrainOptions, TrainProgress, TrainResult } from './loop'

export interface WorkerInput {
  config: TrainConfig
  /** tuningCache: on webgpu, the file tuned product kernels are kept in between runs (matmul-tune-cache.ts). */
  options: Omit<TrainOptions, 'backend'> & { tuningCache?: string }
  stopFlag: SharedArrayBuffer
}

export type WorkerMessage =
  | { type: 'backend'; name: string; detail: string }
  | { type: 'progress'; progress: TrainProgress }
  | { type: 'preparing'; progress: PrepareProgress }
  | { type: 'metrics'; points: MetricValue[] }
  | { type: 'checkpoint'; step: number; dir: string }
  | { type: 'log'; line: string }
  | { type: 'done'; result: TrainResult }
  | { type: 'error'; error: { code: string; message: string } }

export interface WorkerHooks extends Omit<TrainHooks, 'stopRequested'> {
  backend?(b: { name: string; detail: string }): void
}

// A bundled build ships worker.js beside this file; from sources, worker.ts runs through tsx.
const BUILT_ENTRY = new URL('./worker.js', import.meta.url)
const SOURCE_ENTRY = new URL('./worker.ts', import.meta.url)

export function trainInWorker(config: TrainConfig, options: WorkerInput['options'], hooks: WorkerHooks = {}, signal?: AbortSignal, kill?: AbortSignal): Promise<TrainResult> {
  const stopFlag = new SharedArrayBuffer(4)
  const stop = new Int32Array(stopFlag)
  const worker = startWorker(BUILT_ENTRY, SOURCE_ENTRY, { config, options, stopFlag } satisfies WorkerInput)
  const requestStop = () => Atomics.store(stop, 0, 1)
  if (signal?.aborted) requestStop()
  signal?.addEventListener('abort', requestStop)
  return new Promise<TrainResult>((resolve, reject) => {
    let settled = false
    const finish = (f: () => void) => {
      if (settled) return
      settled = true
      signal?.removeEventListener('abort', requestStop)
      kill?.removeEventListener('abort', onKill)
      f()
      void worker.terminate()
    }
    worker.on('message', (m: WorkerMessage) => {
      try {
        switch (m.type) {
          case 'backend':
            return hooks.backend?.({ name: m.name, detail: m.detail })
          case 'progress':
            return hooks.progress?.(m.progress)
          case 'preparing':
            return hooks.preparing?.(m.progress)
          case 'metrics':
            return hooks.metrics?.(m.points)
          case 'checkpoint':
            return hooks.checkpoint?.({ step: m.step, dir: m.dir })
          case 'log':
            return hooks.log?.(m.line)
          case 'done':
            return finish(() => resolve(m.result))
          case 'error':
            return finish(() => reject(errorFromWorker(m.error)))
        }
      } catch (err) {
        // a hook that throws (e.g. the database went away) stops the run
        requestStop()
        finish(() => reject(err))
      }
    })
    const onKill = () => finish(() => reject(new Error(String(kill!.reason ?? 'training worker killed'))))
    if (kill?.aborted) onKill()
    kill?.addEventListener('abort', onKill)
    worker.on('error', (err) => finish(() => reject(err)))
    worker.on('exit', (code) => finish(() => reject(new Error(`training worker exited with code ${code} before finishing`))))
  })
}
