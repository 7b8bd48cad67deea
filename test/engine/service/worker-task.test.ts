// Data jobs run in worker threads: the import's staging folder is named after its thread, progress and
// results cross back as messages, cancel reaches the worker, and cleanup never touches another thread's
// work in progress.
import fs from 'node:fs'
import path from 'node:path'
import { threadId } from 'node:worker_threads'
import { afterAll, describe, expect, it } from 'vitest'
import { cleanStale } from '../../../engine/data/import'
import { JobManager } from '../../../engine/service/jobs'
import { runTask } from '../../../engine/service/worker-task'
import { dataLayout } from '../../../engine/paths'
import { openDatabase } from '../../../engine/store/db'
import { listDatasets } from '../../../engine/store/datasets'
import { repoRoot, tempDir } from '../../helpers'

const tmp = tempDir()
afterAll(() => tmp.cleanup())
const env = { home: tmp.dir, database: path.join(tmp.dir, 'mengzi.db') }
const corpus = [path.join(repoRoot, 'test/fixtures/import/poems.txt'), path.join(repoRoot, 'test/fixtures/import/paragraphs.txt')]

describe('runTask', () => {
  it('imports in a worker thread with its own connection and reports progress', async () => {
    openDatabase(env.database).close() // the service has migrated it before any task runs
    const progress: number[] = []
    const jobs = new JobManager((j) => j.progress && progress.push(j.progress.done))
    const { done } = jobs.start('import', 'Import', (ctx) => runTask('import', env, { paths: corpus, options: { name: 'tang' } }, ctx))
    const result = await done
    expect(result.dataset).toMatchObject({ name: 'tang', records: 60 })
    expect(progress.at(-1)).toBeGreaterThan(0)
    const db = openDatabase(env.database)
    expect(listDatasets(db).map((d) => d.name)).toEqual(['tang'])
    db.close()
  })

  it('passes a cancel to the worker, which leaves no dataset behind', async () => {
    const jobs = new JobManager(() => {})
    const { id, done } = jobs.start('import', 'Import', (ctx) => runTask('import', env, { paths: corpus, options: { name: 'cancelled' } }, ctx))
    jobs.cancel(id)
    await expect(done).rejects.toMatchObject({ code: 'CANCELLED' })
    const db = openDatabase(env.database)
    expect(listDatasets(db).map((d) => d.name)).toEqual(['tang'])
    db.close()
  })

  it('sends errors back with their code and one-line reason', async () => {
    const jobs = new JobManager(() => {})
    const { done } = jobs.start('tag', 'Tag', (ctx) => runTask('tagDataset', env, { dir: path.join(tmp.dir, 'nope'), choice: {} }, ctx))
    await expect(done).rejects.toThrow(/nope/)
  })
})

describe('cleanStale with imports in several threads', () => {
  it("removes this thread's abandoned staging folders, never another live thread's", () => {
    const layout = dataLayout(tmp.dir, env.database)
    const mine = path.join(layout.staging, `import-${process.pid}-${threadId}-abandoned`)
    const otherThread = path.join(layout.staging, `import-${process.pid}-${threadId + 7}-in-progress`)
    const deadProcess = path.join(layout.staging, `import-999999999-3-dead`)
    for (const dir of [mine, otherThread, deadProcess]) fs.mkdirSync(dir, { recursive: true })
    const db = openDatabase(env.database)
    cleanStale(db, layout)
    db.close()
    expect([mine, otherThread, deadProcess].map((d) => fs.existsSync(d))).toEqual([false, true, false])
  })
})

describe('backends.list', () => {
  it('probes the ladder in a worker and says what runs or why not', async () => {
    const { Workbench } = await import('../../../engine/service/workbench')
    const wb = new Workbench({ home: path.join(tmp.dir, 'probe') })
    try {
      const backends = await wb.call('backends.list', {})
      expect(backends.map((b) => b.name)).toEqual(['tensorflow', 'webgpu', 'wasm', 'cpu'])
      expect(backends.find((b) => b.name === 'wasm')).toMatchObject({ available: true, detail: expect.stringContaining('wasm') })
      expect(backends.find((b) => b.name === 'cpu')?.available).toBe(true)
      for (const b of backends) expect(b.detail).not.toContain('\n')
      expect(await wb.call('backends.list', {})).toBe(backends) // probed once per session
    } finally {
      await wb.close()
    }
  })
})
