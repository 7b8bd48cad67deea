// Tagging a corpus-sized dataset is a job that can stop and go on: cancelled, or its process killed, the
// next run continues from the last checkpoint and writes exactly the cache an uninterrupted run writes.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readManifest, ShardWriter } from '../../../engine/data/shards'
import { BuiltinTagger } from '../../../engine/tagging/builtin'
import { readTagSummary, tagDataset } from '../../../engine/tagging/dataset-tags'
import { availableSources, localChineseDocuments } from '../../../engine/text/local-corpus'
import { repoRoot, tempDir } from '../../helpers'

const RECORDS = 1200

/** A dataset of real lines (fortunes-zh, else poetry) in two splits, every 97th record a task record without text. */
async function makeDataset(dir: string): Promise<void> {
  const source = availableSources().includes('fortunes-zh') ? 'fortunes-zh' : 'chinese-poetry'
  const writer = new ShardWriter(dir, true)
  let n = 0
  outer: for await (const doc of localChineseDocuments([source])) {
    for (const line of doc.split('\n').map((l) => l.trim()).filter(Boolean)) {
      const split = n % 10 === 9 ? 'dev' : 'train'
      writer.write(split, n % 97 === 5 ? { label: 1, sentence1: line } : { text: line })
      if (++n === RECORDS) break outer
    }
  }
  writer.finish()
}

/** The tag cache's rows, shard by shard, as written. */
function cacheRows(datasetDir: string): string[] {
  const dir = path.join(datasetDir, 'tags')
  return readManifest(dir).shards.flatMap((s) => zlib.gunzipSync(fs.readFileSync(path.join(dir, s.file))).toString('utf8').trim().split('\n'))
}

const withoutDate = <T extends { createdAt: string }>(s: T) => ({ ...s, createdAt: undefined })

describe('tagDataset: streaming, cancellable, resumable', () => {
  const tmp = tempDir()
  const source = path.join(tmp.dir, 'source')
  const whole = path.join(tmp.dir, 'whole')
  let expectedRows: string[]
  beforeAll(async () => {
    await makeDataset(source)
    fs.cpSync(source, whole, { recursive: true })
    await tagDataset(whole, { tagger: BuiltinTagger.shared() })
    expectedRows = cacheRows(whole)
  }, 120_000)
  afterAll(() => tmp.cleanup())

  it('tags every record once, in order, in the shard format', () => {
    expect(readManifest(path.join(whole, 'tags')).records).toBe(RECORDS - Math.ceil((RECORDS - 5) / 97))
    const indexes = expectedRows.map((r) => (JSON.parse(r) as { index: number }).index)
    expect(new Set(indexes).size).toBe(indexes.length)
    expect(readTagSummary(whole)).toMatchObject({ sourceRecords: RECORDS, skipped: Math.ceil((RECORDS - 5) / 97) })
  })

  it('continues a cancelled run from its checkpoint and ends with the same cache', async () => {
    const dir = path.join(tmp.dir, 'cancelled')
    fs.cpSync(source, dir, { recursive: true })
    const abort = new AbortController()
    const run = tagDataset(dir, {
      tagger: BuiltinTagger.shared(),
      signal: abort.signal,
      checkpointRecords: 100,
      onProgress: (done) => done >= 500 && abort.abort(),
    })
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' })
    expect(fs.existsSync(path.join(dir, 'tags'))).toBe(false)
    const progress = JSON.parse(fs.readFileSync(path.join(dir, 'tags.partial', 'progress.json'), 'utf8')) as { next: number }
    expect(progress.next).toBeGreaterThanOrEqual(500)
    expect(progress.next).toBeLessThan(RECORDS)

    const seen: number[] = []
    const resumed = await tagDataset(dir, { tagger: BuiltinTagger.shared(), onProgress: (done) => seen.push(done) })
    expect(resumed.resumedFrom).toBe(progress.next)
    expect(seen[0]).toBe(progress.next)
    expect(cacheRows(dir)).toEqual(expectedRows)
    expect(withoutDate(readTagSummary(dir)!)).toEqual(withoutDate(readTagSummary(whole)!))
    expect(fs.existsSync(path.join(dir, 'tags.partial'))).toBe(false)
  }, 120_000)

  it('continues after its process is killed mid-write, dropping what came after the checkpoint', async () => {
    const dir = path.join(tmp.dir, 'killed')
    fs.cpSync(source, dir, { recursive: true })
    // one process (node --import tsx): tsx's CLI would run the script in a child that outlives a SIGKILL
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'tag-dataset-child.ts'), dir], {
      stdio: 'ignore',
      cwd: repoRoot,
    })
    const progressFile = path.join(dir, 'tags.partial', 'progress.json')
    const exited = new Promise((resolve) => child.on('exit', resolve))
    // kill it a while after its second checkpoint, between checkpoints
    let checkpoints = 0
    let last = ''
    while (checkpoints < 2) {
      await new Promise((r) => setTimeout(r, 20))
      const now = fs.existsSync(progressFile) ? fs.readFileSync(progressFile, 'utf8') : ''
      if (now && now !== last) checkpoints++
      last = now
      expect(child.exitCode).toBeNull() // still running
    }
    await new Promise((r) => setTimeout(r, 60))
    child.kill('SIGKILL')
    await exited
    const progress = JSON.parse(fs.readFileSync(progressFile, 'utf8')) as { next: number; writer: { open: Record<string, { file: string }> } }
    expect(progress.next).toBeGreaterThan(0)
    expect(progress.next).toBeLessThan(RECORDS)
    // what a write torn by the kill leaves: bytes past the checkpoint in an open shard, a shard begun after it
    const open = Object.values(progress.writer.open)[0].file
    fs.appendFileSync(path.join(dir, 'tags.partial', open), zlib.gzipSync('{"index": 99999, "tokens": []}\n').subarray(0, 20))
    fs.writeFileSync(path.join(dir, 'tags.partial', 'train-00007.jsonl.gz'), zlib.gzipSync('{"index": 99998}\n'))

    expect(fs.existsSync(path.join(dir, 'tags.lock'))).toBe(true) // left by the dead process, taken over below
    const resumed = await tagDataset(dir, { tagger: BuiltinTagger.shared() })
    expect(fs.existsSync(path.join(dir, 'tags.lock'))).toBe(false)
    expect(resumed.resumedFrom).toBeGreaterThanOrEqual(progress.next)
    expect(cacheRows(dir)).toEqual(expectedRows)
    expect(withoutDate(readTagSummary(dir)!)).toEqual(withoutDate(readTagSummary(whole)!))
  }, 120_000)

  it('refuses a second job on the same dataset while one runs', async () => {
    const dir = path.join(tmp.dir, 'twice')
    fs.cpSync(source, dir, { recursive: true })
    let started!: () => void
    const running = new Promise<void>((resolve) => (started = resolve))
    const abort = new AbortController()
    const first = tagDataset(dir, { tagger: BuiltinTagger.shared(), signal: abort.signal, onProgress: (done) => done > 0 && started() })
    await running
    await expect(tagDataset(dir, { tagger: BuiltinTagger.shared() })).rejects.toMatchObject({ code: 'CONFLICT' })
    abort.abort()
    await expect(first).rejects.toMatchObject({ code: 'CANCELLED' })
    expect(fs.existsSync(path.join(dir, 'tags.lock'))).toBe(false)
  }, 120_000)

  it('starts over when the checkpoint is for other options', async () => {
    const dir = path.join(tmp.dir, 'other')
    fs.cpSync(source, dir, { recursive: true })
    const abort = new AbortController()
    await expect(
      tagDataset(dir, { tagger: BuiltinTagger.shared(), entities: false, signal: abort.signal, onProgress: (d) => d >= 300 && abort.abort() }),
    ).rejects.toMatchObject({ code: 'CANCELLED' })
    const resumed = await tagDataset(dir, { tagger: BuiltinTagger.shared() })
    expect(resumed.resumedFrom).toBe(0)
    expect(cacheRows(dir)).toEqual(expectedRows)
  }, 120_000)
})
