// The Electron build's worker entries (out/main/task-worker.js, out/main/worker.js) run without tsx, and
// the bundled engine still finds resources/ from out/main/: import a corpus and tag it with the built
// task worker, the way the desktop app does.
import fs from 'node:fs'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import { afterAll, describe, expect, it } from 'vitest'
import { openDatabase } from '../../engine/store/db'
import { listDatasets } from '../../engine/store/datasets'
import { repoRoot, tempDir } from '../helpers'

const built = path.join(repoRoot, 'out', 'main')
const tmp = tempDir()
afterAll(() => tmp.cleanup())
const env = { home: tmp.dir, database: path.join(tmp.dir, 'mengzi.db') }

function runBuiltTask(task: string, input: unknown): Promise<{ type: string; result?: any; error?: { message: string } }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(path.join(built, 'task-worker.js'), { workerData: { task, env, input } })
    worker.on('message', (m: { type: string }) => {
      if (m.type === 'progress') return
      void worker.terminate()
      resolve(m)
    })
    worker.on('error', reject)
  })
}

describe('the Electron main bundle', () => {
  it('builds the worker entries beside index.js', () => {
    for (const entry of ['index.js', 'task-worker.js', 'tagger-worker.js', 'worker.js', 'finetune-worker.js']) expect(fs.existsSync(path.join(built, entry)), entry).toBe(true)
    expect(fs.readdirSync(built).filter((f) => fs.statSync(path.join(built, f)).isDirectory())).toEqual([])
  })

  it('imports and tags a dataset in the built task worker', async () => {
    openDatabase(env.database).close()
    const imported = await runBuiltTask('import', { paths: [path.join(repoRoot, 'test/fixtures/import/poems.txt')], options: { name: 'poems' } })
    expect(imported.error).toBeUndefined()
    expect(imported.result.dataset).toMatchObject({ name: 'poems', records: 40 })
    const db = openDatabase(env.database)
    const [dataset] = listDatasets(db)
    db.close()
    const tagged = await runBuiltTask('tagDataset', { dir: dataset.dir, choice: { tagger: 'builtin' }, entities: false })
    expect(tagged.error).toBeUndefined()
    expect(tagged.result).toMatchObject({ tagged: 40 })
    expect(tagged.result.distribution.pos.PUNCT).toBeGreaterThan(0)
  })

  it('finds the native kernels (@mengzi/native and a BLAS) from the bundle, for the wasm backend', async () => {
    const probed = await runBuiltTask('probeBackends', undefined)
    expect(probed.error).toBeUndefined()
    const wasm = (probed.result as { name: string; available: boolean; detail: string }[]).find((p) => p.name === 'wasm')
    expect(wasm).toMatchObject({ available: true })
    expect(wasm!.detail).toMatch(/\+ native kernels \(sgemm: .*blas/i)
  })
})
