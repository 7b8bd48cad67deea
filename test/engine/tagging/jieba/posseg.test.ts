import fs from 'node:fs'
import zlib from 'node:zlib'
import { beforeAll, describe, expect, it } from 'vitest'
import { PossegTokenizer } from '../../../../engine/tagging/jieba/posseg'

// Reference: Debian python3-jieba's jieba.posseg.cut on 12,500 real lines (fortunes-zh, manpages-zh,
// chinese-poetry), made by scripts/make-jieba-parity-fixture.py. "cut" holds each word as its length in
// code points followed by its flag.
const FIXTURE = new URL('../../../fixtures/tagging/jieba-posseg-parity.jsonl.gz', import.meta.url)

function referencePairs(text: string, cut: string): string[] {
  const chars = Array.from(text)
  let at = 0
  return cut.split(' ').map((item) => {
    const [, len, flag] = /^(\d+)(.*)$/.exec(item)!
    const word = chars.slice(at, (at += Number(len))).join('')
    return `${word}/${flag}`
  })
}

describe('jieba posseg port', () => {
  let tokenizer: PossegTokenizer
  beforeAll(() => {
    tokenizer = PossegTokenizer.load()
  })

  it('tags the example from jieba’s README', () => {
    const pairs = tokenizer.cut('我爱北京天安门').map((p) => `${p.word}/${p.flag}`)
    expect(pairs).toEqual(['我/r', '爱/v', '北京/ns', '天安门/ns'])
  })

  it('matches Python jieba.posseg.cut on at least 99.9% of 12,500 real lines', () => {
    const rows = zlib
      .gunzipSync(fs.readFileSync(FIXTURE))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { text: string; cut: string })
    expect(rows.length).toBeGreaterThanOrEqual(10_000)
    let identical = 0
    const mismatches: string[] = []
    for (const row of rows) {
      const ours = tokenizer.cut(row.text)
      expect(ours.map((p) => p.word).join('')).toBe(row.text)
      const got = ours.map((p) => `${p.word}/${p.flag}`).join(' ')
      const want = referencePairs(row.text, row.cut).join(' ')
      if (got === want) identical++
      else if (mismatches.length < 5) mismatches.push(`want ${want}\n got ${got}`)
    }
    const share = identical / rows.length
    console.log(`jieba posseg parity: ${identical}/${rows.length} lines identical (${(share * 100).toFixed(3)}%)`)
    if (mismatches.length) console.log(mismatches.join('\n'))
    expect(share).toBeGreaterThanOrEqual(0.999)
  })

  it('keeps every character, surrogate pairs whole, whitespace as its own x token', () => {
    const text = '𠀀好\r\n 🙂Python3.8很快'
    const pairs = tokenizer.cut(text)
    expect(pairs.map((p) => p.word).join('')).toBe(text)
    expect(pairs.map((p) => p.word)).toContain('𠀀')
    expect(pairs.map((p) => p.word)).toContain('🙂')
    expect(pairs.find((p) => p.word === '\r\n')?.flag).toBe('x')
  })
})
