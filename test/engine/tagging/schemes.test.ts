import { beforeAll, describe, expect, it } from 'vitest'
import { BuiltinTagger } from '../../../engine/tagging/builtin'

// Every label of both schemes must come out of the built-in tagger on real sentences, and every tag the
// sources can emit must have a documented row.
const SENTENCES = [
  '马云于1999年在杭州创办了阿里巴巴集团，注册资本500万元。',
  '张三和李四昨天下午三点去了上海浦东新区的中国银行。',
  '中国人说汉语，藏族同胞也会说英语。',
  '第二次世界大战结束后，他考了第一名，增长了百分之五，约30%的人跑了5公里，花了20美元买了三个苹果。',
  '他在首都机场和长江边读了《红楼梦》和《中华人民共和国宪法》。',
  '北京奥运会在2008年8月8日晚上8点开幕。',
  '哎呀，如果这些Python程序很快，我们就用它吧 + ￥5 🙂',
  '这个问题很简单。',
]

describe('spaCy schemes', () => {
  let tagger: BuiltinTagger
  beforeAll(() => {
    tagger = BuiltinTagger.shared()
  })

  it('documents every tag that jieba’s dictionary, its HMM and LAC can emit', () => {
    const rows = tagger.schemes.table.upos.tags
    const hmmFlags = tagger.posseg.hmm.flagSet()
    const lacTags = new Set(tagger.lac.labels.map((l) => l.split('-')[0]))
    const emitted = new Set([...tagger.posseg.dict.tags, ...hmmFlags, ...lacTags, 'eng', 'm', 'x'])
    for (const tag of emitted) {
      expect(rows[tag], `row for ${tag}`).toBeDefined()
      expect(rows[tag].why.length).toBeGreaterThan(5)
    }
    for (const row of Object.values(tagger.schemes.table.entities.sources)) expect(row.why.length).toBeGreaterThan(10)
  })

  it('produces every Universal POS label', async () => {
    const docs = await tagger.tag(SENTENCES)
    const produced = new Set(docs.flatMap((d) => d.tokens.map((t) => t.pos)))
    expect([...produced].sort()).toEqual([...tagger.schemes.table.upos.labels].sort())
  })

  it('produces every OntoNotes label of the table', async () => {
    const docs = await tagger.tag(SENTENCES)
    const produced = new Set(docs.flatMap((d) => d.ents.map((e) => e.label)))
    expect([...produced].sort()).toEqual([...tagger.schemes.table.entities.labels].sort())
  })

  it('labels the worked examples as the table says', async () => {
    const [doc] = await tagger.tag([SENTENCES[3]])
    const ents = Object.fromEntries(doc.ents.map((e) => [e.text, e.label]))
    expect(ents).toMatchObject({
      第二次世界大战: 'EVENT',
      第一名: 'ORDINAL',
      百分之五: 'PERCENT',
      '30%': 'PERCENT',
      '5公里': 'QUANTITY',
      '20美元': 'MONEY',
      三个: 'CARDINAL',
    })
    const places = (await tagger.tag([SENTENCES[4]]))[0].ents.map((e) => `${e.text}:${e.label}`)
    expect(places).toEqual(['首都机场:FAC', '长江:LOC', '红楼梦:WORK_OF_ART', '中华人民共和国宪法:LAW'])
    expect(tagger.schemes.placeLabel('杭州')).toBe('GPE')
    expect(tagger.schemes.placeLabel('喜马拉雅山')).toBe('LOC')
  })
})

describe('SCHEMES.md', () => {
  it('is the markdown of schemes.json as it stands (npx tsx scripts/schemes-markdown.ts regenerates it)', async () => {
    const fs = await import('node:fs')
    const { Schemes } = await import('../../../engine/tagging/schemes')
    const { schemesMarkdown } = await import('../../../engine/tagging/schemes-markdown')
    const committed = fs.readFileSync(new URL('../../../resources/tagging/SCHEMES.md', import.meta.url), 'utf8')
    expect(committed).toBe(schemesMarkdown(Schemes.load()))
  })
})
