// CMRC2018 EM/F1 on cases worked by hand through CLUE's evaluation script (cmrc2018_evaluate.py v5).
import { describe, expect, it } from 'vitest'
import { accuracy, cmrcExactMatch, cmrcF1, cmrcScores, confusionMatrix, longestCommonRun, mixedSegmentation, submissionText, type Example } from '../../../engine/tasks'

describe('CMRC2018 as CLUE scores it', () => {
  it('segments Han characters and punctuation alone, other runs as words', () => {
    expect(mixedSegmentation('NBA总决赛1994年，Michael Jordan')).toEqual(['nba', '总', '决', '赛', '1994', '年', '，', 'michael', 'jordan'])
    expect(mixedSegmentation('《红楼梦》', true)).toEqual(['红', '楼', '梦'])
  })

  it('F1 from the longest common contiguous run', () => {
    // 北京 vs 北京天安门: run 2, P 2/5, R 1
    expect(cmrcF1(['北京'], '北京天安门')).toBeCloseTo((2 * 0.4 * 1) / 1.4, 12)
    // 甲乙丙丁 vs 甲戊丙丁: contiguous run 2 (丙丁), not the subsequence 3
    expect(longestCommonRun([...'甲乙丙丁'], [...'甲戊丙丁'])).toBe(2)
    expect(cmrcF1(['甲乙丙丁'], '甲戊丙丁')).toBeCloseTo(0.5, 12)
    // 1994年 vs 1994: segments [1994, 年] and [1994]
    expect(cmrcF1(['1994年'], '1994')).toBeCloseTo(2 / 3, 12)
    // the best over the answers; nothing in common is 0
    expect(cmrcF1(['天津', '北京天安门'], '北京天安门')).toBe(1)
    expect(cmrcF1(['上海'], '北京')).toBe(0)
    expect(cmrcF1(['上海'], '')).toBe(0)
  })

  it('EM ignores the listed punctuation and case, not "…" (the script never matches its "……" entry)', () => {
    expect(cmrcExactMatch(['《红楼梦》'], '红楼梦')).toBe(1)
    expect(cmrcExactMatch(['NBA'], ' nba ')).toBe(1)
    expect(cmrcExactMatch(['等等…'], '等等')).toBe(0)
    expect(cmrcExactMatch(['北京'], '北京天安门')).toBe(0)
    expect(cmrcExactMatch(['a', '北京'], '北京。')).toBe(1)
  })

  it('averages over every gold question, unanswered ones counting 0', () => {
    const gold = [
      { id: 'a', answers: ['北京'] },
      { id: 'b', answers: ['1994年'] },
      { id: 'c', answers: ['上海'] },
    ]
    const s = cmrcScores(gold, new Map([['a', '北京'], ['b', '1994']]))
    expect(s.em).toBeCloseTo(1 / 3, 12)
    expect(s.f1).toBeCloseTo((1 + 2 / 3) / 3, 12)
    expect(s.skipped).toBe(1)
  })
})

describe('classification metrics and submissions', () => {
  it('accuracy skips unlabelled examples; the confusion matrix is gold × predicted', () => {
    expect(accuracy([0, 1, 1, 2], [0, 1, 0, -100])).toBeCloseTo(2 / 3)
    expect(confusionMatrix([0, 1, 1], [0, 1, 0], 2)).toEqual([[1, 1], [0, 1]])
  })

  it('writes CLUE\'s formats: JSON lines for classification and C3, one object for CMRC2018 and CHID', () => {
    const text: Example[] = [{ kind: 'text', id: 0, textA: 'a', label: null }, { kind: 'text', id: '1', textA: 'b', label: null }]
    expect(submissionText('tnews', text, [{ index: 1 }, { index: 0 }], ['100', '101'])).toBe('{"id":0,"label":"101"}\n{"id":1,"label":"100"}\n')
    const c3: Example[] = [{ kind: 'choice', id: 7, firsts: ['x', 'y'], second: '', label: null }]
    expect(submissionText('c3', c3, [{ index: 1 }], [])).toBe('{"id":7,"label":1}\n')
    const chid: Example[] = [{ kind: 'choice', id: '#idiom5#', firsts: [], second: '', label: null }]
    expect(JSON.parse(submissionText('chid', chid, [{ index: 3 }], []))).toEqual({ '#idiom5#': 3 })
    const cmrc: Example[] = [{ kind: 'span', id: 'TEST_0_QUERY_0', question: '', context: '', answers: [] }]
    expect(JSON.parse(submissionText('cmrc2018', cmrc, [{ index: -1, text: '北京' }], []))).toEqual({ TEST_0_QUERY_0: '北京' })
  })
})
