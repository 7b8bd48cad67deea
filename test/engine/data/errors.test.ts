import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { importCorpus } from '../../../engine/data/import'
import { listDatasets } from '../../../engine/store/datasets'
import { allRecords, fixtureLines, FIXTURES, makeHome, type Home } from './helpers'

let home: Home
beforeEach(() => (home = makeHome()))
afterEach(() => home.close())

const write = (name: string, data: string | Buffer) => {
  const file = path.join(home.dir, name)
  fs.writeFileSync(file, data)
  return file
}
const run = (paths: string[], options = {}) => importCorpus(paths, { devRatio: 0, ...options }, { db: home.db, layout: home.layout })

describe('bad input', () => {
  it('reports broken JSON lines with their line numbers and imports the good ones', async () => {
    const lines = fixtureLines('poems.txt').slice(0, 6).map((text) => JSON.stringify({ text }))
    lines.splice(2, 0, '{"text": "断了的行')
    lines.splice(5, 0, 'not json at all')
    lines.splice(7, 0, '{"title": "no text field"}')
    const result = await run([write('broken.jsonl', lines.join('\n') + '\n')])
    const f = result.files[0]
    expect(f.status).toBe('imported')
    expect(f.records).toBe(6)
    expect(f.errors.map((e) => e.line)).toEqual([3, 6, 8])
    expect(f.errors[0].reason).toMatch(/invalid JSON/)
    expect(f.errors[2].reason).toMatch(/field text/)
    expect(f.reason).toBe('3 lines with errors')
  })

  it('fails binary, empty and truncated gzip files with reasons, and imports the rest', async () => {
    const png = write('image.png', Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.alloc(200, 7)]))
    const random = write('noise.txt', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)))
    const empty = write('empty.txt', '')
    const gz = zlib.gzipSync(fs.readFileSync(path.join(FIXTURES, 'poems.txt')))
    const truncated = write('cut.txt.gz', gz.subarray(0, Math.floor(gz.length / 2)))
    const good = path.join(FIXTURES, 'paragraphs.txt')
    const result = await run([png, random, empty, truncated, good])
    const by = Object.fromEntries(result.files.map((f) => [path.basename(f.file), f]))
    expect(by['image.png']).toMatchObject({ status: 'failed', reason: 'binary file (PNG image)' })
    expect(by['noise.txt'].status).toBe('failed')
    expect(by['noise.txt'].reason).toMatch(/^binary file/)
    expect(by['empty.txt']).toMatchObject({ status: 'failed', reason: 'empty file' })
    expect(by['cut.txt.gz']).toMatchObject({ status: 'failed', records: 0 })
    expect(by['cut.txt.gz'].reason).toMatch(/truncated gzip/)
    expect(by['paragraphs.txt']).toMatchObject({ status: 'imported', format: 'paragraphs', records: 20 })
    // nothing of the truncated file reached the dataset
    expect(result.dataset!.records).toBe(20)
    expect(result.dataset!.stats.documents).toBe(20)
  })

  it('refuses zips with ../ entries, absolute paths or bomb-like ratios, and reads a good zip', async () => {
    const zips = path.join(FIXTURES, 'zips')
    const result = await run(['traversal.zip', 'absolute.zip', 'bomb.zip', 'corpus.zip'].map((z) => path.join(zips, z)))
    const by = Object.fromEntries(result.files.map((f) => [f.file.slice(zips.length + 1), f]))
    expect(by['traversal.zip'].status).toBe('failed')
    expect(by['traversal.zip'].reason).toMatch(/"\.\.\/evil\.txt" escapes the archive/)
    expect(by['absolute.zip'].reason).toMatch(/absolute path/)
    expect(by['bomb.zip'].reason).toMatch(/zip bomb/)
    expect(by['corpus.zip!corpus/a.txt']).toMatchObject({ status: 'imported', records: 10 })
    expect(by['corpus.zip!corpus/b.txt.gz']).toMatchObject({ status: 'imported', records: 10 })
    expect(by['corpus.zip!corpus/c.jsonl']).toMatchObject({ status: 'imported', records: 5, task: 'text' })
    expect(by['corpus.zip!语料/诗.txt']).toMatchObject({ status: 'imported', records: 5 })
    expect(by['corpus.zip!corpus/.DS_Store'].status).toBe('skipped')
    expect(result.dataset!.records).toBe(30)
    // the refused archive wrote nothing anywhere
    expect(fs.existsSync(path.join(home.dir, 'evil.txt'))).toBe(false)
  })

  it('caps the entry count and expanded size of zips', async () => {
    const zip = path.join(FIXTURES, 'zips', 'corpus.zip')
    const few = await run([zip], { zipLimits: { maxEntries: 2, maxExpandedBytes: 1 << 30, maxRatio: 200 } })
    expect(few.files[0].reason).toMatch(/more than .*2|2 entries|entries/)
    const small = await run([zip], { zipLimits: { maxEntries: 100, maxExpandedBytes: 1000, maxRatio: 200 } })
    expect(small.files[0].reason).toMatch(/expands to more than 1000 bytes/)
    expect(small.dataset).toBeNull()
  })

  it('returns no dataset when nothing could be imported, and registers none', async () => {
    const result = await run([write('empty.txt', ''), path.join(home.dir, 'missing.txt')])
    expect(result.dataset).toBeNull()
    expect(result.files.map((f) => f.status)).toEqual(['failed', 'failed'])
    expect(result.files[1].reason).toMatch(/ENOENT/)
    expect(listDatasets(home.db)).toEqual([])
  })

  it('never modifies its sources', async () => {
    const file = write('poems.txt', fs.readFileSync(path.join(FIXTURES, 'poems.txt')))
    const before = fs.statSync(file)
    const result = await run([file], { t2s: true, halfwidth: true })
    const after = fs.statSync(file)
    expect(after.mtimeMs).toBe(before.mtimeMs)
    expect(after.size).toBe(before.size)
    expect(fs.readFileSync(file, 'utf8')).toBe(fs.readFileSync(path.join(FIXTURES, 'poems.txt'), 'utf8'))
    expect(await allRecords(result.dataset!.dir)).toHaveLength(40)
  })
})

describe('JSON documents', () => {
  it('streams a minified one-line JSON array and reports a bad element by its line', async () => {
    const docs = fixtureLines('poems.txt').slice(0, 5)
    const minified = write('docs.json', JSON.stringify(docs.map((text) => ({ text }))))
    const r = await run([minified])
    expect(r.files[0]).toMatchObject({ status: 'imported', format: 'json', records: 5 })
    const pretty = JSON.stringify(docs.map((text) => ({ text })), null, 2).replace('"text": "《梦李白', '"text" "《梦李白')
    const broken = await run([write('pretty.json', pretty)])
    expect(broken.files[0]).toMatchObject({ status: 'imported', records: 4 })
    expect(broken.files[0].errors).toEqual([{ line: 5, reason: expect.stringMatching(/invalid JSON element/) }])
  })

  it('fails a JSON document that ends early, keeping none of its records', async () => {
    const docs = fixtureLines('poems.txt').slice(0, 5)
    const text = JSON.stringify(docs.map((t) => ({ text: t })), null, 1)
    const r = await run([write('cut.json', text.slice(0, Math.floor(text.length * 0.7)))])
    expect(r.files[0].status).toBe('failed')
    expect(r.files[0].reason).toMatch(/JSON ends early at line \d+ \(truncated file\?\)/)
    expect(r.dataset).toBeNull()
  })
})
