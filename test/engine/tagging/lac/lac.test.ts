import { beforeAll, describe, expect, it } from 'vitest'
import { LacSmall, lacLookupKey } from '../../../../engine/tagging/lac/lac'

const show = (words: { word: string; tag: string }[]) => words.map((w) => `${w.word}/${w.tag}`)
const entities = (words: { word: string; tag: string }[]) =>
  words.filter((w) => ['PER', 'LOC', 'ORG', 'TIME'].includes(w.tag)).map((w) => `${w.word}/${w.tag}`)

describe.each([
  ['native kernel', true],
  ['JavaScript path', false],
])('LAC-small on typed arrays (%s)', (_name, native) => {
  let lac: LacSmall
  beforeAll(() => {
    lac = LacSmall.load({ native })
  })

  it('segments the examples of LAC’s README like LAC does', () => {
    // README: LAC是个优秀的分词工具 -> LAC 是 个 优秀 的 分词 工具; 百度是一家高科技公司 -> 百度/ORG 是/v 一家/m 高科技/n 公司/n
    expect(lac.tag('LAC是个优秀的分词工具').map((w) => w.word)).toEqual(['LAC', '是', '个', '优秀', '的', '分词', '工具'])
    expect(show(lac.tag('百度是一家高科技公司'))).toEqual(['百度/ORG', '是/v', '一家/m', '高科技/n', '公司/n'])
  })

  it('finds people, places, organisations and times', () => {
    expect(entities(lac.tag('马云于1999年在杭州创办了阿里巴巴集团，注册资本500万元。'))).toEqual([
      '马云/PER',
      '1999年/TIME',
      '杭州/LOC',
      '阿里巴巴集团/ORG',
    ])
    expect(entities(lac.tag('张三和李四昨天下午三点去了上海浦东新区的中国银行。'))).toEqual([
      '张三/PER',
      '李四/PER',
      '昨天下午三点/TIME',
      '上海浦东新区/LOC',
      '中国银行/ORG',
    ])
    const amounts = lac.tag('注册资本500万元。')
    expect(show(amounts)).toContain('500万元/m')
  })

  it('tags full-width punctuation as punctuation (LAC’s q2b normalisation of the lookup key)', () => {
    expect(lacLookupKey('，')).toBe(',')
    expect(lacLookupKey('。')).toBe('.')
    const words = lac.tag('他说：“你好。”')
    expect(words.filter((w) => /[：“。”]/.test(w.word)).every((w) => w.tag === 'w')).toBe(true)
  })

  it('gives offsets into the original text, leading spaces and surrogate pairs included', () => {
    const text = '  𠀀李白在长安写诗🙂 '
    const words = lac.tag(text)
    for (const w of words) expect(text.slice(w.start, w.end)).toBe(w.word)
    expect(words.map((w) => w.word).join('')).toBe(text.trim())
  })
})
