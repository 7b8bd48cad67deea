// The one-time token-shard build is a job like tagging: it reports progress in records (in order, ending
// at the dataset's total), stops between records when cancelled without leaving anything a later run
// would trust, and the next build continues from its checkpoint — even after a kill that wrote past it —
// writing byte for byte what an uninterrupted build writes. Real text (fortunes-zh, else poetry) with a
// real tag cache.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ShardWriter } from '../../../engine/data/shards'
import { BuiltinTagger } from '../../../engine/tagging/builtin'
import { tagDataset } from '../../../engine/tagging/dataset-tags'
import { availableSources, localChineseDocuments } from '../../../engine/text/local-corpus'
import { defaultVocabPath } from '../../../engine/text/default-vocab'
import { readTokenManifest } from '../../../engine/text/token-shards'
import { parseTrainConfig, presetModelConfig } from '../../../engine/train/config'
import { openSegments } from '../../../engine/train/loop'
import { TRAIN_PRESETS } from '../../../engine/train/presets'
import { buildTokenShards, tokenShardsKey, TOKENS_FOLDER } from '../../../engine/train/shard-build'
import { tempDir } from '../../helpers'

const RECORDS = 3000 // > 2 × the build's progress interval (1024 records)
const SEGMENT = 30 // short segments: long lines are cut, so records and segments differ

/** Real lines in two splits (every 10th record dev), every 97th a task record without text. */
async function makeDataset(dir: string): Promise<void> {
  const source = availableSources().includes('fortunes-zh') ? 'fortunes-zh' : 'chinese-poetry'
  const writer = new ShardWriter(dir, false)
  let n = 0
  outer: for await (const doc of localChineseDocuments([source])) {
    for (const line of doc.split('\n').map((l) => l.trim()).filter(Boolean)) {
      writer.write(n % 10 === 9 ? 'dev' : 'train', n % 97 === 5 ? { label: 1, sentence1: line } : { text: line })
      if (++n === RECORDS) break outer
    }
  }
  writer.finish()
}

/** Every file of a built folder, the manifest without its date. */
function folderContents(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const f of fs.readdirSync(dir).sort()) {
    out[f] = f === 'manifest.json' ? JSON.stringify({ ...readTokenManifest(dir), createdAt: null }) : fs.readFileSync(path.join(dir, f)).toString('base64')
  }
  return out
}

describe('buildTokenShards: progress, cancel, resume', () => {
  const tmp = tempDir()
  const vocabFile = defaultVocabPath()
  const source = path.join(tmp.dir, 'source')
  let expected: Record<string, string>
  let expectedEvents: [number, number][]
  let key: string // the built folder's name
  beforeAll(async () => {
    await makeDataset(source)
    await tagDataset(source, { tagger: BuiltinTagger.shared(), entities: false })
    const whole = path.join(tmp.dir, 'whole')
    fs.cpSync(source, whole, { recursive: true })
    expectedEvents = []
    const dir = await buildTokenShards(whole, { vocabFile, maxSegmentTokens: SEGMENT, onProgress: (d, t) => expectedEvents.push([d, t]) })
    key = path.basename(dir)
    expect(key).toBe(tokenShardsKey(readTokenManifest(dir).vocab.sha256, SEGMENT))
    expected = folderContents(dir)
  }, 120_000)
  afterAll(() => tmp.cleanup())

  it('reports records done in order, from 0 to the dataset total', () => {
    const total = RECORDS
    expect(expectedEvents[0]).toEqual([0, total])
    expect(expectedEvents.at(-1)).toEqual([total, total])
    expect(expectedEvents.every(([, t]) => t === total)).toBe(true)
    for (let i = 1; i < expectedEvents.length; i++) expect(expectedEvents[i][0]).toBeGreaterThanOrEqual(expectedEvents[i - 1][0])
    expect(expectedEvents.filter(([d]) => d > 0 && d < total).length).toBeGreaterThanOrEqual(2)
    expect(Object.keys(expected)).toEqual(['dev-00000.idx', 'dev-00000.tok', 'manifest.json', 'train-00000.idx', 'train-00000.tok'])
  })

  it('cancelled twice (once in each split) and killed past a checkpoint, the rebuilt folder equals an uninterrupted build', async () => {
    const ds = path.join(tmp.dir, 'cut')
    fs.cpSync(source, ds, { recursive: true })
    const final = path.join(ds, TOKENS_FOLDER, key)
    const partial = `${final}.partial`
    const cancelAt = async (records: number): Promise<[number, number][]> => {
      const events: [number, number][] = []
      const controller = new AbortController()
      const build = buildTokenShards(ds, {
        vocabFile,
        maxSegmentTokens: SEGMENT,
        signal: controller.signal,
        checkpointRecords: 400,
        progressRecords: 100,
        onProgress: (d, t) => {
          events.push([d, t])
          if (d >= records) controller.abort()
        },
      })
      await expect(build).rejects.toMatchObject({ code: 'CANCELLED' })
      // nothing a later run would trust: no folder under the final name, no manifest in the partial one
      expect(fs.existsSync(final)).toBe(false)
      expect(fs.existsSync(path.join(partial, 'manifest.json'))).toBe(false)
      expect(fs.existsSync(path.join(partial, 'progress.json'))).toBe(true)
      expect(fs.existsSync(`${final}.lock`)).toBe(false)
      return events
    }

    const first = await cancelAt(1024) // train holds 2700 records
    expect(first[0]).toEqual([0, RECORDS])
    // a kill after the last checkpoint: the open shard's files go on past what the checkpoint covers
    fs.appendFileSync(path.join(partial, 'train-00000.tok'), Buffer.alloc(8 * 5, 7))
    fs.appendFileSync(path.join(partial, 'train-00000.idx'), Buffer.alloc(12 * 2, 9))
    fs.writeFileSync(path.join(partial, 'train-00001.tok'), 'started by the killed build')

    const second = await cancelAt(2900) // into the dev split
    expect(second[0][0]).toBeGreaterThan(0) // continued from the checkpoint, not from record 0
    expect(second[0][0]).toBeLessThanOrEqual(first.at(-1)![0])

    const events: [number, number][] = []
    const dir = await buildTokenShards(ds, { vocabFile, maxSegmentTokens: SEGMENT, onProgress: (d, t) => events.push([d, t]) })
    expect(events[0][0]).toBeGreaterThan(2700) // resumed inside dev
    expect(events.at(-1)).toEqual([RECORDS, RECORDS])
    expect(dir).toBe(final)
    expect(fs.existsSync(partial)).toBe(false)
    expect(folderContents(dir)).toEqual(expected)
  })

  it('a training run reports the build before its first step and stops it on a stop request; the next run resumes it', async () => {
    const ds = path.join(tmp.dir, 'train-run')
    fs.cpSync(source, ds, { recursive: true })
    const config = parseTrainConfig({ ...TRAIN_PRESETS.tiny, maxSeqLength: SEGMENT + 2, data: { kind: 'dataset', dir: ds } })
    const bert = presetModelConfig(config.model)!
    const seen: { done: number; total: number; unit: string; message: string }[] = []
    await expect(openSegments(config, bert, SEGMENT, { preparing: (p) => seen.push(p), stopRequested: () => seen.length > 1 })).rejects.toMatchObject({ code: 'CANCELLED' })
    expect(seen.map((p) => p.unit)).toEqual(['records', 'records'])
    expect(seen[0]).toMatchObject({ done: 0, total: RECORDS, message: 'building token shards' })
    expect(fs.existsSync(path.join(ds, TOKENS_FOLDER, key))).toBe(false)

    const again: { done: number; total: number }[] = []
    const opened = await openSegments(config, bert, SEGMENT, { preparing: (p) => again.push(p) })
    expect(again[0].done).toBeGreaterThanOrEqual(1024) // continued where the stop left it
    expect(again.at(-1)).toMatchObject({ done: RECORDS, total: RECORDS })
    expect(folderContents(path.join(ds, TOKENS_FOLDER, key))).toEqual(expected)
    expect(opened.train.size).toBeGreaterThan(0)
    opened.train.close()
    opened.dev?.close()
  })
})
