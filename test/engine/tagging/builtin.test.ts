import { beforeAll, describe, expect, it } from 'vitest'
import { BuiltinTagger, lacChunks } from '../../../engine/tagging/builtin'
import type { TaggedDoc } from '../../../engine/tagging/types'

function expectOffsetsSlice(doc: TaggedDoc) {
  let at = 0
  for (const t of doc.tokens) {
    expect(t.start).toBe(at) // tokens tile the text: nothing lost, nothing doubled
    expect(doc.text.slice(t.start, t.end)).toBe(t.text)
    at = t.end
  }
  expect(at).toBe(doc.text.length)
  for (const e of doc.ents) expect(doc.text.slice(e.start, e.end)).toBe(e.text)
}

describe('built-in tagger output', () => {
  let tagger: BuiltinTagger
  beforeAll(() => {
    tagger = BuiltinTagger.shared()
  })

  it('gives UTF-16 offsets that slice the original text, with emoji and CJK Extension B', async () => {
    const texts = [
      '𠀀𠀁李白🙂在长安写诗，😀王维在辋川。',
      '  2024年5月，𪚥先生去了北京🇨🇳\r\n花了300元 ',
      '🙂',
      '',
      'Hello, world! 3.14',
    ]
    const docs = await tagger.tag(texts)
    docs.forEach((doc, i) => {
      expect(doc.text).toBe(texts[i])
      expectOffsetsSlice(doc)
    })
    expect(docs[0].ents.map((e) => e.label)).toContain('PERSON')
    expect(docs[0].tokens.find((t) => t.text === '🙂')).toMatchObject({ end: expect.any(Number), pos: 'SYM' })
  })

  it('cuts long text for LAC at sentence ends and never inside a surrogate pair', () => {
    const text = '一'.repeat(10) + '𠀀'.repeat(10) + '。二三'
    const chunks = lacChunks(text, 11)
    expect(chunks.map(([s, e]) => text.slice(s, e)).join('')).toBe(text)
    for (const [s] of chunks) expect(text.charCodeAt(s) >= 0xdc00 && text.charCodeAt(s) <= 0xdfff).toBe(false)
    expect(chunks.some(([, e]) => text[e - 1] === '。')).toBe(true)
  })

  it('keeps entities from long multi-sentence documents in place', async () => {
    const text = '李白生于碎叶城。'.repeat(20) + '杜甫去了成都。'
    const [doc] = await tagger.tag([text])
    expectOffsetsSlice(doc)
    expect(doc.ents.filter((e) => e.text === '杜甫' && e.label === 'PERSON')).toHaveLength(1)
  })
})
