import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BERT_CHINESE_SPECIALS, buildMlmBatch, DataOrder, openSource, pairAt, syntheticSource } from '../../../engine/train/data'
import { Rng } from '../../../engine/compute/rng'

const fixture = path.join(__dirname, '../../fixtures/hf-bert-tiny')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-data-'))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))
const S = BERT_CHINESE_SPECIALS

describe('MLM masking', () => {
  it('chooses ~15% of the non-special tokens; 80% [MASK], 10% random, 10% kept; labels the originals', () => {
    const source = syntheticSource({ sequences: 400, minLength: 20, maxLength: 60, seed: 5 }, 21128)
    const segments = Array.from({ length: 400 }, (_, i) => source.get(i))
    const b = buildMlmBatch(segments, { maxSeqLength: 64, mlmProbability: 0.15, vocabSize: 21128, specials: S }, new Rng(1))
    expect(b.seqLength).toBe(62) // the longest segment (60) + [CLS] + [SEP]
    let real = 0
    let chosen = 0
    let asMask = 0
    let kept = 0
    for (let r = 0; r < b.batchSize; r++) {
      const n = segments[r].length
      expect(b.inputIds[r * b.seqLength]).toBe(S.cls)
      expect(b.inputIds[r * b.seqLength + n + 1]).toBe(S.sep)
      for (let t = 0; t < b.seqLength; t++) {
        const at = r * b.seqLength + t
        const inside = t >= 1 && t <= n
        expect(b.attentionMask[at]).toBe(t <= n + 1 ? 1 : 0)
        if (!inside) {
          expect(b.labels[at]).toBe(-100) // specials and padding are never targets
          continue
        }
        real++
        if (b.labels[at] === -100) {
          expect(b.inputIds[at]).toBe(segments[r][t - 1])
          continue
        }
        chosen++
        expect(b.labels[at]).toBe(segments[r][t - 1])
        if (b.inputIds[at] === S.mask) asMask++
        else if (b.inputIds[at] === b.labels[at]) kept++
      }
    }
    expect(b.tokens).toBe(real + 2 * b.batchSize)
    expect(b.masked).toBe(chosen)
    expect(Math.abs(chosen / real - 0.15)).toBeLessThan(0.01)
    expect(Math.abs(asMask / chosen - 0.8)).toBeLessThan(0.03)
    expect(Math.abs(kept / chosen - 0.1)).toBeLessThan(0.03) // a random id equal to the original is rare at this vocab size
  })

  it('truncates to maxSeqLength and always has a target', () => {
    const b = buildMlmBatch([Int32Array.from([200, 201, 202, 203, 204, 205])], { maxSeqLength: 5, mlmProbability: 0.001, vocabSize: 300, specials: S }, new Rng(2))
    expect(b.seqLength).toBe(5)
    expect([b.inputIds[0], b.inputIds[4]]).toEqual([S.cls, S.sep])
    expect(b.masked).toBe(1)
  })
})

describe('sentence pairs', () => {
  it('builds [CLS] A [SEP] B [SEP] with token types, truncating the longer segment first', () => {
    const a = Int32Array.from({ length: 9 }, (_, i) => 200 + i)
    const b = Int32Array.from([300, 301])
    const batch = buildMlmBatch([[a, b]], { maxSeqLength: 10, mlmProbability: 0.0001, vocabSize: 400, specials: S }, new Rng(3))
    expect(batch.seqLength).toBe(10)
    const original = Array.from(batch.inputIds, (id, i) => (batch.labels[i] === -100 ? id : batch.labels[i]))
    expect(original).toEqual([S.cls, 200, 201, 202, 203, 204, S.sep, 300, 301, S.sep])
    expect(Array.from(batch.tokenTypeIds)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 1, 1])
  })

  it('NSP pairs a segment with its successor or a random other; SOP swaps consecutive ones', () => {
    const source = syntheticSource({ sequences: 50, minLength: 3, maxLength: 3, seed: 4 }, 500)
    const rng = new Rng(6)
    let next = 0
    for (let k = 0; k < 2000; k++) {
      const i = k % 49
      const { item, label } = pairAt(source, i, 'nsp', rng)
      expect(item[0]).toBe(source.get(i))
      if (label === 0) {
        expect(item[1]).toBe(source.get(i + 1))
        next++
      } else expect(item[1]).not.toBe(source.get(i + 1))
      const sop = pairAt(source, i, 'sop', rng)
      expect(sop.item).toEqual(sop.label === 0 ? [source.get(i), source.get(i + 1)] : [source.get(i + 1), source.get(i)])
    }
    expect(Math.abs(next / 2000 - 0.5)).toBeLessThan(0.05)
    expect(pairAt(source, 49, 'sop', rng).item).toContain(source.get(48)) // the last segment pairs backwards
  })
})

describe('data order', () => {
  it('is a fresh seeded permutation each epoch, reproducible from the position alone', () => {
    const a = new DataOrder(10, 7)
    const first = Array.from({ length: 30 }, (_, p) => a.indexAt(p))
    for (let e = 0; e < 3; e++) expect([...first.slice(e * 10, e * 10 + 10)].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(first.slice(0, 10)).not.toEqual(first.slice(10, 20))
    const b = new DataOrder(10, 7)
    expect([25, 3, 17].map((p) => b.indexAt(p))).toEqual([first[25], first[3], first[17]])
    expect(new DataOrder(10, 8).indexAt(0) === first[0] && new DataOrder(10, 8).indexAt(1) === first[1] && new DataOrder(10, 8).indexAt(2) === first[2]).toBe(false)
  })
})

describe('sources', () => {
  it('tokenizes a text file with the vocab and splits long lines', async () => {
    const file = path.join(tmp, 'text.txt')
    fs.writeFileSync(file, '子曰：学而时习之，不亦说乎？\n\n有朋自远方来，不亦乐乎？人不知而不愠，不亦君子乎？\n')
    const { source, specials } = await openSource({ kind: 'text-file', path: file, vocab: path.join(fixture, 'vocab.txt') }, 3259, 12)
    expect(specials).toEqual({ pad: 0, unk: 100, cls: 101, sep: 102, mask: 103 })
    // 14 + 25 characters (one token each) in segments of at most 10
    expect(Array.from({ length: source.size }, (_, i) => source.get(i).length)).toEqual([10, 4, 10, 10, 5])
  })

  it('reads token files and names the bad line', async () => {
    const good = path.join(tmp, 'ids.jsonl')
    fs.writeFileSync(good, '[200, 201]\n\n[5]\n')
    const { source } = await openSource({ kind: 'token-file', path: good }, 300, 16)
    expect(Array.from(source.get(0))).toEqual([200, 201])
    expect(source.size).toBe(2)
    const bad = path.join(tmp, 'bad.jsonl')
    fs.writeFileSync(bad, '[1]\n[1, 400]\n')
    await expect(openSource({ kind: 'token-file', path: bad }, 300, 16)).rejects.toThrow(`${bad}:2: expected an array of token ids in [0, 300)`)
  })
})
