// Parity with HuggingFace BertTokenizer (transformers 5.17) on the hf-bert-tiny fixture cases.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { BertTokenizer, TokenBuffer } from '../../../engine/text/tokenizer'
import { loadVocab, parseVocab } from '../../../engine/text/vocab'
import { WorkbenchError } from '../../../engine/errors'

const fixtureDir = path.join(__dirname, '../../fixtures/hf-bert-tiny')
const cases = JSON.parse(fs.readFileSync(path.join(fixtureDir, 'tokenizer_cases.json'), 'utf8')) as {
  texts: string[]
  results: {
    BertTokenizer: { ids: number[][]; tokens: string[][] }
    BertTokenizer_cased: { ids: number[][] }
    'tokenizers.BertWordPieceTokenizer': { ids: number[][] }
    pairs: { pairs: [string, string][]; max_length: number; input_ids: number[][]; token_type_ids: number[][]; attention_mask: number[][] }
  }
}
const vocab = loadVocab(path.join(fixtureDir, 'vocab.txt'))
const uncased = new BertTokenizer(vocab)
const cased = new BertTokenizer(vocab, { lowercase: false })

describe('BertTokenizer parity with HuggingFace', () => {
  it('has the 58 cases', () => {
    expect(cases.texts).toHaveLength(58)
  })

  it.each(cases.texts.map((t, i) => [i, t] as const))('uncased case %i: ids and tokens', (i, text) => {
    const enc = uncased.encode(text)
    expect(enc.input_ids).toEqual(cases.results.BertTokenizer.ids[i])
    // HF's reference tokens are tokenize()'s: without [CLS] and [SEP]
    expect(enc.tokens.slice(1, -1)).toEqual(cases.results.BertTokenizer.tokens[i])
    expect(enc.input_ids).toEqual(cases.results['tokenizers.BertWordPieceTokenizer'].ids[i])
  })

  it.each(cases.texts.map((t, i) => [i, t] as const))('cased case %i: ids', (i, text) => {
    expect(cased.encode(text).input_ids).toEqual(cases.results.BertTokenizer_cased.ids[i])
  })

  it('encodes the 5 sentence pairs with longest-first truncation and padding', () => {
    const p = cases.results.pairs
    expect(p.pairs).toHaveLength(5)
    p.pairs.forEach(([a, b], k) => {
      const enc = uncased.encode(a, b, { maxLength: p.max_length })
      expect(enc.input_ids).toEqual(p.input_ids[k])
      expect(enc.token_type_ids).toEqual(p.token_type_ids[k])
      expect(enc.attention_mask).toEqual(p.attention_mask[k])
    })
  })
})

describe('offsets', () => {
  it.each([
    ['uncased', uncased],
    ['cased', cased],
  ] as const)('every %s token span reproduces the token after normalisation', (_, tok) => {
    let checked = 0
    for (const text of cases.texts) {
      const t = tok.tokenize(text)
      for (let k = 0; k < t.ids.length; k++) {
        const [s, e] = t.offsets[k]
        expect(s).toBeLessThan(e)
        const span = tok.normalize(text.slice(s, e))
        if (t.ids[k] === tok.unk) {
          // an [UNK] covers a whole word, or one character: no whitespace inside
          expect(span.trim()).toBe(span)
          expect(span.length).toBeGreaterThan(0)
        } else expect(span).toBe(t.tokens[k].replace(/^##/, ''))
        checked++
      }
      // spans are ordered and do not overlap
      for (let k = 1; k < t.ids.length; k++) expect(t.offsets[k][0]).toBeGreaterThanOrEqual(t.offsets[k - 1][1])
    }
    expect(checked).toBeGreaterThan(1000)
  })

  it('points into the original text across surrogate pairs, removed characters and accents', () => {
    const text = 'a\u200bb 𠀀中Café'
    const t = uncased.tokenize(text)
    expect(t.tokens).toEqual(['a', '##b', '[UNK]', '中', 'cafe'])
    expect(t.offsets).toEqual([
      [0, 1],
      [2, 3],
      [4, 6],
      [6, 7],
      [7, 11],
    ])
  })
})

describe('tokenizer behaviour', () => {
  it('keeps special tokens written in the text whole', () => {
    expect(uncased.tokenize('我[MASK]你[SEP]').tokens).toEqual(['我', '[MASK]', '你', '[SEP]'])
    const plain = new BertTokenizer(vocab, { specialTokensInText: false })
    expect(plain.tokenize('[MASK]').tokens).toEqual(['[', 'm', '##a', '##s', '##k', ']'])
  })

  it('makes a word longer than max_input_chars_per_word one [UNK]', () => {
    expect(uncased.tokenize('a'.repeat(100)).tokens.length).toBeGreaterThan(1)
    expect(uncased.tokenize('a'.repeat(101)).tokens).toEqual(['[UNK]'])
    expect(uncased.tokenize('a'.repeat(5000) + ' the').tokens).toEqual(['[UNK]', 'the'])
  })

  it('truncates the longer sequence first and refuses a max length without room for specials', () => {
    const enc = uncased.encode('一二三四五六七八九十', '一二', { maxLength: 8 })
    expect(enc.tokens).toEqual(['[CLS]', '一', '二', '三', '[SEP]', '一', '二', '[SEP]'])
    expect(enc.sequence_ids).toEqual([null, 0, 0, 0, null, 1, 1, null])
    expect(() => uncased.encode('a', 'b', { maxLength: 2 })).toThrow(WorkbenchError)
  })

  it('appends into a reused buffer', () => {
    const buf = new TokenBuffer()
    for (let k = 0; k < 100; k++) uncased.tokenizeInto('孔子对曰：政者，正也。', buf)
    expect(buf.length).toBe(1100)
    expect(Array.from(buf.ids.subarray(0, 11))).toEqual(uncased.tokenize('孔子对曰：政者，正也。').ids)
  })
})

describe('vocab loading', () => {
  it('names the line of a duplicate token', () => {
    expect(() => parseVocab('[PAD]\n[UNK]\na\nb\na\n', 'v.txt')).toThrow('v.txt:5: duplicate token "a" (first on line 3)')
  })
  it('refuses an empty line and a vocab without special tokens', () => {
    expect(() => parseVocab('a\n\nb\n', 'v.txt')).toThrow('v.txt:2: empty token')
    expect(() => new BertTokenizer(parseVocab('a\nb\n'))).toThrow('[PAD] is missing')
  })
  it('reads CRLF files', () => {
    expect(parseVocab('a\r\nb\r\n').tokens).toEqual(['a', 'b'])
  })
})

describe('where HF tokenizers (BertTokenizer since transformers 5) differs from the Python tokenizer', () => {
  it('keeps unassigned code points (is_other is Cc|Cf|Co) and drops format characters', () => {
    // U+0378 is unassigned: kept, so "a\u0378b" stays one word, which the vocab cannot spell
    expect(uncased.tokenize('a\u0378b the').tokens).toEqual(['[UNK]', 'the'])
    // U+2060 WORD JOINER is a format character: removed, the letters join
    expect(uncased.tokenize('a\u2060b').tokens).toEqual(uncased.tokenize('ab').tokens)
    // private use: removed
    expect(uncased.tokenize('\ue000中').tokens).toEqual(['中'])
  })

  it('starts CJK Ext E at U+2B920', () => {
    // U+2B820 (Ext E, before tokenizers' range) joins the Latin letter before it into one word
    expect(uncased.tokenize('a\u{2B820}').tokens).toEqual(['[UNK]'])
    expect(uncased.tokenize('a\u{2B920}').tokens).toEqual(['a', '[UNK]'])
  })
})
