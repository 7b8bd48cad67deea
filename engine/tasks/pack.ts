// Examples → model inputs. Sequences are not padded here (a batch pads to its longest member); every
// sequence is "[CLS] A [SEP] (B [SEP])" with token types 0/1, truncated longest-first to `maxLength`.
import type { BertTokenizer } from '../text/tokenizer'
import { IGNORE_INDEX } from '../model/heads'
import type { ChoiceExample, SpanExample, TextExample } from './examples'

export interface Packed {
  inputIds: number[]
  tokenTypeIds: number[]
}

export interface TextFeature extends Packed {
  example: number
  label: number // index into the label list, or IGNORE_INDEX (no gold label)
}

export interface ChoiceFeature {
  example: number
  /** One sequence per choice slot; `valid` false for slots past the example's own choices (padding). */
  choices: Packed[]
  valid: boolean[]
  label: number // gold choice, or IGNORE_INDEX
}

export interface SpanFeature extends Packed {
  example: number
  /** Gold start/end token positions in this window; 0 ([CLS]) when the answer is not inside it. */
  start: number
  end: number
  /** Per position: the [start, end) characters of the passage it came from; null for question and specials. */
  offsets: ([number, number] | null)[]
}

/** [CLS] a [SEP] (b [SEP]) truncated longest-first, without padding. */
export function packPair(tok: BertTokenizer, a: string, b: string | undefined, maxLength: number): Packed {
  const enc = tok.encode(a, b, { maxLength })
  let n = enc.attention_mask.length
  while (n > 0 && enc.attention_mask[n - 1] === 0) n--
  return { inputIds: enc.input_ids.slice(0, n), tokenTypeIds: enc.token_type_ids.slice(0, n) }
}

export function packText(tok: BertTokenizer, e: TextExample, example: number, labels: readonly string[], maxLength: number): TextFeature {
  const label = e.label === null ? IGNORE_INDEX : labels.indexOf(e.label)
  if (e.label !== null && label < 0) throw new Error(`example ${e.id}: label ${JSON.stringify(e.label)} is not one of ${labels.join(', ')}`)
  return { ...packPair(tok, e.textA, e.textB, maxLength), example, label }
}

/**
 * The part of a passage around a marked blank (CHID) that fits `chars` characters, so that truncation
 * never cuts the blank away; other passages are returned whole (the tokenizer truncates their end).
 */
export function cropAround(passage: string, marker: string, chars: number): string {
  const at = passage.indexOf(marker)
  if (at < 0 || passage.length <= chars) return passage
  const from = Math.max(0, Math.min(at - Math.floor((chars - marker.length) / 2), passage.length - chars))
  return passage.slice(from, from + chars)
}

export function packChoice(tok: BertTokenizer, e: ChoiceExample, example: number, numChoices: number, maxLength: number): ChoiceFeature {
  if (e.firsts.length > numChoices) throw new Error(`example ${e.id}: ${e.firsts.length} choices, more than ${numChoices}`)
  const firstLongest = Math.max(...e.firsts.map((f) => f.length), 0)
  const second = cropAround(e.second, '[MASK]', Math.max(8, maxLength - firstLongest - 3))
  const choices: Packed[] = []
  const valid: boolean[] = []
  for (let k = 0; k < numChoices; k++) {
    valid.push(k < e.firsts.length)
    choices.push(packPair(tok, k < e.firsts.length ? e.firsts[k] : '', second, maxLength))
  }
  return { example, choices, valid, label: e.label ?? IGNORE_INDEX }
}

export interface SpanOptions {
  maxLength: number // 512 in CLUE's baseline; the window's total length
  docStride: number // 128: tokens between the starts of successive windows (BERT's run_squad doc_stride)
  maxQueryLength: number // 64: question tokens kept
}

/**
 * CMRC2018's sliding windows: "[CLS] question [SEP] passage-window [SEP]", windows starting every
 * `docStride` passage tokens until the passage end is covered. The first gold answer gives the start/end
 * positions of each window that contains it whole; others point at [CLS].
 */
export function packSpan(tok: BertTokenizer, e: SpanExample, example: number, o: SpanOptions): SpanFeature[] {
  const q = tok.tokenize(e.question)
  const qIds = q.ids.slice(0, o.maxQueryLength)
  const c = tok.tokenize(e.context)
  const budget = o.maxLength - qIds.length - 3
  if (budget < 1) throw new Error(`maxLength ${o.maxLength} leaves no room for the passage after a ${qIds.length}-token question`)
  // the gold answer's token span in the passage
  let goldStart = -1
  let goldEnd = -1
  const gold = e.answers[0]
  if (gold && gold.start >= 0) {
    const end = gold.start + gold.text.length
    for (let k = 0; k < c.ids.length; k++) {
      if (goldStart < 0 && c.offsets[k][1] > gold.start) goldStart = k
      if (c.offsets[k][0] < end) goldEnd = k
    }
    if (goldStart > goldEnd) goldStart = goldEnd = -1
  }
  const features: SpanFeature[] = []
  for (let from = 0; ; from += o.docStride) {
    const len = Math.min(budget, c.ids.length - from)
    const inputIds = [tok.cls, ...qIds, tok.sep]
    const tokenTypeIds = inputIds.map(() => 0)
    const offsets: ([number, number] | null)[] = inputIds.map(() => null)
    const base = inputIds.length
    for (let k = from; k < from + len; k++) {
      inputIds.push(c.ids[k])
      tokenTypeIds.push(1)
      offsets.push(c.offsets[k])
    }
    inputIds.push(tok.sep)
    tokenTypeIds.push(1)
    offsets.push(null)
    const inside = goldStart >= from && goldEnd < from + len
    features.push({ example, inputIds, tokenTypeIds, offsets, start: inside ? base + goldStart - from : 0, end: inside ? base + goldEnd - from : 0 })
    if (from + len >= c.ids.length) break
  }
  return features
}

/**
 * The best answer over an example's windows: the highest start + end logit among passage positions with
 * start ≤ end and at most `maxAnswerTokens` tokens, mapped back to passage characters ('' if none).
 */
export function decodeSpan(
  context: string,
  windows: { offsets: ([number, number] | null)[]; start: ArrayLike<number>; end: ArrayLike<number> }[],
  maxAnswerTokens = 30,
  topN = 20,
): { text: string; start: number; score: number } {
  let best = { text: '', start: -1, score: -Infinity }
  for (const w of windows) {
    const positions = w.offsets.map((off, i) => (off ? i : -1)).filter((i) => i >= 0)
    const top = (logits: ArrayLike<number>) => [...positions].sort((a, b) => logits[b] - logits[a]).slice(0, topN)
    const ends = top(w.end)
    for (const s of top(w.start)) {
      for (const e of ends) {
        if (e < s || e - s + 1 > maxAnswerTokens) continue
        const score = w.start[s] + w.end[e]
        if (score > best.score) {
          const from = w.offsets[s]![0]
          best = { text: context.slice(from, w.offsets[e]![1]), start: from, score }
        }
      }
    }
  }
  return best
}
