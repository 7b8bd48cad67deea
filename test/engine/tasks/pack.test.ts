// Input packing of every CLUE task shape against hand-made examples (ids from the bundled vocab).
import { describe, expect, it } from 'vitest'
import { BertTokenizer } from '../../../engine/text/tokenizer'
import { defaultVocabPath } from '../../../engine/text/default-vocab'
import { chidContext, collectLabels, cropAround, decodeSpan, markWscSpans, packChoice, packSpan, packText, recordExamples, TASK_SPECS, type ChoiceExample, type SpanExample, type TextExample } from '../../../engine/tasks'

const tok = BertTokenizer.fromFile(defaultVocabPath())
const id = (t: string) => tok.vocab.idOf(t)!
const ids = (s: string) => [...s].map(id)
const [CLS, SEP] = [id('[CLS]'), id('[SEP]')]

describe('single sentences and pairs', () => {
  it('TNEWS: [CLS] sentence [SEP], its label index', () => {
    const [e] = recordExamples('tnews', { sentence: '你好世界', label: '102', label_desc: 'news_entertainment' }, 0)
    const f = packText(tok, e as TextExample, 0, ['100', '101', '102'], 16)
    expect(f.inputIds).toEqual([CLS, ...ids('你好世界'), SEP])
    expect(f.tokenTypeIds).toEqual([0, 0, 0, 0, 0, 0])
    expect(f.label).toBe(2)
  })

  it('AFQMC: two segments with token types, truncated longest-first', () => {
    const [e] = recordExamples('afqmc', { sentence1: '花呗还款', sentence2: '借呗如何还款呢', label: '1' }, 0)
    const full = packText(tok, e as TextExample, 0, ['0', '1'], 64)
    expect(full.inputIds).toEqual([CLS, ...ids('花呗还款'), SEP, ...ids('借呗如何还款呢'), SEP])
    expect(full.tokenTypeIds).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1])
    // 10 tokens leave 7 for text (4 + 7 = 11): HF's longest_first split of the budget, 3 + 4
    const cut = packText(tok, e as TextExample, 0, ['0', '1'], 10)
    expect(cut.inputIds).toEqual([CLS, ...ids('花呗还'), SEP, ...ids('借呗如何'), SEP])
    expect(cut.label).toBe(1)
  })

  it('CMNLI/OCNLI: "-" (no gold agreement) has no label', () => {
    const [e] = recordExamples('ocnli', { sentence1: '一', sentence2: '二', label: '-' }, 3)
    expect(packText(tok, e as TextExample, 0, TASK_SPECS.ocnli.labels!, 16).label).toBe(-100)
  })

  it('CSL: keywords then the abstract', () => {
    const [e] = recordExamples('csl', { abst: '本文研究', keyword: ['模型', '语言'], label: '0' }, 0)
    expect((e as TextExample).textA).toBe('模型；语言')
    expect(packText(tok, e as TextExample, 0, ['0', '1'], 32).inputIds).toEqual([CLS, ...ids('模型；语言'), SEP, ...ids('本文研究'), SEP])
  })

  it('CLUEWSC2020: the candidate in _…_ and the pronoun in […], as CLUE\'s baseline marks them', () => {
    const text = '小明告诉小红他饿了'
    expect(markWscSpans(text, { span1_index: 0, span1_text: '小明', span2_index: 6, span2_text: '他' })).toBe('_小明_告诉小红[他]饿了')
    expect(markWscSpans(text, { span1_index: 4, span1_text: '小红', span2_index: 6, span2_text: '他' })).toBe('小明告诉_小红_[他]饿了')
    expect(() => markWscSpans(text, { span1_index: 1, span1_text: '小明', span2_index: 6, span2_text: '他' })).toThrow(/span "小明" is not at 1/)
  })

  it('labels: fixed per task, else collected and sorted numerically', () => {
    const ex = ['110', '102', '100'].map((label, i) => recordExamples('tnews', { sentence: 'a', label }, i)[0])
    expect(collectLabels(null, ex)).toEqual(['100', '102', '110'])
    expect(collectLabels(TASK_SPECS.wsc.labels, ex)).toEqual(['false', 'true'])
  })
})

describe('CMRC2018 windows', () => {
  // 30 passage characters, one token each; question 3 tokens; maxLength 20 → 14 passage tokens a window
  const context = '甲乙丙丁戊己庚辛壬癸一二三四五六七八九十上下左右前后东西南北'
  const e: SpanExample = { kind: 'span', id: 'Q1', question: '是什么', context, answers: [{ text: '八九十', start: 17 }] }
  const windows = packSpan(tok, e, 0, { maxLength: 20, docStride: 8, maxQueryLength: 64 })

  it('covers the passage with windows every docStride tokens', () => {
    expect(windows.map((w) => w.inputIds.length)).toEqual([20, 20, 20])
    expect(windows[0].inputIds).toEqual([CLS, ...ids('是什么'), SEP, ...ids(context.slice(0, 14)), SEP])
    expect(windows[1].inputIds.slice(5, 19)).toEqual(ids(context.slice(8, 22)))
    expect(windows[2].inputIds.slice(5, 19)).toEqual(ids(context.slice(16, 30)))
    expect(windows[1].tokenTypeIds).toEqual([0, 0, 0, 0, 0, ...new Array(15).fill(1)])
  })

  it('points at the answer where a window holds it whole, else at [CLS]', () => {
    expect(windows.map((w) => [w.start, w.end])).toEqual([[0, 0], [5 + 9, 5 + 11], [5 + 1, 5 + 3]])
    expect(windows[2].offsets[6]).toEqual([17, 18])
    expect(windows[2].offsets[0]).toBeNull()
  })

  it('decodes the best start+end over windows back to passage characters', () => {
    const logits = (w: (typeof windows)[number], s: number, t: number) => ({
      offsets: w.offsets,
      start: w.inputIds.map((_, i) => (i === s ? 5 : 0)),
      end: w.inputIds.map((_, i) => (i === t ? 4 : 0)),
    })
    // window 2 positions 6..8 = characters 17..19
    expect(decodeSpan(context, [logits(windows[0], 0, 0), logits(windows[2], 6, 8)])).toMatchObject({ text: '八九十', start: 17 })
    // an end before the start is never chosen; [CLS] is never an answer
    const d = decodeSpan(context, [logits(windows[0], 9, 7)])
    expect(d.score).toBeLessThan(9)
  })
})

describe('multiple choice', () => {
  it('C3: "[CLS] question||choice [SEP] passage [SEP]" per choice, padded to the task\'s choice count', () => {
    const [e] = recordExamples('c3', { context: ['男：你好', '女：再见'], question: '女的说什么', choice: ['你好', '再见'], answer: '再见' }, 0)
    const f = packChoice(tok, e as ChoiceExample, 0, 4, 64)
    expect(f.label).toBe(1)
    expect(f.valid).toEqual([true, true, false, false])
    expect(f.choices[1].inputIds).toEqual([CLS, ...tok.tokenize('女的说什么||再见').ids, SEP, ...tok.tokenize('男：你好女：再见').ids, SEP])
    expect(f.choices[3].inputIds[1]).toBe(SEP) // an empty first segment
  })

  it('CHID: one example per blank, the blank marked and the others [UNK], cropped around the blank', () => {
    const record = { content: ['他#idiom1#地走了，#idiom2#。'], candidates: ['慢条斯理', '一心一意'], answers: { '#idiom1#': 0, '#idiom2#': 1 } }
    const ex = recordExamples('chid', record, 0) as ChoiceExample[]
    expect(ex.map((e) => [e.id, e.label])).toEqual([['#idiom1#', 0], ['#idiom2#', 1]])
    expect(ex[1].second).toBe('他[UNK]地走了，[MASK][MASK][MASK][MASK]。')
    expect(chidContext('a#idiom7#b', '#idiom7#', '[M]')).toBe('a[M]b')
    const long = '前'.repeat(50) + '[MASK]' + '后'.repeat(50)
    const cropped = cropAround(long, '[MASK]', 20)
    expect(cropped).toHaveLength(20)
    expect(cropped).toContain('[MASK]')
    const f = packChoice(tok, { ...ex[0], second: long }, 0, 2, 24)
    expect(f.choices[0].inputIds).toContain(id('[MASK]'))
    expect(f.choices[0].inputIds.length).toBeLessThanOrEqual(24)
  })
})
