// Sentence pairs for NSP/SOP (engine/train/loop.ts sentencePair): A and B are adjacent text of one
// record, cut at a uniform point, so SOP's only signal is the order of the text and never a length; NSP's
// negatives take another segment's start; everything fits [CLS] A [SEP] B [SEP].
import { describe, expect, it } from 'vitest'
import { Rng } from '../../../engine/compute/rng'
import type { SegmentBlock } from '../../../engine/text/token-shards'
import { sentencePair } from '../../../engine/train/loop'
import { plainSegment } from '../../../engine/train/batch'

// Segment i holds ids i·1000 + 0, 1, …: a token's id says which segment and position it came from.
function block(lengths: number[]): SegmentBlock {
  return {
    first: 0,
    count: lengths.length,
    segment: (i) => ({ ...plainSegment(Int32Array.from({ length: lengths[i] }, (_, k) => i * 1000 + k)), record: i }),
  }
}

const ids = (s: { ids: Int32Array }) => Array.from(s.ids)
const isRun = (xs: number[]) => xs.every((x, k) => k === 0 || x === xs[k - 1] + 1)

describe('sentence pairs', () => {
  const lengths = [62, 5, 2, 40, 17, 1, 30, 9]
  const budget = 61 // maxSeqLength 64

  it('SOP: two adjacent halves of one segment, swapped half the time, with no length cue', () => {
    const rng = new Rng(7)
    const firstLength: Record<number, number[]> = { 0: [], 1: [] }
    for (let draw = 0; draw < 4000; draw++) {
      const local = draw % lengths.length
      if (lengths[local] < 2) continue
      const { item, nsp, sop } = sentencePair(block(lengths), local, ['mlm', 'sop'], budget, rng)
      expect(nsp).toBe(0)
      const [first, second] = item as [{ ids: Int32Array }, { ids: Int32Array }]
      const text = sop === 0 ? [...ids(first), ...ids(second)] : [...ids(second), ...ids(first)]
      // in text order the pair is one contiguous run of the segment, from its start, within the budget
      expect(isRun(text) && text[0] === local * 1000, `draw ${draw}: ${text}`).toBe(true)
      expect(text.length).toBe(Math.min(lengths[local], budget))
      expect(first.ids.length).toBeGreaterThan(0)
      expect(second.ids.length).toBeGreaterThan(0)
      firstLength[sop].push(first.ids.length / text.length)
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    expect(firstLength[1].length / (firstLength[0].length + firstLength[1].length)).toBeCloseTo(0.5, 1)
    // swapping must not be visible from where [SEP] falls: the first part's share is the same either way
    expect(Math.abs(mean(firstLength[0]) - mean(firstLength[1]))).toBeLessThan(0.03)
  })

  it('NSP: the true continuation or another segment’s start, half and half; both fit the budget', () => {
    const rng = new Rng(3)
    let negatives = 0
    const draws = 3000
    for (let draw = 0; draw < draws; draw++) {
      const local = draw % lengths.length
      const { item, nsp, sop } = sentencePair(block(lengths), local, ['mlm', 'nsp', 'sop'], budget, rng)
      const [a, b] = (item as [{ ids: Int32Array }, { ids: Int32Array }]).map(ids)
      expect(a.length + b.length).toBeLessThanOrEqual(budget)
      if (nsp === 1) {
        negatives++
        expect(sop).toBe(-100) // SOP is not asked of a random pair
        const other = Math.floor(b[0] / 1000)
        expect(other).not.toBe(local)
        expect(b[0] % 1000).toBe(0) // B is the start of the other segment
        expect(isRun(a) && Math.floor(a[0] / 1000) === local).toBe(true) // A ends where it was cut, from this segment
      } else if (lengths[local] >= 2) {
        const text = sop === 1 ? [...b, ...a] : [...a, ...b]
        expect(isRun(text) && text[0] === local * 1000).toBe(true)
      }
    }
    expect(negatives / draws).toBeCloseTo(0.5, 1)
  })

  it('a 1-token segment pairs with its neighbour, A keeping its end and B its start', () => {
    const { item } = sentencePair(block([62, 1, 62]), 1, ['mlm', 'sop'], budget, new Rng(1))
    const parts = (item as [{ ids: Int32Array }, { ids: Int32Array }]).map(ids)
    const [a, b] = parts[0][0] === 1000 ? parts : [parts[1], parts[0]]
    expect(a).toEqual([1000])
    expect(b).toEqual(Array.from({ length: 60 }, (_, k) => 2000 + k))
  })
})
