import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import iconv from 'iconv-lite'
import * as OpenCC from 'opencc-js'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { detectEncoding, Decoder } from '../../../engine/data/encoding'
import { importCorpus } from '../../../engine/data/import'
import { allRecords, fixtureLines, FIXTURES, makeHome, type Home } from './helpers'

let home: Home
beforeEach(() => (home = makeHome()))
afterEach(() => home.close())

const poems = fs.readFileSync(path.join(FIXTURES, 'poems.txt'), 'utf8')

function variants(dir: string): Record<string, Buffer> {
  const v: Record<string, Buffer> = {
    'utf8.txt': Buffer.from(poems, 'utf8'),
    'utf8-bom.txt': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(poems, 'utf8')]),
    'gb18030.txt': iconv.encode(poems, 'gb18030'),
    'utf16le.txt': iconv.encode(poems, 'utf16le', { addBOM: true }),
    'utf16be.txt': iconv.encode(poems, 'utf16be', { addBOM: true }),
    'crlf.txt': Buffer.from(poems.replace(/\n/g, '\r\n'), 'utf8'),
    'utf8.txt.gz': zlib.gzipSync(Buffer.from(poems, 'utf8')),
    'gb18030.txt.gz': zlib.gzipSync(iconv.encode(poems, 'gb18030')),
  }
  for (const [name, bytes] of Object.entries(v)) fs.writeFileSync(path.join(dir, name), bytes)
  return v
}

describe('encodings', () => {
  it('imports the same real text identically from UTF-8, UTF-8 BOM, GB18030, UTF-16 LE/BE, CRLF and gzip', async () => {
    const src = path.join(home.dir, 'src')
    fs.mkdirSync(src)
    const names = Object.keys(variants(src))
    const expected = fixtureLines('poems.txt')
    const unique = [...new Set(expected)]
    const seen: Record<string, string>[] = []
    for (const name of names) {
      const result = await importCorpus([path.join(src, name)], { devRatio: 0, dedup: 'exact' }, { db: home.db, layout: home.layout })
      expect(result.files[0].status, name).toBe('imported')
      expect(result.files[0].undecodable, name).toBe(0)
      const records = (await allRecords(result.dataset!.dir)) as Record<string, string>[]
      expect(records.map((r) => r.text), name).toEqual(unique)
      seen.push(...records)
    }
    const report = (await importCorpus([src], { devRatio: 0, dedup: 'none' }, { db: home.db, layout: home.layout })).files
    expect(Object.fromEntries(report.map((f) => [path.basename(f.file), f.encoding]))).toEqual({
      'crlf.txt': 'utf-8',
      'gb18030.txt': 'gb18030',
      'gb18030.txt.gz': 'gb18030',
      'utf16be.txt': 'utf-16be',
      'utf16le.txt': 'utf-16le',
      'utf8-bom.txt': 'utf-8',
      'utf8.txt': 'utf-8',
      'utf8.txt.gz': 'utf-8',
    })
    expect(report.every((f) => f.records === expected.length)).toBe(true)
  })

  it('detects Big5 for traditional text and GB18030 for simplified, with a confidence', () => {
    const traditional = OpenCC.Converter({ from: 'cn', to: 'tw' })(poems.replace(/・/g, '．'))
    const big5 = detectEncoding(iconv.encode(traditional, 'big5'))
    expect(big5.encoding).toBe('big5')
    expect(big5.confidence).toBeGreaterThan(0.5)
    const gb = detectEncoding(iconv.encode(poems, 'gb18030'))
    expect(gb.encoding).toBe('gb18030')
    expect(gb.confidence).toBeGreaterThan(0.5)
    // A short, ambiguous sample is reported with a lower confidence than a long one.
    const short = detectEncoding(iconv.encode(poems.slice(0, 6), 'gb18030'))
    expect(short.confidence).toBeLessThanOrEqual(gb.confidence)
    expect(detectEncoding(Buffer.from(poems)).confidence).toBe(1)
  })

  it('lets the user override the encoding', async () => {
    const file = path.join(home.dir, 'legacy.txt')
    const traditional = OpenCC.Converter({ from: 'cn', to: 'tw' })(fixtureLines('poems.txt').slice(0, 5).join('\n').replace(/・/g, '．'))
    fs.writeFileSync(file, iconv.encode(traditional, 'big5'))
    const forced = await importCorpus([file], { encoding: 'big5', devRatio: 0 }, { db: home.db, layout: home.layout })
    expect(forced.files[0].encoding).toBe('big5')
    expect(((await allRecords(forced.dataset!.dir)) as { text: string }[]).map((r) => r.text)).toEqual(traditional.split('\n'))
  })

  it('counts undecodable bytes and names their lines instead of dropping them silently', async () => {
    const lines = fixtureLines('poems.txt').slice(0, 6)
    const bytes = Buffer.concat(lines.map((l, i) => Buffer.concat([iconv.encode(l, 'gb18030'), i === 3 ? Buffer.from([0x81, 0x20]) : Buffer.alloc(0), Buffer.from('\n')])))
    const file = path.join(home.dir, 'damaged.txt')
    fs.writeFileSync(file, bytes)
    const result = await importCorpus([file], { devRatio: 0 }, { db: home.db, layout: home.layout })
    const f = result.files[0]
    expect(f.encoding).toBe('gb18030')
    expect(f.undecodable).toBeGreaterThan(0)
    expect(f.errors.map((e) => e.line)).toEqual([4])
    expect(f.records).toBe(6)
  })

  it('the streaming decoder gives the same text whatever the chunk boundaries', () => {
    const bytes = iconv.encode(poems, 'gb18030')
    for (const size of [1, 3, 7, 4096]) {
      const d = new Decoder('gb18030')
      let text = ''
      for (let i = 0; i < bytes.length; i += size) text += d.write(bytes.subarray(i, i + size))
      text += d.end()
      expect(text).toBe(poems)
      expect(d.undecodable).toBe(0)
    }
  })
})
