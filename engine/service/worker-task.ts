// Runs a task from tasks.ts in a worker thread as part of a job: progress messages become the job's
// progress, the job's cancel aborts the task, and the worker's result or error settles the promise.
import type { JobContext } from './jobs'
import type { TaskEnvironment, TaskInput, TaskName, TaskResult } from './tasks'
import { errorFromWorker, startWorker } from '../worker-thread'

export type TaskMessage =
  | { type: 'progress'; done: number; total: number | null; unit: string; message?: string }
  | { type: 'done'; result: unknown }
  | { type: 'error'; error: { code: string; message: string } }

const BUILT_ENTRY = new URL('./task-worker.js', import.meta.url)
const SOURCE_ENTRY = new URL('./task-worker.ts', import.meta.url)

export function runTask<T extends TaskName>(task: T, env: TaskEnvironment, input: TaskInput<T>, ctx: Pick<JobContext, 'signal' | 'progress'>): Promise<TaskResult<T>> {
  let worker: ReturnType<typeof startWorker>
  try {
    worker = startWorker(BUILT_ENTRY, SOURCE_ENTRY, { task, env, input })
  } catch (err) {
    return Promise.reject(err) // a worker that cannot start fails the task as any other failure does, never synchronously
  }
  const abort = () => worker.postMessage({ type: 'abort' })
  if (ctx.signal.aborted) abort()
  ctx.signal.addEventListener('abort', abort)
  return new Promise<TaskResult<T>>((resolve, reject) => {
    let settled = false
    const finish = (f: () => void) => {
      if (settled) return
      settled = true
      ctx.signal.removeEventListener('abort', abort)
      f()
      void worker.terminate()
    }
    worker.on('message', (m: TaskMessage) => {
      if (m.type === 'progress') ctx.progress(m.done, m.total, m.unit, m.message)
      else if (m.type === 'done') finish(() => resolve(m.result as TaskResult<T>))
      else finish(() => reject(errorFromWorker(m.error)))
    })
    worker.on('error', (err) => finish(() => reject(err)))
    worker.on('exit', (code) => finish(() => reject(new Error(`${task} worker exited with code ${code} before finishing`))))
  })
}
