// Training data for MLM pretraining: a source of token-id segments, a deterministic epoch order over
// it (so a data position is all a checkpoint needs to continue), and HF-style MLM masking.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { readManifest } from '../data/shards'
import { Rng } from '../compute/rng'
import type { DataSpec } from './config'
import { badInput } from '../errors'
import { BertTokenizer, TokenBuffer } from '../text/tokenizer'
import { defaultVocabPath } from '../text/default-vocab'

/** Token-id segments (a sentence or a chunk of a document each), without [CLS]/[SEP]. */
export interface SequenceSource {
  readonly size: number
  get(index: number): Int32Array
}

/** Ids of the special tokens, bert-base-chinese's layout by default. */
export interface SpecialTokens {
  pad: number
  unk: number
  cls: number
  sep: number
  mask: number
}

export const BERT_CHINESE_SPECIALS: SpecialTokens = { pad: 0, unk: 100, cls: 101, sep: 102, mask: 103 }

/** Deterministic random segments of ids above the special-token block (for tests and benchmarks). */
export function syntheticSource(spec: { sequences: number; minLength: number; maxLength: number; seed: number }, vocabSize: number): SequenceSource {
  if (spec.minLength > spec.maxLength) throw badInput(`synthetic data: minLength (${spec.minLength}) > maxLength (${spec.maxLength})`)
  const first = Math.min(BERT_CHINESE_SPECIALS.mask + 1, vocabSize - 1)
  const rng = new Rng(spec.seed)
  const segments: Int32Array[] = []
  for (let i = 0; i < spec.sequences; i++) {
    const n = spec.minLength + rng.int(spec.maxLength - spec.minLength + 1)
    segments.push(Int32Array.from({ length: n }, () => first + rng.int(vocabSize - first)))
  }
  return { size: segments.length, get: (i) => segments[i] }
}

/** JSON lines, each an array of token ids. */
export async function tokenFileSource(path: string, vocabSize: number): Promise<SequenceSource> {
  const text = await readFile(path, 'utf8')
  const segments: Int32Array[] = []
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return
    let ids: unknown
    try {
      ids = JSON.parse(line)
    } catch {
      throw badInput(`${path}:${i + 1}: not JSON: ${JSON.stringify(line.slice(0, 40))}`)
    }
    if (!Array.isArray(ids) || !ids.every((x) => Number.isInteger(x) && x >= 0 && x < vocabSize)) {
      throw badInput(`${path}:${i + 1}: expected an array of token ids in [0, ${vocabSize}), got ${JSON.stringify(line.slice(0, 40))}`)
    }
    if (ids.length > 0) segments.push(Int32Array.from(ids as number[]))
  })
  if (segments.length === 0) throw badInput(`${path}: no token sequences`)
  return { size: segments.length, get: (i) => segments[i] }
}

/**
 * A plain-text file, one document or sentence per line, WordPiece-tokenized (HF BertTokenizer, lower
 * case) with `vocabFile`; a line longer than `maxTokens` becomes several consecutive segments.
 */
export async function textFileSource(path: string, vocabFile: string, vocabSize: number, maxTokens: number): Promise<{ source: SequenceSource; specials: SpecialTokens }> {
  return tokenizedSource((await readFile(path, 'utf8')).split('\n'), path, vocabFile, vocabSize, maxTokens)
}

/** The train split of an imported text dataset (records {text} in JSON-lines shards, maybe gzip). */
export async function datasetSource(dir: string, vocabFile: string, vocabSize: number, maxTokens: number): Promise<{ source: SequenceSource; specials: SpecialTokens }> {
  const manifest = readManifest(dir)
  const texts: string[] = []
  for (const shard of manifest.shards.filter((s) => s.split === 'train')) {
    let bytes = await readFile(join(dir, shard.file))
    if (shard.file.endsWith('.gz')) bytes = gunzipSync(bytes)
    for (const line of bytes.toString('utf8').split('\n')) {
      if (line === '') continue
      const record = JSON.parse(line) as { text?: unknown }
      if (typeof record.text !== 'string') throw badInput(`${dir}/${shard.file}: records have no "text" (is this a CLUE task dataset? pretraining needs a text dataset)`)
      texts.push(record.text)
    }
  }
  return tokenizedSource(texts, `${dir} (train split)`, vocabFile, vocabSize, maxTokens)
}

function tokenizedSource(texts: Iterable<string>, what: string, vocabFile: string, vocabSize: number, maxTokens: number): { source: SequenceSource; specials: SpecialTokens } {
  const tokenizer = BertTokenizer.fromFile(vocabFile)
  if (tokenizer.vocab.size > vocabSize) throw badInput(`${vocabFile}: ${tokenizer.vocab.size} tokens, more than the model's vocab_size (${vocabSize})`)
  const buf = new TokenBuffer()
  const segments: Int32Array[] = []
  for (const text of texts) {
    if (text.trim() === '') continue
    buf.clear()
    tokenizer.tokenizeInto(text, buf)
    for (let i = 0; i < buf.length; i += maxTokens) segments.push(buf.ids.slice(i, Math.min(buf.length, i + maxTokens)))
  }
  if (segments.length === 0) throw badInput(`${what}: no text`)
  const { pad, unk, cls, sep, mask } = tokenizer
  return { source: { size: segments.length, get: (i) => segments[i] }, specials: { pad, unk, cls, sep, mask } }
}

/** The segments a run trains on, and the special-token ids that go with them. */
export async function openSource(spec: DataSpec, vocabSize: number, maxSeqLength: number): Promise<{ source: SequenceSource; specials: SpecialTokens }> {
  switch (spec.kind) {
    case 'synthetic':
      return { source: syntheticSource(spec, vocabSize), specials: BERT_CHINESE_SPECIALS }
    case 'token-file':
      return { source: await tokenFileSource(spec.path, vocabSize), specials: BERT_CHINESE_SPECIALS }
    case 'text-file':
      return textFileSource(spec.path, spec.vocab, vocabSize, maxSeqLength - 2)
    case 'dataset':
      return datasetSource(spec.dir, spec.vocab ?? defaultVocabPath(), vocabSize, maxSeqLength - 2)
  }
}

/**
 * Position p (a count of segments consumed since the start of training) → segment index. Each epoch
 * is a fresh permutation drawn from (seed, epoch), so the order is reproducible from p alone.
 */
export class DataOrder {
  private epoch = -1
  private perm = new Int32Array(0)

  constructor(
    private readonly size: number,
    private readonly seed: number,
  ) {
    if (size <= 0) throw badInput('training data is empty')
  }

  indexAt(position: number): number {
    const epoch = Math.floor(position / this.size)
    if (epoch !== this.epoch) {
      this.perm = Int32Array.from({ length: this.size }, (_, i) => i)
      new Rng((this.seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0).shuffle(this.perm)
      this.epoch = epoch
    }
    return this.perm[position % this.size]
  }
}

export interface MlmBatch {
  batchSize: number
  seqLength: number
  inputIds: Int32Array // [B, T]
  attentionMask: Int32Array // [B, T]
  tokenTypeIds: Int32Array // [B, T]
  labels: Int32Array // [B, T], -100 where not masked
  tokens: number // non-padding tokens
  masked: number // positions with a label
}

/** One training sequence: a segment, or a pair of segments for NSP/SOP. */
export type BatchItem = Int32Array | [Int32Array, Int32Array]

/** HF's truncation "longest_first": drop tokens from the end of the longer segment until both fit. */
function truncatePair(a: Int32Array, b: Int32Array, budget: number): [Int32Array, Int32Array] {
  let na = a.length
  let nb = b.length
  while (na + nb > budget) {
    if (na >= nb) na--
    else nb--
  }
  return [a.subarray(0, na), b.subarray(0, nb)]
}

/**
 * [CLS] A [SEP] (B [SEP]), token types 0 for A and 1 for B, truncated to maxSeqLength and padded to the
 * longest in the batch, then masked as HF's DataCollatorForLanguageModeling: each non-special token is
 * chosen with probability p; a chosen token becomes [MASK] 80% of the time, a uniformly random id 10%,
 * and stays 10%. Unlike HF, a batch where no token was chosen gets one chosen at random, so that no
 * step trains on nothing.
 */
export function buildMlmBatch(
  items: BatchItem[],
  options: { maxSeqLength: number; mlmProbability: number; vocabSize: number; specials: SpecialTokens },
  rng: Rng,
): MlmBatch {
  const { maxSeqLength, mlmProbability, vocabSize, specials } = options
  if (maxSeqLength < 5) throw badInput(`maxSeqLength (${maxSeqLength}) must leave room for [CLS], tokens and [SEP]s`)
  // each item as its segments, already truncated
  const parts = items.map((it) => (Array.isArray(it) ? truncatePair(it[0], it[1], maxSeqLength - 3) : [it.subarray(0, maxSeqLength - 2)]))
  const lengthOf = (p: Int32Array[]) => p.reduce((n, seg) => n + seg.length + 1, 1) // [CLS] + each segment and its [SEP]
  const B = items.length
  const T = Math.max(...parts.map(lengthOf))
  const inputIds = new Int32Array(B * T).fill(specials.pad)
  const attentionMask = new Int32Array(B * T)
  const tokenTypeIds = new Int32Array(B * T)
  const labels = new Int32Array(B * T).fill(-100)
  let tokens = 0
  let masked = 0
  const maskAt = (at: number, id: number) => {
    labels[at] = id
    masked++
    const u = rng.next()
    if (u < 0.8) inputIds[at] = specials.mask
    else if (u < 0.9) inputIds[at] = rng.int(vocabSize)
  }
  const maskable: number[] = [] // positions of real tokens, for the no-target fallback
  parts.forEach((segs, b) => {
    let at = b * T
    inputIds[at++] = specials.cls
    segs.forEach((seg, type) => {
      for (let i = 0; i < seg.length; i++, at++) {
        inputIds[at] = seg[i]
        tokenTypeIds[at] = type
        maskable.push(at)
        if (rng.next() < mlmProbability) maskAt(at, seg[i])
      }
      tokenTypeIds[at] = type
      inputIds[at++] = specials.sep
    })
    attentionMask.fill(1, b * T, at)
    tokens += at - b * T
  })
  if (masked === 0 && maskable.length > 0) {
    const at = maskable[rng.int(maskable.length)]
    maskAt(at, inputIds[at])
  }
  return { batchSize: B, seqLength: T, inputIds, attentionMask, tokenTypeIds, labels, tokens, masked }
}

export type PairObjective = 'none' | 'nsp' | 'sop'

/**
 * A sentence-pair example for the segment at `index`, with its label (HF's convention, 0 = in order):
 *   nsp: B is the segment that follows A (label 0) or, half the time, a random other one (label 1);
 *   sop: A and B are consecutive segments, swapped half the time (label 1) — ALBERT's sentence order.
 * "Follows" means the next segment of the source: the next chunk of a long line, or the next line.
 */
export function pairAt(source: SequenceSource, index: number, objective: 'nsp' | 'sop', rng: Rng): { item: [Int32Array, Int32Array]; label: number } {
  const n = source.size
  if (n < 2) throw badInput(`${objective.toUpperCase()} needs at least two segments of text`)
  const first = index + 1 < n ? index : index - 1 // the last segment pairs with the one before it
  const a = source.get(first)
  const next = source.get(first + 1)
  if (objective === 'sop') return rng.next() < 0.5 ? { item: [a, next], label: 0 } : { item: [next, a], label: 1 }
  if (rng.next() < 0.5) return { item: [a, next], label: 0 }
  let other = rng.int(n - 1)
  if (other >= first + 1) other++ // any segment but the true successor
  return { item: [a, source.get(other)], label: 1 }
}
