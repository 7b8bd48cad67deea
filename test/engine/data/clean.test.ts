import fs from 'node:fs'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { countSentences, makeCleaner, splitSentences, toHalfwidth } from '../../../engine/data/clean'
import { Deduplicator, HashSet64, isDev } from '../../../engine/data/dedup'
import { importCorpus } from '../../../engine/data/import'
import { allRecords, fixtureLines, FIXTURES, makeHome, type Home } from './helpers'

let home: Home
beforeEach(() => (home = makeHome()))
afterEach(() => home.close())
const run = (paths: string[], options = {}) => importCorpus(paths, options, { db: home.db, layout: home.layout })

describe('cleaning', () => {
  it('splits Chinese sentences after 。！？；… keeping closing quotes with their sentence', () => {
    expect(splitSentences('他说：“前不见古人！”然后走了。念天地之悠悠……独怆然而涕下；谁知林栖者？「闻风坐相悦。」')).toEqual([
      '他说：“前不见古人！”',
      '然后走了。',
      '念天地之悠悠……',
      '独怆然而涕下；',
      '谁知林栖者？',
      '「闻风坐相悦。」',
    ])
    expect(splitSentences('没有句末标点的一句')).toEqual(['没有句末标点的一句'])
  })

  it('counts sentences exactly as splitSentences finds them', () => {
    const texts = [
      ...fixtureLines('poems.txt'),
      fs.readFileSync(path.join(FIXTURES, 'paragraphs.txt'), 'utf8'),
      '？…混合！！”」\n\n  \n。开头就是句号',
      '  ',
      'abc?! def… ……(注)',
    ]
    for (const t of texts) expect(countSentences(t), t).toBe(splitSentences(t).length)
  })

  it('removes escape sequences whole, control and zero-width characters, and normalises whitespace', () => {
    const clean = makeCleaner({ t2s: false, halfwidth: false })
    expect(clean('\u001b[33m  兰叶\u200b春葳蕤，\t\t桂华\u3000秋皎洁。 \r\n\n  欣欣此生意\u0000 ')).toBe('兰叶春葳蕤， 桂华 秋皎洁。\n欣欣此生意')
    expect(clean.counts).toEqual({ escapeSequences: 1, controlCharacters: 2 }) // U+200B and NUL; CR goes with the whitespace
  })

  it('converts traditional to simplified and full-width to half-width on request, keeping Chinese punctuation', () => {
    expect(makeCleaner({ t2s: true, halfwidth: false })('漢語處理，蘭葉春葳蕤。')).toBe('汉语处理，兰叶春葳蕤。')
    expect(toHalfwidth('ＡＢＣ１２３，ｘｙｚ！（注）')).toBe('ABC123，xyz！（注）')
  })
})

describe('dedup and split', () => {
  it('removes exact duplicates, and near duplicates only in near mode, deterministically', () => {
    const [a, b] = fixtureLines('poems.txt')
    const nearA = a.replace('桂华', '桂花')
    const keep = (mode: 'exact' | 'near', seed: number) => {
      const d = new Deduplicator(mode, seed)
      const kept = [a, b, a, nearA].map((t) => d.keep(t))
      d.commitFile()
      return { kept, exact: d.exactRemoved, near: d.nearRemoved }
    }
    expect(keep('exact', 1)).toEqual({ kept: [true, true, false, true], exact: 1, near: 0 })
    expect(keep('near', 1)).toEqual({ kept: [true, true, false, false], exact: 1, near: 1 })
    expect(keep('near', 7)).toEqual(keep('near', 7))
  })

  it('forgets a discarded file', () => {
    const d = new Deduplicator('exact', 1)
    expect(d.keep('前不见古人')).toBe(true)
    d.discardFile()
    expect(d.keep('前不见古人')).toBe(true)
    d.commitFile()
    expect(d.keep('前不见古人')).toBe(false)
  })

  it('a typed-array hash set grows and finds everything it holds', () => {
    const s = new HashSet64(4)
    for (let i = 0; i < 5000; i++) expect(s.add(i * 2654435761, i)).toBe(true)
    for (let i = 0; i < 5000; i++) expect(s.has(i * 2654435761, i)).toBe(true)
    expect(s.add(0, 0)).toBe(false) // i = 0 added it
    expect(s.has(12345, 678)).toBe(false)
    expect(s.size).toBe(5000)
  })

  it('splits train/dev by seed, the same way every time', async () => {
    const docs = fixtureLines('poems.txt')
    const dev = (seed: number) => docs.filter((d) => isDev(d, seed, 0.3))
    expect(dev(1)).toEqual(dev(1))
    expect(dev(1)).not.toEqual(dev(2))
    expect(dev(1).length).toBeGreaterThan(3)
    expect(dev(1).length).toBeLessThan(25)
    const r = await run([path.join(FIXTURES, 'poems.txt')], { devRatio: 0.3, seed: 1 })
    expect(r.dataset!.stats.splits).toEqual({ train: 40 - new Set(dev(1)).size, dev: new Set(dev(1)).size })
  })
})

describe('statistics', () => {
  it('counts documents, sentences, characters, Han ratio, histogram and vocab coverage', async () => {
    const docs = [...new Set(fixtureLines('poems.txt'))]
    const vocab = path.join(home.dir, 'vocab.txt')
    fs.writeFileSync(vocab, ['[PAD]', '[UNK]', '，', '。', '不', '人', '##山', 'hello'].join('\n'))
    const r = await run([path.join(FIXTURES, 'poems.txt')], { vocab, dedup: 'exact' })
    const s = r.dataset!.stats
    const chars = docs.join('').replace(/\s/g, '')
    expect(s.documents).toBe(docs.length)
    expect(s.duplicatesRemoved).toEqual({ exact: 1, near: 0 })
    expect(s.characters).toBe([...chars].length)
    expect(s.hanCharacters).toBe(chars.match(/\p{Script=Han}/gu)!.length)
    expect(s.sentences).toBe(docs.reduce((n, d) => n + splitSentences(d).length, 0))
    expect(s.lengthHistogram.reduce((n, b) => n + b.count, 0)).toBe(docs.length)
    const count = (c: string) => [...chars].filter((x) => x === c).length
    expect(s.topCharacters[0]).toEqual({ char: '，', count: count('，') })
    expect(s.vocab!.coveredCharacters).toBe(['，', '。', '不', '人', '山'].reduce((n, c) => n + count(c), 0))
    expect(s.vocab!.coverage).toBeCloseTo(s.vocab!.coveredCharacters / s.characters, 10)
  })
})

describe('CSV and TSV', () => {
  it('reads a header, quoted fields with commas, quotes and newlines, and the chosen column', async () => {
    const [a, b, c] = fixtureLines('poems.txt')
    const csv = `id,title,body\n1,"送别","${a.replace(/"/g, '""')}"\n2,梦,"${b}\n${c}"\n3,"引号""内""",短文\n`
    const file = path.join(home.dir, 'poems.csv')
    fs.writeFileSync(file, csv)
    const r = await run([file], { field: 'body', devRatio: 0 })
    expect(r.files[0]).toMatchObject({ status: 'imported', records: 3, format: 'csv' })
    expect((await allRecords(r.dataset!.dir)).map((x) => x.text)).toEqual([a, `${b}\n${c}`, '短文'])
    const tsv = path.join(home.dir, 'pairs.tsv')
    fs.writeFileSync(tsv, `${a}\t1\n${b}\t0\n`)
    const t = await run([tsv], { devRatio: 0 })
    expect((await allRecords(t.dataset!.dir)).map((x) => x.text)).toEqual([a, b])
  })
})

describe('cancel', () => {
  it('cancelling mid-import leaves no dataset, no staging and no shards', async () => {
    const docs = fixtureLines('poems.txt')
    const big = path.join(home.dir, 'big.txt')
    const fd = fs.openSync(big, 'w')
    for (let i = 0; i < 40_000; i++) fs.writeSync(fd, `${i} ${docs[i % docs.length]}\n`)
    fs.closeSync(fd)
    const controller = new AbortController()
    let progressed = 0
    const promise = importCorpus([big], {}, {
      db: home.db,
      layout: home.layout,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.bytes > 0 && p.bytes < p.totalBytes && ++progressed === 1) controller.abort()
      },
    })
    await expect(promise).rejects.toMatchObject({ code: 'CANCELLED' })
    expect(progressed).toBeGreaterThan(0)
    expect(home.db.prepare('SELECT COUNT(*) AS n FROM datasets').get()).toEqual({ n: 0 })
    expect(fs.readdirSync(home.layout.staging)).toEqual([])
    expect(fs.existsSync(home.layout.datasets) ? fs.readdirSync(home.layout.datasets) : []).toEqual([])
  })
})

describe('cleaning options through an import', () => {
  it('t2s, halfwidth, near dedup and a forced format change the stored records', async () => {
    const traditional = path.join(home.dir, 'trad.txt')
    const [a, b] = fixtureLines('poems.txt')
    fs.writeFileSync(traditional, `漢語處理，蘭葉春葳蕤。ＡＢＣ１２３！\n${a}\n${a.replace('桂华', '桂花')}\n${b}\n`)
    const r = await run([traditional], { t2s: true, halfwidth: true, dedup: 'near', devRatio: 0 })
    const texts = (await allRecords(r.dataset!.dir)).map((x) => x.text)
    expect(texts).toEqual(['汉语处理，兰叶春葳蕤。ABC123！', a, b])
    expect(r.dataset!.stats.duplicatesRemoved).toEqual({ exact: 0, near: 1 })
    const asParagraphs = await run([path.join(FIXTURES, 'poems.txt')], { format: 'paragraphs', dedup: 'none', devRatio: 0 })
    expect(asParagraphs.files[0]).toMatchObject({ format: 'paragraphs', records: 1 })
  })

  it('detects UTF-16 without a BOM and Big5 through a whole import', async () => {
    const iconv = (await import('iconv-lite')).default
    const OpenCC = await import('opencc-js')
    const lines = fixtureLines('poems.txt').slice(0, 8)
    const noBom = path.join(home.dir, 'nobom.txt')
    fs.writeFileSync(noBom, iconv.encode(lines.join('\n'), 'utf16le'))
    const big5 = path.join(home.dir, 'big5.txt')
    const trad = OpenCC.Converter({ from: 'cn', to: 'tw' })(lines.join('\n').replace(/・/g, '．'))
    fs.writeFileSync(big5, iconv.encode(trad, 'big5'))
    const r = await run([noBom, big5], { devRatio: 0 })
    expect(r.files.map((f) => [f.encoding, f.undecodable, f.records])).toEqual([
      ['utf-16le', 0, 8],
      ['big5', 0, 8],
    ])
    expect(r.files[0].confidence).toBeLessThan(1)
  })
})

describe('statistics sentence counting', () => {
  it('counts the same sentences as splitSentences on tricky text', async () => {
    const { StatsAccumulator } = await import('../../../engine/data/stats')
    const texts = ['？…混合！！”」\n\n  \n。开头就是句号', '“你好。” 他说。\r\n再见！', 'abc?! def… ……(注)', '。”。', '  ', fs.readFileSync(path.join(FIXTURES, 'paragraphs.txt'), 'utf8')]
    for (const t of texts) {
      const s = new StatsAccumulator()
      s.add([t], 'train', null)
      expect(s.sentences, JSON.stringify(t.slice(0, 20))).toBe(splitSentences(t).length)
      expect(s.characters).toBe(t.replace(/\s/g, '').length)
    }
  })
})
