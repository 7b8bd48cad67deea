// Real-world text quirks: terminal escape sequences (ECMA-48 CSI/OSC) removed whole and counted, colour
// codes that lost their ESC removed only where a file shows that pattern, and record files whose entries
// are separated by lone `%` lines (fortunes-zh) imported one record per entry.
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { makeCleaner, sgrResidueIn } from '../../../engine/data/clean'
import { detectFormat, detectSeparator } from '../../../engine/data/formats'
import { importCorpus } from '../../../engine/data/import'
import { allRecords, FIXTURES, makeHome, type Home } from './helpers'

let home: Home
beforeEach(() => (home = makeHome()))
afterEach(() => home.close())

const ESC = '\u001b'
const FORTUNES = '/usr/share/games/fortunes'
const TANG = path.join(FIXTURES, 'fortunes-tang300.txt')
const plain = { t2s: false, halfwidth: false }
/** Entries of a `%` file as fortune(6) reads them: non-empty sections between lines holding only `%`. */
const fortuneEntries = (text: string) => text.split(/^[ \t]*%[ \t]*$/m).filter((s) => s.trim() !== '').length
// a colour code left in a record; `printf "\x1b[31m"` in a shell example is text, not residue
const residue = /(?<!\\x1b|\\e|\\033)\[[0-9;]*m/

describe('cleaning terminal escape sequences', () => {
  it('removes CSI, OSC (BEL or ST), C1 CSI and two-byte escapes whole, and counts them apart from controls', () => {
    const clean = makeCleaner(plain)
    expect(clean(`${ESC}[33m    -- Debian ${ESC}[32m《行为准则》${ESC}[m第一条${ESC}[m`)).toBe('-- Debian 《行为准则》第一条')
    expect(clean(`${ESC}]0;窗口标题\u0007正文${ESC}]8;;https://example.org${ESC}\\链接${ESC}]8;;${ESC}\\`)).toBe('正文链接')
    expect(clean(`\u009b1;31m红${ESC}(B字${ESC}[2K${ESC}[?25h`)).toBe('红字')
    expect(clean('^[[32m其二^[[m')).toBe('其二') // the ESC in caret notation, as `cat -v` prints it
    expect(clean.counts).toEqual({ escapeSequences: 13, controlCharacters: 0 })
    expect(clean(`a\u0000b\u200bc${ESC}`)).toBe('abc')
    expect(clean.counts).toEqual({ escapeSequences: 13, controlCharacters: 3 })
  })

  it('removes ESC-less colour codes only when asked, and asks only for files that show the pattern', () => {
    const stripped = fs.readFileSync(TANG, 'utf8').replaceAll(ESC, '')
    expect(sgrResidueIn(stripped)).toBe(true)
    expect(sgrResidueIn(fs.readFileSync(TANG, 'utf8'))).toBe(false) // the ESC is there: CSI removes it whole
    expect(sgrResidueIn('第[3m]段，又见[5m]处，再见[12m]。')).toBe(false) // no reset: ordinary text
    expect(makeCleaner({ ...plain, sgrResidue: true })('[32m《静夜思》[m')).toBe('《静夜思》')
    expect(makeCleaner(plain)('[32m《静夜思》[m')).toBe('[32m《静夜思》[m')
  })
})

describe('record separator lines', () => {
  it('are recognised when they dominate a file, and not in prose with a stray rule', () => {
    expect(detectSeparator(fs.readFileSync(TANG, 'utf8').split('\n'))).toBe('%')
    expect(detectFormat('.txt', fs.readFileSync(TANG, 'utf8'))).toMatchObject({ format: 'records', separator: '%' })
    const markdown = ['# 标题', '', '第一段。', '', '---', '', '第二段。', '', '第三段。', '', '---', '', '第四段。', '第五段。'].join('\n')
    expect(detectSeparator(markdown.split('\n'))).toBeNull()
    const dashes = Array.from({ length: 12 }, (_, i) => `条目${i}第一行\n条目${i}第二行\n---`).join('\n')
    expect(detectSeparator(dashes.split('\n'))).toBe('---')
  })

  it('make a fortune file one record per entry, escape sequences removed whole and counted', async () => {
    const text = fs.readFileSync(TANG, 'utf8')
    const r = await importCorpus([TANG], { dedup: 'none' }, { db: home.db, layout: home.layout })
    expect(r.files[0]).toMatchObject({ status: 'imported', format: 'records', separator: '%', records: fortuneEntries(text) })
    expect(r.files[0].records).toBe(text.match(/^%$/gm)!.length) // the file ends with a separator
    expect(r.files[0].cleaned).toEqual({ escapeSequences: text.split(ESC).length - 1, controlCharacters: 0 })
    const records = (await allRecords(r.dataset!.dir)).map((x) => x.text as string)
    expect(records.some((t) => t.includes(ESC) || residue.test(t))).toBe(false)
    const entry = text.split('\n%\n')[1] // 《静夜思》-style: coloured title and author, then the verses
    const expected = entry.replace(/\u001b\[[0-9;]*m/g, '').split('\n').map((l) => l.trim()).join('\n')
    expect(records).toContain(expected)
    expect(expected).toMatch(/^《.+》\n作者：/)
  })

  it('strip the residue of colour codes whose ESC a tool dropped, counted as escape sequences', async () => {
    const stripped = path.join(home.dir, 'no-esc.txt')
    const text = fs.readFileSync(TANG, 'utf8').replaceAll(ESC, '')
    fs.writeFileSync(stripped, text)
    const r = await importCorpus([stripped], { dedup: 'none' }, { db: home.db, layout: home.layout })
    expect(r.files[0]).toMatchObject({ status: 'imported', format: 'records', records: fortuneEntries(text) })
    expect(r.files[0].cleaned.escapeSequences).toBe(text.match(/\[[0-9;]*m/g)!.length)
    const records = (await allRecords(r.dataset!.dir)).map((x) => x.text as string)
    expect(records.some((t) => residue.test(t))).toBe(false)
  })
})

describe.skipIf(!fs.existsSync(path.join(FORTUNES, 'tang300')))("Debian's fortunes-zh files", () => {
  it('import one record per `%`-separated entry, with no escape residue', { timeout: 60_000 }, async () => {
    const files = ['tang300', 'song100', 'chinese'].map((f) => path.join(FORTUNES, f))
    const r = await importCorpus(files, { dedup: 'none' }, { db: home.db, layout: home.layout })
    for (const [i, f] of files.entries()) {
      const text = fs.readFileSync(f, 'utf8')
      const separators = text.match(/^[ \t]*%[ \t]*$/gm)!.length
      expect(r.files[i]).toMatchObject({ status: 'imported', format: 'records', separator: '%', records: fortuneEntries(text) })
      expect(Math.abs(r.files[i].records - separators)).toBeLessThanOrEqual(1) // + 1 when the file does not end with `%`
    }
    expect(r.files[0].records).toBe(313) // the file: 313 entries, not 7 records
    const records = await allRecords(r.dataset!.dir)
    expect(records.some((x) => residue.test(x.text as string) || (x.text as string).includes(ESC))).toBe(false)
  })
})
