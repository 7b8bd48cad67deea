// Property-based fuzzing of the corpus importer: folders of generated malformed files (random bytes,
// escape sequences, separator lines, broken JSON/CSV, truncated gzip, bad zips, mixed encodings) always
// give one report per file, never an exception, and either a complete dataset or none.
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import fc from 'fast-check'
import iconv from 'iconv-lite'
import { describe, expect, it } from 'vitest'
import { importCorpus } from '../../../engine/data/import'
import { allRecords, fixtureLines, makeHome } from './helpers'

const poems = fixtureLines('poems.txt')
const ESC = '\u001b'

// Pieces of text files as they come: real lines, terminal codes (whole, cut, ESC-less), separators,
// controls, stray quotes and brackets, undecodable characters, odd line ends.
const piece = fc.oneof(
  fc.constantFrom(...poems.slice(0, 12)),
  fc.constantFrom(`${ESC}[33m`, `${ESC}[m`, `${ESC}[1;3`, `${ESC}]0;title\u0007`, `${ESC}]8;;`, '[32m', '[m', '^[[32m', `\u009b2J`, ESC),
  fc.constantFrom('\n%\n', '\n%%\n', '\n---\n', '\n\n', '\r\n', '\n', '\t', '\u0000', '\u200b', '\ufeff', '\ufffd', '"', ',', '{', '[', '}', ']', '\\'),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
)
const text = fc.array(piece, { maxLength: 40 }).map((parts) => parts.join(''))
const jsonish = fc.oneof(
  fc.array(fc.constantFrom(...poems.slice(0, 6)), { maxLength: 6 }).map((t) => t.map((s) => JSON.stringify({ text: s })).join('\n')),
  fc.tuple(fc.array(fc.constantFrom(...poems.slice(0, 6)), { minLength: 1, maxLength: 6 }), fc.nat()).map(([t, cut]) => {
    const doc = JSON.stringify(t.map((s) => ({ text: s })))
    return doc.slice(0, cut % (doc.length + 1)) // a JSON document cut anywhere
  }),
  fc.array(fc.oneof(fc.constantFrom(...poems.slice(0, 6)), fc.constant('"unclosed, quote')), { maxLength: 6 }).map((rows) => `text,label\n${rows.map((r) => `"${r}",1`).join('\n')}`),
)

type Encoded = { ext: string; bytes: Uint8Array }
const file: fc.Arbitrary<Encoded> = fc.oneof(
  fc.tuple(text, fc.constantFrom('utf8', 'utf16le', 'gb18030', 'big5'), fc.constantFrom('.txt', '', '.md')).map(([t, enc, ext]) => ({ ext, bytes: iconv.encode(t, enc) })),
  fc.tuple(jsonish, fc.constantFrom('.jsonl', '.json', '.csv', '.tsv', '.txt')).map(([t, ext]) => ({ ext, bytes: Buffer.from(t) })),
  fc.tuple(text, fc.nat()).map(([t, cut]) => {
    const gz = zlib.gzipSync(Buffer.from(t))
    return { ext: '.txt.gz', bytes: gz.subarray(0, Math.max(1, cut % (gz.length + 1))) } // often truncated
  }),
  fc.tuple(fc.uint8Array({ maxLength: 600 }), fc.constantFrom('.txt', '.zip', '.gz', '.json', '.bin')).map(([bytes, ext]) => ({ ext, bytes })),
)

const options = fc.record({
  dedup: fc.constantFrom('exact', 'near', 'none'),
  format: fc.constantFrom('auto', 'auto', 'lines', 'paragraphs', 'records', 'jsonl', 'json', 'csv'),
  halfwidth: fc.boolean(),
})

describe('the importer under generated malformed input', () => {
  it('reports every file, never throws, and registers a complete dataset or none', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(file, { minLength: 1, maxLength: 4 }), options, async (files, opts) => {
        const home = makeHome()
        try {
          const dir = path.join(home.dir, 'in')
          fs.mkdirSync(dir)
          const names = files.map((f, i) => path.join(dir, `f${i}${f.ext}`))
          files.forEach((f, i) => fs.writeFileSync(names[i], f.bytes))
          const r = await importCorpus([dir], { ...opts, format: opts.format as never, dedup: opts.dedup as never }, { db: home.db, layout: home.layout })

          expect(r.files.map((f) => f.file).sort()).toEqual(names.sort())
          for (const f of r.files) {
            expect(['imported', 'skipped', 'failed']).toContain(f.status)
            if (f.status !== 'imported') expect(f.reason).toMatch(/^[^\n]+$/)
            else expect(f.records).toBeGreaterThan(0)
            for (const e of f.errors) expect(e.reason).toMatch(/^[^\n]+$/)
          }
          const imported = r.files.filter((f) => f.status === 'imported')
          const datasets = home.db.prepare('SELECT COUNT(*) AS n FROM datasets').get() as { n: number }
          expect(datasets.n).toBe(r.dataset ? 1 : 0)
          expect(r.dataset !== null).toBe(imported.length > 0)
          if (r.dataset) {
            expect(r.dataset.records).toBe(imported.reduce((n, f) => n + f.records, 0))
            expect(await allRecords(r.dataset.dir)).toHaveLength(r.dataset.records)
            const rows = home.db.prepare('SELECT COUNT(*) AS n FROM dataset_files WHERE dataset_id = ?').get(r.dataset.id) as { n: number }
            expect(rows.n).toBe(r.files.length)
          }
          expect(fs.existsSync(home.layout.staging) ? fs.readdirSync(home.layout.staging) : []).toEqual([])
          expect(home.db.pragma('integrity_check', { simple: true })).toBe('ok')
        } finally {
          home.close()
        }
      }),
      { numRuns: 60, interruptAfterTimeLimit: 90_000 },
    )
  })
})
