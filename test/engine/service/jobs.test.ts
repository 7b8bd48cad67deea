import { describe, expect, it } from 'vitest'
import type { JobInfo } from '../../../engine/service/api'
import { JobManager } from '../../../engine/service/jobs'

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('JobManager', () => {
  it('reports progress with a rate and an ETA, then the result', async () => {
    const events: JobInfo[] = []
    const jobs = new JobManager((j) => events.push(j))
    const { id, done } = jobs.start('count', 'Counting', async (ctx) => {
      for (let i = 1; i <= 5; i++) {
        await tick(60)
        ctx.progress(i * 100, 500, 'records')
      }
      return { counted: 500 }
    })
    expect(await done).toEqual({ counted: 500 })
    const last = events.at(-1)!
    expect(last).toMatchObject({ id, status: 'completed', result: { counted: 500 } })
    const withRate = events.find((e) => e.progress?.rate != null)!
    expect(withRate.progress!.rate).toBeGreaterThan(0)
    expect(withRate.progress!.etaSeconds).toBeGreaterThanOrEqual(0)
    expect(jobs.list()[0].status).toBe('completed')
  })

  it('cancels a running job through its signal', async () => {
    const events: JobInfo[] = []
    const jobs = new JobManager((j) => events.push(j))
    const { id, done } = jobs.start('loop', 'Looping', async (ctx) => {
      while (!ctx.signal.aborted) await tick(10)
      throw new Error('stopped')
    })
    await tick(30)
    expect(jobs.cancel(id)).toBe(true)
    await expect(done).rejects.toThrow()
    expect(events.at(-1)!.status).toBe('cancelled')
    expect(jobs.cancel(id)).toBe(false)
  })

  it('turns a failure into a one-line error', async () => {
    const events: JobInfo[] = []
    const jobs = new JobManager((j) => events.push(j))
    const { done } = jobs.start('bad', 'Failing', async () => {
      throw new Error('corpus.txt line 3: not UTF-8\n    at stack')
    })
    await expect(done).rejects.toThrow()
    expect(events.at(-1)).toMatchObject({ status: 'failed', error: 'corpus.txt line 3: not UTF-8' })
  })
})
