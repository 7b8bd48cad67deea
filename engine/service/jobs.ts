// Long work (import, tagging, training, fine-tuning, sweeps, evaluation) runs as a job: it reports
// progress, can be cancelled, and ends with a result or a one-line error. The manager turns a job's
// updates into `job` events for every subscriber, throttled so a fast loop cannot flood the UI.
//
// Leases: given the database, every job also holds a lease row (engine/store/jobs.ts) with this process's
// pid and a heartbeat the manager renews for all its jobs on one timer. `sweep()` (the Workbench runs it at
// start and periodically; CLI, app and `serve` alike) marks leases whose owner is gone as interrupted, and
// every run left `running` without a live lease as `interrupted`. A new kind of job gets all of this by
// calling `start(kind, title, fn, { runId })`: pass the run it computes, set the run `running` inside `fn`,
// and stop without writing to the run when `ctx.leaseLost` fires (another process took the run over).
import { randomUUID } from 'node:crypto'
import { WorkbenchError, toErrorPayload } from '../errors'
import type { Db } from '../store/db'
import { finishJobLease, insertJobLease, interruptLeases, listJobLeases, pruneFinishedJobs, renewJobLease } from '../store/jobs'
import type { JobInfo, JobProgress } from './api'
import { currentOwner, DEFAULT_LEASE_TIMINGS, leaseEnded, type LeaseTimings } from './leases'

export interface JobContext {
  signal: AbortSignal
  /** Fires when this process lost the job's lease: stop at once and write nothing more to its run. */
  leaseLost: AbortSignal
  /** Report progress; rate and ETA are derived here from successive reports. */
  progress(done: number, total: number | null, unit: string, message?: string): void
}

export type JobFn<T> = (ctx: JobContext) => Promise<T>

export interface JobOptions {
  /** The run this job computes: it is `interrupted` when the job's owner dies. */
  runId?: number
}

export interface LeaseOptions {
  db: Db
  timings?: Partial<LeaseTimings>
}

interface Job {
  info: JobInfo
  controller: AbortController
  lease: AbortController
  leased: boolean
  done: Promise<unknown>
}

const EMIT_INTERVAL_MS = 200
const RATE_WINDOW_MS = 5_000

export class JobManager {
  private readonly jobs = new Map<string, Job>()
  private readonly timings: LeaseTimings
  private heartbeat: NodeJS.Timeout | null = null
  private sweeper: NodeJS.Timeout | null = null

  constructor(
    private readonly emit: (job: JobInfo) => void,
    private readonly leases?: LeaseOptions,
  ) {
    this.timings = { ...DEFAULT_LEASE_TIMINGS, ...leases?.timings }
  }

  start<T>(kind: string, title: string, fn: JobFn<T>, options: JobOptions = {}): { id: string; done: Promise<T> } {
    const id = randomUUID()
    const controller = new AbortController()
    const lease = new AbortController()
    const info: JobInfo = { id, kind, title, status: 'running', progress: null, error: null, result: null }
    if (this.leases) insertJobLease(this.leases.db, { id, kind, title, runId: options.runId }, currentOwner())
    const samples: { t: number; done: number }[] = []
    let lastEmit = 0
    const ctx: JobContext = {
      signal: controller.signal,
      leaseLost: lease.signal,
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
        info.error = lease.signal.aborted ? String(lease.signal.reason) : toErrorPayload(err).message
        throw err
      } finally {
        this.release(id, info)
        this.emit({ ...info })
      }
    })()
    done.catch(() => {}) // the caller decides whether to await; never an unhandled rejection here
    this.jobs.set(id, { info, controller, lease, leased: !!this.leases, done })
    this.keepBeating()
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

  /**
   * Ends the leases whose owner is gone and interrupts the runs they held (and any run left `running`
   * with no lease at all). Returns the runs it marked interrupted.
   */
  sweep(now = Date.now()): number[] {
    if (!this.leases) return []
    const { db } = this.leases
    const reasons = new Map<string, string>()
    for (const lease of listJobLeases(db, { status: 'running' })) {
      if (this.jobs.get(lease.id)?.info.status === 'running') continue // ours, and alive
      const reason = leaseEnded(lease, this.timings, now)
      if (reason) reasons.set(lease.id, reason)
    }
    const runs = interruptLeases(db, reasons)
    pruneFinishedJobs(db)
    return runs
  }

  /** Sweeps now and then every `sweepMs`, telling `onInterrupted` which runs it marked. */
  watch(onInterrupted: (runIds: number[]) => void): void {
    const sweep = () => {
      try {
        const runs = this.sweep()
        if (runs.length > 0) onInterrupted(runs)
      } catch {
        // a busy or closing database: the next sweep tries again
      }
    }
    sweep()
    this.sweeper ??= setInterval(sweep, this.timings.sweepMs).unref()
  }

  /** Cancels every running job and waits for them to settle (app quit, server stop). */
  async shutdown(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper)
    this.sweeper = null
    for (const j of this.jobs.values()) if (j.info.status === 'running') j.controller.abort()
    await Promise.allSettled([...this.jobs.values()].map((j) => j.done))
  }

  private release(id: string, info: JobInfo): void {
    const job = this.jobs.get(id)
    if (this.leases && !job?.lease.signal.aborted) {
      try {
        finishJobLease(this.leases.db, id, info.status as 'completed' | 'failed' | 'cancelled', info.error)
      } catch {
        // the database is gone; the next sweep (here or elsewhere) ends the lease
      }
    }
    if (![...this.jobs.values()].some((j) => j.leased && j.info.status === 'running' && j.info.id !== id) && this.heartbeat) {
      clearInterval(this.heartbeat)
      this.heartbeat = null
    }
  }

  /** One timer renews the leases of all of this process's running jobs. */
  private keepBeating(): void {
    if (!this.leases || this.heartbeat) return
    const { db } = this.leases
    this.heartbeat = setInterval(() => {
      for (const job of this.jobs.values()) {
        if (!job.leased || job.info.status !== 'running' || job.lease.signal.aborted) continue
        try {
          if (renewJobLease(db, job.info.id, currentOwner()) === 'lost') {
            job.lease.abort(`${job.info.title}: lease lost (another process took this job's run over)`)
          }
        } catch {
          // a busy database: renew on the next beat
        }
      }
    }, this.timings.heartbeatMs).unref()
  }
}
