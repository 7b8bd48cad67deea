// One pretraining batch from segments (docs/shards.md): [CLS] A [SEP] (B [SEP]) with token types,
// POS/NE labels for the token objectives, and MLM masking drawn now (dynamic masking) — per token
// (BERT/RoBERTa: each token with probability p) or per whole word (a word's WordPieces together, words
// drawn until the sequence's budget of round(p × tokens) tokens is spent). Chosen tokens become [MASK]
// 80% of the time, a random id 10%, and stay 10% (whole-word masking decides once per word).
import { Rng } from '../compute/rng'
import { badInput } from '../errors'
import { NO_LABEL, WORD_START, type Segment } from '../text/token-shards'
import type { SpecialTokens } from './data'

export const IGNORE = -100
/** POS class of [CLS]/[SEP] ("none", after the 17 UPOS labels); NE class of them ("O"). */
export const POS_NONE = 17
export const NER_OUTSIDE = 0

export type BatchSegment = Pick<Segment, 'ids' | 'pos' | 'ner' | 'flags'>
export type BatchInput = BatchSegment | [BatchSegment, BatchSegment]

export interface PretrainBatch {
  batchSize: number
  seqLength: number
  inputIds: Int32Array // [B, T]
  attentionMask: Int32Array // [B, T]
  tokenTypeIds: Int32Array // [B, T]
  labels: Int32Array // [B, T] MLM targets, -100 where not masked
  posLabels: Int32Array // [B, T], -100 at padding and untagged tokens
  nerLabels: Int32Array // [B, T]
  tokens: number // non-padding tokens
  masked: number // MLM targets
  /** Per sequence: syntactic units (words + entities) and how many of them the mask touched (for DGC). */
  units: Int32Array // [B]
  unitsHit: Int32Array // [B]
}

export interface BatchOptions {
  maxSeqLength: number
  mlmProbability: number
  vocabSize: number
  specials: SpecialTokens
  wholeWordMask?: boolean
}

/** A segment with no labels and every token its own word (token-id sources). */
export function plainSegment(ids: Int32Array): BatchSegment {
  return { ids, pos: new Uint8Array(ids.length).fill(NO_LABEL), ner: new Uint8Array(ids.length).fill(NO_LABEL), flags: new Uint8Array(ids.length).fill(WORD_START) }
}

export const sliceSegment = (s: BatchSegment, from: number, to: number): BatchSegment => ({
  ids: s.ids.subarray(from, to),
  pos: s.pos.subarray(from, to),
  ner: s.ner.subarray(from, to),
  flags: s.flags.subarray(from, to),
})
const cut = (s: BatchSegment, n: number): BatchSegment => sliceSegment(s, 0, n)

/** HF's truncation "longest_first": drop tokens from the end of the longer segment until both fit. */
function truncatePair(a: BatchSegment, b: BatchSegment, budget: number): [BatchSegment, BatchSegment] {
  let na = a.ids.length
  let nb = b.ids.length
  while (na + nb > budget) {
    if (na >= nb) na--
    else nb--
  }
  return [cut(a, na), cut(b, nb)]
}

export function buildBatch(items: BatchInput[], options: BatchOptions, rng: Rng): PretrainBatch {
  const { maxSeqLength, mlmProbability, vocabSize, specials } = options
  if (maxSeqLength < 5) throw badInput(`maxSeqLength (${maxSeqLength}) must leave room for [CLS], tokens and [SEP]s`)
  const parts = items.map((it) => (Array.isArray(it) ? truncatePair(it[0], it[1], maxSeqLength - 3) : [cut(it, Math.min(it.ids.length, maxSeqLength - 2))]))
  const lengthOf = (p: BatchSegment[]) => p.reduce((n, seg) => n + seg.ids.length + 1, 1)
  const B = items.length
  const T = Math.max(...parts.map(lengthOf))
  const inputIds = new Int32Array(B * T).fill(specials.pad)
  const attentionMask = new Int32Array(B * T)
  const tokenTypeIds = new Int32Array(B * T)
  const labels = new Int32Array(B * T).fill(IGNORE)
  const posLabels = new Int32Array(B * T).fill(IGNORE)
  const nerLabels = new Int32Array(B * T).fill(IGNORE)
  const units = new Int32Array(B)
  const unitsHit = new Int32Array(B)
  let tokens = 0
  let masked = 0
  const replace = (at: number, u: number) => {
    if (u < 0.8) inputIds[at] = specials.mask
    else if (u < 0.9) inputIds[at] = rng.int(vocabSize)
  }
  const maskable: number[] = []
  parts.forEach((segs, b) => {
    const row = b * T
    let at = row
    const special = (id: number, type: number) => {
      inputIds[at] = id
      tokenTypeIds[at] = type
      posLabels[at] = POS_NONE
      nerLabels[at] = NER_OUTSIDE
      at++
    }
    special(specials.cls, 0)
    const words: [number, number][] = [] // [start, end) positions in the row, per word
    const entities: [number, number][] = []
    segs.forEach((seg, type) => {
      for (let i = 0; i < seg.ids.length; i++, at++) {
        inputIds[at] = seg.ids[i]
        tokenTypeIds[at] = type
        if (seg.pos[i] !== NO_LABEL) posLabels[at] = seg.pos[i]
        if (seg.ner[i] !== NO_LABEL) nerLabels[at] = seg.ner[i]
        if (i === 0 || seg.flags[i] & WORD_START) words.push([at, at + 1])
        else words[words.length - 1][1] = at + 1
        // an entity starts at B- (odd class in bioLabels order) and continues over I- (even, non-zero)
        const e = seg.ner[i]
        if (e !== NO_LABEL && e % 2 === 1) entities.push([at, at + 1])
        else if (e !== NO_LABEL && e > 0 && entities.length && entities[entities.length - 1][1] === at) entities[entities.length - 1][1] = at + 1
        maskable.push(at)
      }
      special(specials.sep, type)
    })
    attentionMask.fill(1, row, at)
    tokens += at - row
    const real = at - row - segs.length - 1
    if (options.wholeWordMask) {
      // HF DataCollatorForWholeWordMask's budget: words in random order, each taken if it still fits
      const budget = Math.max(1, Math.round(real * mlmProbability))
      const order = Int32Array.from(words.keys())
      rng.shuffle(order)
      let spent = 0
      for (const w of order) {
        if (spent >= budget) break
        const [s, e] = words[w]
        if (spent + (e - s) > budget) continue
        spent += e - s
        const u = rng.next()
        for (let p = s; p < e; p++) {
          labels[p] = inputIds[p]
          replace(p, u)
        }
      }
      masked += spent
    } else {
      for (const [s, e] of words) {
        for (let p = s; p < e; p++) {
          if (rng.next() >= mlmProbability) continue
          labels[p] = inputIds[p]
          replace(p, rng.next())
          masked++
        }
      }
    }
    units[b] = words.length + entities.length
    const hit = (r: [number, number]) => {
      for (let p = r[0]; p < r[1]; p++) if (labels[p] !== IGNORE) return 1
      return 0
    }
    unitsHit[b] = words.reduce((n, w) => n + hit(w), 0) + entities.reduce((n, e) => n + hit(e), 0)
  })
  if (masked === 0 && maskable.length > 0) {
    const at = maskable[rng.int(maskable.length)]
    labels[at] = inputIds[at]
    replace(at, rng.next())
    masked = 1
  }
  return { batchSize: B, seqLength: T, inputIds, attentionMask, tokenTypeIds, labels, posLabels, nerLabels, tokens, masked, units, unitsHit }
}
