// The vocab builder on real text: classical Chinese from the chinese-poetry package, plus its README
// (Chinese, English and Markdown) for the word pieces.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildVocab, SPECIAL_LAYOUT } from '../../../engine/text/vocab-builder'
import { chinesePoetryDir, poetry } from '../../../engine/text/local-corpus'
import { BertTokenizer } from '../../../engine/text/tokenizer'
import { parseVocab, formatVocab } from '../../../engine/text/vocab'
import { CJK, charTables } from '../../../engine/text/unicode'

const root = chinesePoetryDir()!
const readme = fs.readFileSync(path.join(root, '..', 'README.md'), 'utf8')
const docs = [...poetry(['lunyu', 'shijing', 'mengxue']), readme]

describe('buildVocab', () => {
  it('reads real text', () => {
    expect(docs.length).toBeGreaterThan(300)
  })

  it('lays out a vocab like bert-base-chinese and the tokenizer accepts it', async () => {
    const { tokens, stats } = await buildVocab(docs, { size: 3000 })
    expect(tokens.slice(0, 104)).toEqual(SPECIAL_LAYOUT)
    expect(tokens.indexOf('[UNK]')).toBe(100)
    expect(tokens.indexOf('[MASK]')).toBe(103)
    expect(tokens[104]).toBe('!')
    expect(tokens).toHaveLength(3000)
    expect(stats.size).toBe(3000)
    // round trip through vocab.txt: no duplicates, no empty lines
    const vocab = parseVocab(formatVocab(tokens))
    const tok = new BertTokenizer(vocab)
    expect(tok.tokenize('子曰：不亦君子乎').tokens).toEqual(['子', '曰', '：', '不', '亦', '君', '子', '乎'])
    // Chinese characters come by frequency: 之 is among the first of them
    const firstCjk = tokens.findIndex((t) => charTables().classOf(t.codePointAt(0)!) === CJK)
    expect(tokens.slice(firstCjk, firstCjk + 10)).toContain('之')
    // word pieces learnt from the README's English
    expect(stats.wordPiecesLearnt).toBeGreaterThan(20)
    expect(tokens.filter((t) => t.startsWith('##') && t.length > 3).length).toBeGreaterThan(5)
  })

  it('reports the coverage the tokenizer then shows', async () => {
    const { tokens, stats } = await buildVocab(docs, { size: 1500 })
    const tok = new BertTokenizer(parseVocab(formatVocab(tokens)))
    let cjk = 0
    let unk = 0
    for (const doc of docs) {
      const t = tok.tokenize(doc)
      for (let k = 0; k < t.ids.length; k++) {
        const ch = doc.slice(t.offsets[k][0], t.offsets[k][1])
        if ([...ch].length === 1 && charTables().classOf(ch.codePointAt(0)!) === CJK) {
          cjk++
          if (t.ids[k] === tok.unk) unk++
        }
      }
    }
    expect(stats.cjkSeen).toBeGreaterThan(stats.cjkKept)
    expect(stats.cjkCoverage).toBeLessThan(1)
    expect(stats.cjkCoverage).toBeCloseTo(1 - unk / cjk, 6)
    const larger = await buildVocab(docs, { size: 3000 })
    expect(larger.stats.characterCoverage).toBeGreaterThan(stats.characterCoverage)
    expect(larger.stats.cjkKept).toBeGreaterThan(stats.cjkKept)
  })

  it('accepts an async stream and refuses a size below the layout', async () => {
    async function* stream() {
      yield* docs.slice(0, 50)
    }
    const { stats } = await buildVocab(stream(), { size: 500 })
    expect(stats.documents).toBe(50)
    await expect(buildVocab(docs, { size: 150 })).rejects.toThrow('vocab size 150 is too small')
  })
})
