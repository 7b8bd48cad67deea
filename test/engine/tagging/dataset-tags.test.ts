// Tagging a whole imported dataset as a job: progress, shards + summary beside the dataset, the cache,
// and the tag distribution — through the Workbench API on a real import.
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JobInfo, WorkbenchEvent } from '../../../engine/service/api'
import { Workbench } from '../../../engine/service/workbench'
import { readManifest } from '../../../engine/data/shards'
import { tempDir } from '../../helpers'

const TEXTS = ['张三在北京工作。', '马云于1999年在杭州创办了阿里巴巴集团。', '天气很好🙂', '花了20美元。', '李白在长安写诗。']

describe('tags.dataset', () => {
  const tmp = tempDir()
  let wb: Workbench
  const events: WorkbenchEvent[] = []
  beforeAll(() => {
    wb = new Workbench({ home: tmp.dir })
    wb.subscribe((e) => events.push(e))
  })
  afterAll(async () => {
    await wb.close()
    tmp.cleanup()
  })

  const finished = (jobId: string) =>
    new Promise<JobInfo>((resolve) => {
      const check = () => {
        const job = wb.jobs.list().find((j) => j.id === jobId)
        if (job && job.status !== 'running') resolve(job)
        else setTimeout(check, 20)
      }
      check()
    })

  it('tags every record into shards beside the dataset, reports progress, then serves the cache', async () => {
    const file = path.join(tmp.dir, 'corpus.txt')
    fs.writeFileSync(file, TEXTS.join('\n') + '\n')
    const imported = await finished((await wb.call('datasets.import', { paths: [file], options: { devRatio: 0 } })).jobId)
    const id = (imported.result as { dataset: { id: number } }).dataset.id
    expect(await wb.call('tags.summary', { id })).toBeNull()

    const job = await finished((await wb.call('tags.dataset', { id })).jobId)
    expect(job.status).toBe('completed')
    expect(events.some((e) => e.type === 'job' && e.job.id === job.id && e.job.progress?.unit === 'records')).toBe(true)
    const summary = await wb.call('tags.summary', { id })
    expect(summary).toMatchObject({ tagger: 'builtin', entities: true, sourceRecords: 5, tagged: 5, skipped: 0 })
    expect(summary!.distribution.characters).toBe(TEXTS.join('').length)
    expect(summary!.distribution.ents).toMatchObject({ PERSON: 3, GPE: 3, DATE: 1, ORG: 1, MONEY: 1 })
    expect(summary!.distribution.pos.PUNCT).toBeGreaterThanOrEqual(4)

    // the cache: shards in the dataset's own format, one record per source record, offsets into the text
    const dir = path.join(tmp.dir, 'datasets', String(id), 'tags')
    const manifest = readManifest(dir)
    expect(manifest.records).toBe(5)
    const rows = manifest.shards.flatMap((s) =>
      zlib.gunzipSync(fs.readFileSync(path.join(dir, s.file))).toString('utf8').trim().split('\n').map((l) => JSON.parse(l)),
    )
    const samples = await wb.call('datasets.samples', { id, offset: 0, limit: 10 })
    for (const row of rows) {
      const text = samples.items.find((s) => s.index === row.index)!.record.text as string
      expect(row.tokens.map((t: { text: string }) => t.text).join('')).toBe(text)
      for (const e of row.ents) expect(text.slice(e.start, e.end)).toBe(e.text)
    }

    const again = await finished((await wb.call('tags.dataset', { id })).jobId)
    expect(again.result).toMatchObject({ cached: true, createdAt: summary!.createdAt })
    const tokensOnly = await finished((await wb.call('tags.dataset', { id, entities: false })).jobId)
    expect(tokensOnly.result).toMatchObject({ cached: false, entities: false, distribution: { ents: {} } })
  })

  it('refuses an unknown dataset', async () => {
    await expect(wb.call('tags.dataset', { id: 999 })).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})
