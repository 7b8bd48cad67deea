// Pretraining batches: masking statistics over many batches (token and whole-word), labels of special
// tokens and padding, and the broken-structure counts DGC reads.
import { describe, expect, it } from 'vitest'
import { Rng } from '../../../engine/compute/rng'
import { buildBatch, IGNORE, NER_OUTSIDE, POS_NONE, type BatchSegment } from '../../../engine/train/batch'
import { BERT_CHINESE_SPECIALS as S } from '../../../engine/train/data'
import { NO_LABEL, WORD_START } from '../../../engine/text/token-shards'

/** Random segments whose words are 1–4 tokens long; ids encode (word, piece) so tests can find words. */
function segments(count: number, rng: Rng): { seg: BatchSegment; words: number[][] }[] {
  return Array.from({ length: count }, () => {
    const ids: number[] = []
    const flags: number[] = []
    const words: number[][] = []
    const n = 10 + rng.int(40)
    while (ids.length < n) {
      const len = 1 + rng.int(4)
      const word: number[] = []
      for (let k = 0; k < len; k++) {
        word.push(ids.length)
        flags.push(k === 0 ? WORD_START : 0)
        ids.push(1000 + rng.int(20000))
      }
      words.push(word)
    }
    const pos = Uint8Array.from(ids, (_, i) => i % 17)
    const ner = Uint8Array.from(ids, (_, i) => (i % 5 === 0 ? NO_LABEL : i % 3))
    return { seg: { ids: Int32Array.from(ids), pos, ner, flags: Uint8Array.from(flags) }, words }
  })
}

const options = { maxSeqLength: 64, mlmProbability: 0.15, vocabSize: 21128, specials: S }

describe('pretraining batches', () => {
  for (const wholeWordMask of [false, true]) {
    it(`${wholeWordMask ? 'whole-word' : 'token'} masking: 15% of the tokens, 80% [MASK] / 10% random / 10% kept${wholeWordMask ? ', words together' : ''}`, () => {
      const rng = new Rng(7)
      let real = 0
      let chosen = 0
      let asMask = 0
      let kept = 0
      let random = 0
      let splitWords = 0
      let wordsMasked = 0
      for (let round = 0; round < 60; round++) {
        const items = segments(16, rng)
        const b = buildBatch(items.map((i) => i.seg), { ...options, wholeWordMask }, rng)
        items.forEach(({ seg, words }, r) => {
          const n = Math.min(seg.ids.length, 62)
          real += n
          for (const word of words) {
            const inside = word.filter((k) => k < n)
            if (inside.length === 0) continue
            const states = inside.map((k) => b.labels[r * b.seqLength + 1 + k] !== IGNORE)
            if (states.some((x) => x)) wordsMasked++
            if (states.some((x) => x) && !states.every((x) => x)) splitWords++
            // one decision per word: all [MASK], all kept, or all random
            if (wholeWordMask && states[0]) {
              const kinds = inside.map((k) => {
                const at = r * b.seqLength + 1 + k
                return b.inputIds[at] === S.mask ? 'mask' : b.inputIds[at] === seg.ids[k] ? 'kept' : 'random'
              })
              expect(new Set(kinds).size).toBe(1)
            }
          }
          for (let k = 0; k < n; k++) {
            const at = r * b.seqLength + 1 + k
            if (b.labels[at] === IGNORE) {
              expect(b.inputIds[at]).toBe(seg.ids[k])
              continue
            }
            chosen++
            expect(b.labels[at]).toBe(seg.ids[k])
            if (b.inputIds[at] === S.mask) asMask++
            else if (b.inputIds[at] === seg.ids[k]) kept++
            else random++
          }
        })
      }
      expect(Math.abs(chosen / real - 0.15)).toBeLessThan(0.01)
      if (wholeWordMask) {
        expect(splitWords).toBe(0)
        // decisions are per word, so the token shares vary more: check by word count too
        expect(wordsMasked).toBeGreaterThan(1000)
      } else expect(splitWords).toBeGreaterThan(100) // token masking does split words
      expect(Math.abs(asMask / chosen - 0.8)).toBeLessThan(0.03)
      expect(Math.abs(kept / chosen - 0.1)).toBeLessThan(0.03)
      expect(Math.abs(random / chosen - 0.1)).toBeLessThan(0.03)
    })
  }

  it('whole-word masking spends round(15% × tokens) per sequence, never more', () => {
    const rng = new Rng(3)
    for (const { seg } of segments(200, rng)) {
      const b = buildBatch([seg], { ...options, maxSeqLength: 128, wholeWordMask: true }, rng)
      const budget = Math.max(1, Math.round(seg.ids.length * 0.15))
      expect(b.masked).toBeLessThanOrEqual(budget)
      expect(b.masked).toBeGreaterThanOrEqual(budget - 3) // words of up to 4 tokens may not fit the rest
    }
  })

  it('labels: POS "none" and NE "O" at [CLS]/[SEP], the stored classes inside, ignored at padding and untagged tokens', () => {
    const seg = (ids: number[], pos: number[], ner: number[]): BatchSegment => ({ ids: Int32Array.from(ids), pos: Uint8Array.from(pos), ner: Uint8Array.from(ner), flags: new Uint8Array(ids.length).fill(WORD_START) })
    const a = seg([200, 201], [0, 5], [1, 2])
    const b = seg([300, 301, 302], [1, NO_LABEL, 3], [0, 0, NO_LABEL])
    const batch = buildBatch([[a, b], a], options, new Rng(1))
    expect(batch.seqLength).toBe(8)
    expect(Array.from(batch.posLabels.subarray(0, 8))).toEqual([POS_NONE, 0, 5, POS_NONE, 1, IGNORE, 3, POS_NONE])
    expect(Array.from(batch.nerLabels.subarray(0, 8))).toEqual([NER_OUTSIDE, 1, 2, NER_OUTSIDE, 0, 0, IGNORE, NER_OUTSIDE])
    expect(Array.from(batch.tokenTypeIds.subarray(0, 8))).toEqual([0, 0, 0, 0, 1, 1, 1, 1])
    expect(Array.from(batch.posLabels.subarray(8))).toEqual([POS_NONE, 0, 5, POS_NONE, IGNORE, IGNORE, IGNORE, IGNORE])
    // units: 5 words + 1 entity (B-, I-) in the pair; 2 words + 1 entity in the single segment
    expect(Array.from(batch.units)).toEqual([6, 3])
  })
})
