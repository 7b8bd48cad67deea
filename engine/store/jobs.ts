// Job leases: every job (import, tagging, training, fine-tuning, sweeps) has a row naming the process that
// owns it (pid, host, process start time) and a heartbeat it renews. Whether an owner is still alive is
// decided in engine/service/leases.ts; this file only reads and writes the rows.
import type { Db } from './db'

export type JobStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'interrupted'

export interface LeaseOwner {
  pid: number
  host: string
  /** The owner's process start time where the OS tells it (Linux), so a reused pid is not mistaken for it. */
  start: string | null
}

export interface JobLease {
  id: string
  kind: string
  title: string
  status: JobStatus
  runId: number | null
  owner: LeaseOwner
  heartbeatAt: number // ms since the epoch
  error: string | null
  startedAt: string
  finishedAt: string | null
}

const leaseSelect = `SELECT id, kind, title, status, run_id AS runId, owner_pid AS pid, owner_host AS host,
  owner_start AS start, heartbeat_at AS heartbeatAt, error, started_at AS startedAt, finished_at AS finishedAt FROM jobs`

type LeaseRecord = Omit<JobLease, 'owner'> & LeaseOwner
const toLease = ({ pid, host, start, ...rest }: LeaseRecord): JobLease => ({ ...rest, owner: { pid, host, start } })

export function insertJobLease(db: Db, job: { id: string; kind: string; title: string; runId?: number | null }, owner: LeaseOwner, now = Date.now()): void {
  db.prepare(`INSERT INTO jobs (id, kind, title, status, run_id, owner_pid, owner_host, owner_start, heartbeat_at)
              VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?)`).run(job.id, job.kind, job.title, job.runId ?? null, owner.pid, owner.host, owner.start, now)
}

export function getJobLease(db: Db, id: string): JobLease | undefined {
  const row = db.prepare(`${leaseSelect} WHERE id = ?`).get(id) as LeaseRecord | undefined
  return row && toLease(row)
}

export function listJobLeases(db: Db, filter: { status?: JobStatus; runId?: number } = {}): JobLease[] {
  const rows = db
    .prepare(`${leaseSelect} WHERE (? IS NULL OR status = ?) AND (? IS NULL OR run_id = ?) ORDER BY started_at, rowid`)
    .all(filter.status ?? null, filter.status ?? null, filter.runId ?? null, filter.runId ?? null) as LeaseRecord[]
  return rows.map(toLease)
}

export type Renewal = 'held' | 'reclaimed' | 'lost'

/**
 * Renews one lease. A lease that a sweep marked interrupted while its owner was frozen (a suspended
 * laptop, a stopped process) is reclaimed when nobody resumed its run meanwhile; otherwise it is lost
 * and the owner must stop without writing to the run.
 */
export function renewJobLease(db: Db, id: string, owner: LeaseOwner, now = Date.now()): Renewal {
  return db.transaction((): Renewal => {
    const renewed = db.prepare(`UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND status = 'running' AND owner_pid = ? AND owner_host = ?`).run(now, id, owner.pid, owner.host)
    if (renewed.changes === 1) return 'held'
    const lease = getJobLease(db, id)
    if (!lease || lease.status !== 'interrupted' || lease.owner.pid !== owner.pid || lease.owner.host !== owner.host) return 'lost'
    if (lease.runId !== null) {
      const run = db.prepare('SELECT status FROM runs WHERE id = ?').get(lease.runId) as { status: string } | undefined
      const taken = db.prepare(`SELECT 1 FROM jobs WHERE run_id = ? AND status = 'running' AND id <> ?`).get(lease.runId, id)
      if (!run || run.status !== 'interrupted' || taken) return 'lost'
      db.prepare(`UPDATE runs SET status = 'running', error = NULL, finished_at = NULL WHERE id = ?`).run(lease.runId)
    }
    db.prepare(`UPDATE jobs SET status = 'running', heartbeat_at = ?, error = NULL, finished_at = NULL WHERE id = ?`).run(now, id)
    return 'reclaimed'
  })()
}

/** Records how a job ended; a lease already marked interrupted (or lost) keeps that status. */
export function finishJobLease(db: Db, id: string, status: Exclude<JobStatus, 'running' | 'interrupted'>, error: string | null = null): void {
  db.prepare(`UPDATE jobs SET status = ?, error = ?, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ? AND status = 'running'`).run(status, error, id)
}

/**
 * Marks the given running leases interrupted, then every run still `running` that no running lease
 * holds (its owner died, or it predates leases) as `interrupted`. Returns the runs it changed.
 */
export function interruptLeases(db: Db, reasons: Map<string, string>): number[] {
  return db.transaction(() => {
    const mark = db.prepare(`UPDATE jobs SET status = 'interrupted', error = ?, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ? AND status = 'running'`)
    for (const [id, reason] of reasons) mark.run(reason, id)
    const orphans = db
      .prepare(`SELECT id FROM runs WHERE status = 'running' AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.run_id = runs.id AND jobs.status = 'running')`)
      .all() as { id: number }[]
    const interrupt = db.prepare(`UPDATE runs SET status = 'interrupted', finished_at = strftime('%Y-%m-%dT%H:%M:%fZ','now'),
        error = COALESCE((SELECT error FROM jobs WHERE jobs.run_id = runs.id ORDER BY started_at DESC, rowid DESC LIMIT 1),
                         'no process holds this run any more (it was left running)')
      WHERE id = ?`)
    for (const r of orphans) interrupt.run(r.id)
    return orphans.map((r) => r.id)
  })()
}

/** Keeps the newest `keep` finished job rows: the table is a log of recent jobs, not an archive. */
export function pruneFinishedJobs(db: Db, keep = 1000): void {
  db.prepare(`DELETE FROM jobs WHERE status <> 'running' AND id NOT IN (SELECT id FROM jobs ORDER BY started_at DESC, rowid DESC LIMIT ?)`).run(keep)
}
