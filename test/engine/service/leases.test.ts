// Job leases: a job's row names its owner (pid, host, start time) and a heartbeat. A sweep ends the leases
// of dead or silent owners and marks their runs interrupted; a frozen owner that wakes up reclaims its
// lease unless another process took the run over meanwhile, in which case it must stop.
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openDatabase, type Db } from '../../../engine/store/db'
import { getJobLease, insertJobLease, listJobLeases, renewJobLease } from '../../../engine/store/jobs'
import { getRun, insertRun, setRunStatus } from '../../../engine/store/runs'
import { JobManager } from '../../../engine/service/jobs'
import { currentOwner, ownerAlive, processStart } from '../../../engine/service/leases'
import { tempDir } from '../../helpers'

let tmp: ReturnType<typeof tempDir>
let db: Db
beforeEach(() => {
  tmp = tempDir()
  db = openDatabase(path.join(tmp.dir, 'l.db'))
})
afterEach(() => {
  db.close()
  tmp.cleanup()
})

/** The pid of a process that has exited (the OS may reuse it, but not within this test's lifetime). */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!
const runningRun = () => {
  const id = insertRun(db, { name: 'r', kind: 'pretrain', config: {}, seed: 1 })
  setRunStatus(db, id, 'running')
  return id
}

describe('lease owners', () => {
  it('are alive while their process runs, gone once it exits, unknown on another host', () => {
    expect(ownerAlive(currentOwner())).toBe(true)
    expect(ownerAlive({ ...currentOwner(), pid: deadPid() })).toBe(false)
    expect(ownerAlive({ ...currentOwner(), host: 'elsewhere.example' })).toBeNull()
    if (process.platform === 'linux') {
      expect(processStart(process.pid)).toMatch(/^\d+$/)
      // the same pid with another start time is another process: the owner is gone
      expect(ownerAlive({ ...currentOwner(), start: '1' })).toBe(false)
    }
  })
})

describe('JobManager.sweep', () => {
  it('interrupts the run of a dead owner and a run that nobody holds, and leaves live ones alone', () => {
    const dead = runningRun()
    insertJobLease(db, { id: 'dead-job', kind: 'train', title: 'dead', runId: dead }, { ...currentOwner(), pid: deadPid() })
    const orphan = runningRun() // left `running` by an app that predates leases
    const live = runningRun()
    const jobs = new JobManager(() => {}, { db })
    let release!: () => void
    jobs.start('train', 'live', () => new Promise<void>((r) => (release = r)), { runId: live })

    expect(jobs.sweep().sort()).toEqual([dead, orphan].sort())
    expect(getRun(db, dead)).toMatchObject({ status: 'interrupted', error: expect.stringMatching(/^interrupted: process \d+ on .* is gone$/) })
    expect(getRun(db, orphan)).toMatchObject({ status: 'interrupted', error: expect.stringMatching(/no process holds this run/) })
    expect(getRun(db, live)!.status).toBe('running')
    expect(getJobLease(db, 'dead-job')!.status).toBe('interrupted')
    expect(jobs.sweep()).toEqual([]) // nothing twice
    release()
  })

  it('ends a lease whose heartbeat went stale although its pid exists (another host, a frozen process)', () => {
    const run = runningRun()
    const now = Date.now()
    insertJobLease(db, { id: 'far', kind: 'train', title: 'far', runId: run }, { pid: 1, host: 'elsewhere.example', start: null }, now - 60_000)
    const jobs = new JobManager(() => {}, { db, timings: { staleMs: 120_000 } })
    expect(jobs.sweep(now)).toEqual([])
    expect(jobs.sweep(now + 61_000)).toEqual([run])
    expect(getJobLease(db, 'far')!.error).toMatch(/sent no heartbeat for 121 s/)
  })

  it('records how each job ended, and a new job on the same run may hold it after a resume', async () => {
    const run = runningRun()
    const jobs = new JobManager(() => {}, { db })
    const ok = jobs.start('train', 'ok', async () => 1, { runId: run })
    await ok.done
    const bad = jobs.start('import', 'bad', async () => {
      throw new Error('disk full')
    })
    await expect(bad.done).rejects.toThrow('disk full')
    expect(listJobLeases(db).map((l) => [l.kind, l.status, l.error])).toEqual([
      ['train', 'completed', null],
      ['import', 'failed', 'disk full'],
    ])
  })
})

describe('renewing a lease', () => {
  it('reclaims a lease a sweep ended while its owner was frozen, unless the run was taken over', () => {
    const run = runningRun()
    const me = currentOwner()
    insertJobLease(db, { id: 'mine', kind: 'train', title: 'mine', runId: run }, me, 0)
    expect(renewJobLease(db, 'mine', me)).toBe('held')
    // a sweep elsewhere found the heartbeat stale
    new JobManager(() => {}, { db, timings: { staleMs: 1 } }).sweep(Date.now() + 10_000)
    expect(getRun(db, run)!.status).toBe('interrupted')
    expect(renewJobLease(db, 'mine', me)).toBe('reclaimed')
    expect(getRun(db, run)).toMatchObject({ status: 'running', error: null })

    new JobManager(() => {}, { db, timings: { staleMs: 1 } }).sweep(Date.now() + 10_000)
    // ...and this time somebody resumed the run before the owner woke up
    insertJobLease(db, { id: 'theirs', kind: 'train', title: 'theirs', runId: run }, { ...me, pid: me.pid + 1 })
    setRunStatus(db, run, 'running')
    expect(renewJobLease(db, 'mine', me)).toBe('lost')
    expect(getJobLease(db, 'mine')!.status).toBe('interrupted')
  })

  it('a job that lost its lease is told through ctx.leaseLost', async () => {
    const run = runningRun()
    const jobs = new JobManager(() => {}, { db, timings: { heartbeatMs: 20 } })
    const started = jobs.start(
      'train',
      'doomed',
      (ctx) =>
        new Promise((_, reject) => {
          ctx.leaseLost.addEventListener('abort', () => reject(new Error('stopped: lease lost')))
        }),
      { runId: run },
    )
    // another process declared this lease ended and resumed the run
    db.prepare("UPDATE jobs SET status = 'interrupted' WHERE id = ?").run(started.id)
    db.prepare("INSERT INTO jobs (id, kind, title, status, run_id, owner_pid, owner_host, heartbeat_at) VALUES ('other', 'train', 't', 'running', ?, 1, 'elsewhere', ?)").run(run, Date.now())
    await expect(started.done).rejects.toThrow('lease lost')
    expect(jobs.list()[0]).toMatchObject({ status: 'failed', error: expect.stringMatching(/lease lost/) })
    expect(getJobLease(db, started.id)!.status).toBe('interrupted')
  })
})
