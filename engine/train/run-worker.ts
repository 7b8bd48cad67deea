// Runs `train` in a worker thread so the API stays responsive while a run computes. The worker's
// messages become the same hooks `train` takes in-process; aborting the signal asks it to stop after
// the current step (it then writes a checkpoint and resolves with `stopped: true`).
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { WorkbenchError, type ErrorCode } from '../errors'
import type { TrainConfig } from './config'
import type { MetricValue, TrainHooks, TrainOptions, TrainProgress, TrainResult } from './loop'

export interface WorkerInput {
  config: TrainConfig
  options: Omit<TrainOptions, 'backend'>
  stopFlag: SharedArrayBuffer
}

export type WorkerMessage =
  | { type: 'backend'; name: string; detail: string }
  | { type: 'progress'; progress: TrainProgress }
  | { type: 'metrics'; points: MetricValue[] }
  | { type: 'checkpoint'; step: number; dir: string }
  | { type: 'log'; line: string }
  | { type: 'done'; result: TrainResult }
  | { type: 'error'; error: { code: string; message: string } }

export interface WorkerHooks extends Omit<TrainHooks, 'stopRequested'> {
  backend?(b: { name: string; detail: string }): void
}

const require = createRequire(import.meta.url)
// A bundled build ships worker.js beside this file; from sources, worker.ts runs through tsx.
const BUILT_ENTRY = new URL('./worker.js', import.meta.url)
const SOURCE_ENTRY = new URL('./worker.ts', import.meta.url)

// Workers inherit neither the parent's module hooks nor `--import` loaders, so a small bootstrap
// registers tsx's ESM hooks in the worker before importing the TypeScript entry. tsx is resolved here
// to an absolute URL (through its package exports), so the cwd does not matter.
function tsxEsmApiUrl(): string {
  const pkgPath = require.resolve('tsx/package.json')
  const exported = JSON.parse(readFileSync(pkgPath, 'utf8')).exports['./esm/api'].import.default as string
  return pathToFileURL(join(dirname(pkgPath), exported)).href
}

const BOOTSTRAP = `
const { workerData } = require('node:worker_threads')
import(workerData.tsxApi).then((tsx) => { tsx.register(); return import(workerData.entry) })
`

const ERROR_CODES = new Set<string>(['BAD_INPUT', 'NOT_FOUND', 'UNSUPPORTED', 'CORRUPT', 'CANCELLED', 'CONFLICT', 'UNAVAILABLE'])

export function trainInWorker(config: TrainConfig, options: WorkerInput['options'], hooks: WorkerHooks = {}, signal?: AbortSignal): Promise<TrainResult> {
  const stopFlag = new SharedArrayBuffer(4)
  const stop = new Int32Array(stopFlag)
  const worker = existsSync(fileURLToPath(BUILT_ENTRY))
    ? new Worker(BUILT_ENTRY, { workerData: { config, options, stopFlag } satisfies WorkerInput })
    : new Worker(BOOTSTRAP, { eval: true, workerData: { config, options, stopFlag, tsxApi: tsxEsmApiUrl(), entry: SOURCE_ENTRY.href } })
  const requestStop = () => Atomics.store(stop, 0, 1)
  if (signal?.aborted) requestStop()
  signal?.addEventListener('abort', requestStop)
  return new Promise<TrainResult>((resolve, reject) => {
    let settled = false
    const finish = (f: () => void) => {
      if (settled) return
      settled = true
      signal?.removeEventListener('abort', requestStop)
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
          case 'metrics':
            return hooks.metrics?.(m.points)
          case 'checkpoint':
            return hooks.checkpoint?.({ step: m.step, dir: m.dir })
          case 'log':
            return hooks.log?.(m.line)
          case 'done':
            return finish(() => resolve(m.result))
          case 'error':
            return finish(() =>
              reject(ERROR_CODES.has(m.error.code) ? new WorkbenchError(m.error.code as ErrorCode, m.error.message) : new Error(m.error.message)),
            )
        }
      } catch (err) {
        // a hook that throws (e.g. the database went away) stops the run
        requestStop()
        finish(() => reject(err))
      }
    })
    worker.on('error', (err) => finish(() => reject(err)))
    worker.on('exit', (code) => finish(() => reject(new Error(`training worker exited with code ${code} before finishing`))))
  })
}
