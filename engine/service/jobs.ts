// Long work (import, tagging, training, evaluation) runs as a job: it reports progress, can be
// cancelled, and ends with a result or a one-line error. The manager turns a job's updates into
// `job` events for every subscriber, throttled so a fast loop cannot flood the UI.
import { randomUUID } from 'node:crypto'
import { WorkbenchError, toErrorPayload } from '../errors'
import type { JobInfo, JobProgress } from './api'

export interface JobContext {
  signal: AbortSignal
  /** Report progress; rate and ETA are derived here from successive reports. */
  progress(done: number, total: number | null, unit: string, message?: string): void
}

export type JobFn<T> = (ctx: JobContext) => Promise<T>

const EMIT_INTERVAL_MS = 200
const RATE_WINDOW_MS = 5_000

export class JobManager {
  private readonly jobs = new Map<string, { info: JobInfo; controller: AbortController; done: Promise<unknown> }>()

  constructor(private readonly emit: (job: JobInfo) => void) {}

  start<T>(kind: string, title: string, fn: JobFn<T>): { id: string; done: Promise<T> } {
    const id = randomUUID()
    const controller = new AbortController()
    const info: JobInfo = { id, kind, title, status: 'running', progress: null, error: null, result: null }
    const samples: { t: number; done: number }[] = []
    let lastEmit = 0
    const ctx: JobContext = {
      signal: controller.signal,
      progress: (done, total, unit, message) => {
        const now = Date.now()
        samples.push({ t: now, done })
        while (samples.length > 2 && now - samples[0].t > RATE_WINDOW_MS) samples.shift()
        const first = samples[0]
        const seconds = (now - first.t) / 1000
        const rate = seconds > 0 ? (done - first.done) / seconds : null
        const etaSeconds = rate && total != null && rate > 0 ? Math.max(0, (total - done) / rate) : null
        info.progress = { done, total, unit, rate, etaSeconds, message } satisfies JobProgress
        if (now - lastEmit >= EMIT_INTERVAL_MS || (total != null && done >= total)) {
          lastEmit = now
          this.emit({ ...info })
        }
      },
    }
    const done = (async () => {
      this.emit({ ...info })
      try {
        const result = await fn(ctx)
        if (controller.signal.aborted) throw new WorkbenchError('CANCELLED', `${title}: cancelled`)
        info.status = 'completed'
        info.result = result ?? null
        return result
      } catch (err) {
        info.status = controller.signal.aborted ? 'cancelled' : 'failed'
        info.error = toErrorPayload(err).message
        throw err
      } finally {
        this.emit({ ...info })
      }
    })()
    done.catch(() => {}) // the caller decides whether to await; never an unhandled rejection here
    this.jobs.set(id, { info, controller, done })
    return { id, done }
  }

  list(): JobInfo[] {
    return [...this.jobs.values()].map((j) => ({ ...j.info }))
  }

  cancel(id: string): boolean {
    const job = this.jobs.get(id)
    if (!job || job.info.status !== 'running') return false
    job.controller.abort()
    return true
  }

  /** Cancels every running job and waits for them to settle (app quit, server stop). */
  async shutdown(): Promise<void> {
    for (const j of this.jobs.values()) if (j.info.status === 'running') j.controller.abort()
    await Promise.allSettled([...this.jobs.values()].map((j) => j.done))
  }
}
