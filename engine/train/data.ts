// Training data sources for MLM pretraining from files (text, token ids, a dataset read whole) and a
// synthetic one: token-id segments without [CLS]/[SEP]. Datasets normally stream from token shards
// (engine/text/token-shards.ts, engine/train/stream.ts); batches and masking are engine/train/batch.ts.
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
