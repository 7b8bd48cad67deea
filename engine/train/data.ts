// Training data for MLM pretraining: a source of token-id segments, a deterministic epoch order over
// it (so a data position is all a checkpoint needs to continue), and HF-style MLM masking.
import { readFile } from 'node:fs/promises'
import { Rng } from './rng'
import type { DataSpec } from './config'
import { badInput, unsupported } from '../errors'

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

export async function openSource(spec: DataSpec, vocabSize: number): Promise<SequenceSource> {
  switch (spec.kind) {
    case 'synthetic':
      return syntheticSource(spec, vocabSize)
    case 'token-file':
      return tokenFileSource(spec.path, vocabSize)
    case 'text-file':
      throw unsupported(`data kind "text-file" needs the tokenizer (engine/text), not merged into this branch yet; use "token-file"`)
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

/**
 * [CLS] segment [SEP], truncated to maxSeqLength and padded to the longest in the batch, then masked
 * as HF's DataCollatorForLanguageModeling: each non-special token is chosen with probability p; a
 * chosen token becomes [MASK] 80% of the time, a uniformly random id 10%, and stays 10%.
 */
export function buildMlmBatch(
  segments: Int32Array[],
  options: { maxSeqLength: number; mlmProbability: number; vocabSize: number; specials: SpecialTokens },
  rng: Rng,
): MlmBatch {
  const { maxSeqLength, mlmProbability, vocabSize, specials } = options
  if (maxSeqLength < 3) throw badInput(`maxSeqLength (${maxSeqLength}) must leave room for [CLS], a token and [SEP]`)
  const B = segments.length
  const T = Math.min(maxSeqLength, 2 + Math.max(...segments.map((s) => s.length)))
  const inputIds = new Int32Array(B * T).fill(specials.pad)
  const attentionMask = new Int32Array(B * T)
  const labels = new Int32Array(B * T).fill(-100)
  let tokens = 0
  let masked = 0
  segments.forEach((seg, b) => {
    const n = Math.min(seg.length, T - 2)
    const row = b * T
    inputIds[row] = specials.cls
    inputIds[row + n + 1] = specials.sep
    attentionMask.fill(1, row, row + n + 2)
    tokens += n + 2
    for (let i = 0; i < n; i++) {
      const at = row + 1 + i
      const id = seg[i]
      inputIds[at] = id
      if (rng.next() >= mlmProbability) continue
      labels[at] = id
      masked++
      const u = rng.next()
      if (u < 0.8) inputIds[at] = specials.mask
      else if (u < 0.9) inputIds[at] = rng.int(vocabSize)
    }
  })
  return { batchSize: B, seqLength: T, inputIds, attentionMask, tokenTypeIds: new Int32Array(B * T), labels, tokens, masked }
}
