import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { BuiltinTagger } from '../../../engine/tagging/builtin'
import { bioLabels, projectOntoTokens } from '../../../engine/tagging/projection'
import { BertTokenizer } from '../../../engine/text/tokenizer'
import { loadVocab } from '../../../engine/text/vocab'

const VOCAB = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/hf-bert-tiny/vocab.txt')

describe('projection onto WordPiece tokens', () => {
  let tagger: BuiltinTagger
  let tokenizer: BertTokenizer
  beforeAll(() => {
    tagger = BuiltinTagger.shared()
    tokenizer = new BertTokenizer(loadVocab(VOCAB))
  })

  it('projects POS and BIO entities over mixed Chinese, Latin and digits', async () => {
    const text = '马云在2019年用iPhone 11花了3.5万元，Hello World！'
    const [doc] = await tagger.tag([text])
    const { tokens, offsets } = tokenizer.tokenize(text)
    const projected = projectOntoTokens(doc, tokens, offsets)
    expect(projected).toHaveLength(tokens.length)
    for (const p of projected) {
      // every token's tags come from the word and entity that hold its first character
      const word = doc.tokens.find((w) => w.start <= p.start && p.start < w.end)!
      expect(p.pos).toBe(word.pos)
      const entity = doc.ents.find((e) => e.start <= p.start && p.start < e.end)
      expect(p.ent === 'O').toBe(entity === undefined)
      if (entity) expect(p.ent!.slice(2)).toBe(entity.label)
    }
    const byText = (s: string) => projected.filter((p) => text.slice(p.start, p.end) === s)
    expect(byText('马')[0].ent).toBe('B-PERSON')
    expect(byText('云')[0].ent).toBe('I-PERSON')
    expect(byText('在')[0].ent).toBe('O')
    // one entity, several tokens: B then I all the way
    const money = projected.filter((p) => p.ent?.endsWith('MONEY'))
    expect(money.map((p) => p.ent)).toEqual(['B-MONEY', ...Array(money.length - 1).fill('I-MONEY')])
    expect(text.slice(money[0].start, money.at(-1)!.end)).toBe('3.5万元')
    // a Latin word cut into word pieces keeps the word's POS on every piece
    const latin = projected.filter((p) => p.start >= text.indexOf('iPhone') && p.end <= text.indexOf('iPhone') + 6)
    expect(latin.length).toBeGreaterThanOrEqual(1)
    expect(new Set(latin.map((p) => p.pos))).toEqual(new Set(['X']))
  })

  it('starts each of two adjacent entities of one label with B-', () => {
    const doc = {
      text: '张三李四',
      tokens: [
        { text: '张三', start: 0, end: 2, pos: 'PROPN', tag: 'nr' },
        { text: '李四', start: 2, end: 4, pos: 'PROPN', tag: 'nr' },
      ],
      ents: [
        { text: '张三', start: 0, end: 2, label: 'PERSON' },
        { text: '李四', start: 2, end: 4, label: 'PERSON' },
      ],
    }
    const t = tokenizer.tokenize(doc.text)
    expect(projectOntoTokens(doc, t.tokens, t.offsets).map((p) => p.ent)).toEqual(['B-PERSON', 'I-PERSON', 'B-PERSON', 'I-PERSON'])
  })

  it('leaves special and padding tokens unlabelled', async () => {
    const text = '北京欢迎你'
    const [doc] = await tagger.tag([text])
    const enc = tokenizer.encode(text, undefined, { maxLength: 10 })
    const projected = projectOntoTokens(doc, enc.tokens, enc.offsets)
    expect(projected[0]).toMatchObject({ token: '[CLS]', pos: null, ent: null })
    expect(projected.at(-1)).toMatchObject({ token: '[PAD]', pos: null, ent: null })
    expect(projected[1]).toMatchObject({ pos: 'PROPN', ent: 'B-GPE' })
  })

  it('lists BIO labels with O first', () => {
    expect(bioLabels(['PERSON', 'ORG'])).toEqual(['O', 'B-PERSON', 'I-PERSON', 'B-ORG', 'I-ORG'])
  })
})
