// The worker thread behind runTask (worker-task.ts): runs one task from tasks.ts and reports its progress,
// result or error as messages. An {type: 'abort'} message aborts the task's signal.
import { parentPort, workerData } from 'node:worker_threads'
import { toErrorPayload } from '../errors'
import { tasks, type TaskEnvironment, type TaskName } from './tasks'
import type { TaskMessage } from './worker-task'

const { task, env, input } = workerData as { task: TaskName; env: TaskEnvironment; input: never }
const controller = new AbortController()
const post = (m: TaskMessage) => parentPort!.postMessage(m)
parentPort!.on('message', (m: { type: string }) => {
  if (m.type === 'abort') controller.abort()
})

tasks[task](env, input, {
  signal: controller.signal,
  progress: (done, total, unit, message) => post({ type: 'progress', done, total, unit, message }),
})
  .then((result) => post({ type: 'done', result }))
  .catch((err) => post({ type: 'error', error: toErrorPayload(err) }))
