// Whether a lease's owner is still alive. A job's row (engine/store/jobs.ts) names its owner: pid, host and,
// on Linux, the process start time (so a pid the OS handed to another process does not keep a dead run
// alive). On this host a dead pid ends the lease at once; on another host (or a frozen process) the
// heartbeat going stale does.
import { readFileSync } from 'node:fs'
import os from 'node:os'
import type { JobLease, LeaseOwner } from '../store/jobs'
import { processAlive } from '../process-alive'

export interface LeaseTimings {
  /** How often the owner renews its leases. */
  heartbeatMs: number
  /** A heartbeat older than this ends the lease even when the pid still exists. */
  staleMs: number
  /** How often a process that holds the database looks for leases whose owner is gone. */
  sweepMs: number
}

export const DEFAULT_LEASE_TIMINGS: LeaseTimings = { heartbeatMs: 5_000, staleMs: 120_000, sweepMs: 10_000 }

/** Linux: field 22 of /proc/<pid>/stat (start time in clock ticks since boot); elsewhere null. */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
  } catch {
    return null
  }
}

let self: LeaseOwner | null = null
export function currentOwner(): LeaseOwner {
  self ??= { pid: process.pid, host: os.hostname(), start: processStart(process.pid) }
  return self
}

/** true or false on this host; null when the owner runs elsewhere and only its heartbeat can tell. */
export function ownerAlive(owner: LeaseOwner): boolean | null {
  if (owner.host !== currentOwner().host) return null
  if (!processAlive(owner.pid)) return false
  if (owner.start !== null) {
    const start = processStart(owner.pid)
    if (start !== null && start !== owner.start) return false
  }
  return true
}

/** Why a running lease has ended, or null while its owner holds it. */
export function leaseEnded(lease: JobLease, timings: LeaseTimings, now = Date.now()): string | null {
  const who = `process ${lease.owner.pid} on ${lease.owner.host}`
  if (ownerAlive(lease.owner) === false) return `interrupted: ${who} is gone`
  const silent = now - lease.heartbeatAt
  if (silent > timings.staleMs) return `interrupted: ${who} sent no heartbeat for ${Math.round(silent / 1000)} s`
  return null
}
