import fs from 'node:fs'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ImportOutcome, JobInfo, WorkbenchEvent } from '../../../engine/service/api'
import { Workbench } from '../../../engine/service/workbench'
import { fixtureLines, FIXTURES, makeHome, type Home } from './helpers'

let home: Home
let wb: Workbench
let events: WorkbenchEvent[]
beforeEach(() => {
  home = makeHome()
  wb = new Workbench({ home: home.dir, database: path.join(home.dir, 'wb.db') })
  events = []
  wb.subscribe((e) => events.push(e))
})
afterEach(async () => {
  await wb.close()
  home.close()
})

function finished(jobId: string): Promise<JobInfo> {
  return new Promise((resolve) => {
    const check = () => {
      const job = wb.jobs.list().find((j) => j.id === jobId)
      if (job && job.status !== 'running') resolve(job)
      else setTimeout(check, 10)
    }
    check()
  })
}

function numbered(n: number): string {
  const docs = fixtureLines('poems.txt')
  const file = path.join(home.dir, `numbered-${n}.txt`)
  fs.writeFileSync(file, Array.from({ length: n }, (_, i) => `第${i}首 ${docs[i % docs.length]}`).join('\n') + '\n')
  return file
}

describe('datasets API', () => {
  it('imports as a job, announces the change, and serves samples, stats, rename and delete', async () => {
    const file = numbered(2500)
    const { jobId } = await wb.call('datasets.import', { paths: [file], options: { name: 'poems', devRatio: 0, gzip: false } })
    const job = await finished(jobId)
    expect(job.status).toBe('completed')
    const outcome = job.result as ImportOutcome
    expect(outcome.files[0]).toMatchObject({ status: 'imported', records: 2500, encoding: 'utf-8', task: 'text' })
    expect(events.some((e) => e.type === 'datasets.changed')).toBe(true)
    expect(events.some((e) => e.type === 'job' && e.job.progress?.unit === 'bytes')).toBe(true)
    const id = outcome.dataset!.id

    // jump to a line past the first index block
    const page = await wb.call('datasets.samples', { id, offset: 2100, limit: 3 })
    expect(page.total).toBe(2500)
    expect(page.items.map((s) => s.index)).toEqual([2100, 2101, 2102])
    expect(page.items[0].record.text).toMatch(/^第2100首 /)
    expect(page.next).toBe(2103)
    const last = await wb.call('datasets.samples', { id, offset: 2498, limit: 10 })
    expect(last.items.map((s) => s.index)).toEqual([2498, 2499])
    expect(last.next).toBeNull()

    const found = await wb.call('datasets.samples', { id, offset: 0, limit: 5, query: '第1234首' })
    expect(found.items.map((s) => s.index)).toEqual([1234])

    const stats = await wb.call('datasets.stats', { id })
    expect(stats.documents).toBe(2500)

    expect((await wb.call('datasets.rename', { id, name: '唐诗' })).name).toBe('唐诗')
    const dir = path.join(home.dir, 'datasets', String(id))
    expect(fs.existsSync(dir)).toBe(true)
    expect(await wb.call('datasets.delete', { id })).toEqual({ deleted: true })
    expect(fs.existsSync(dir)).toBe(false)
    expect(await wb.call('datasets.list', {})).toEqual([])
    await expect(wb.call('datasets.get', { id })).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('reads gzip shards back the same', async () => {
    const { jobId } = await wb.call('datasets.import', { paths: [path.join(FIXTURES, 'poems.txt')], options: { gzip: true, devRatio: 0 } })
    const outcome = (await finished(jobId)).result as ImportOutcome
    const page = await wb.call('datasets.samples', { id: outcome.dataset!.id, offset: 38, limit: 5 })
    expect(page.items.map((s) => s.record.text)).toEqual(fixtureLines('poems.txt').slice(38, 40))
    expect(fs.readdirSync(path.join(home.dir, 'datasets', String(outcome.dataset!.id))).some((f) => f.endsWith('.jsonl.gz'))).toBe(true)
  })

  it('a cancelled import job registers nothing', async () => {
    const file = numbered(200_000)
    const { jobId } = await wb.call('datasets.import', { paths: [file] })
    await new Promise<void>((resolve) => {
      const check = () => (wb.jobs.list().find((j) => j.id === jobId)?.progress ? resolve() : setTimeout(check, 5))
      check()
    })
    expect(await wb.call('jobs.cancel', { id: jobId })).toEqual({ cancelled: true })
    const job = await finished(jobId)
    expect(job.status).toBe('cancelled')
    expect(await wb.call('datasets.list', {})).toEqual([])
    expect(fs.readdirSync(path.join(home.dir, 'staging'))).toEqual([])
  })

  it('refuses bad options with a one-line reason', async () => {
    await expect(wb.call('datasets.import', { paths: [] })).rejects.toThrow(/datasets.import: paths/)
    await expect(wb.call('datasets.import', { paths: ['x'], options: { devRatio: 1 } } as never)).rejects.toThrow(/options.devRatio/)
    await expect(wb.call('datasets.import', { paths: ['x'], options: { task: 'squad' } } as never)).rejects.toThrow(/options.task/)
  })
})
