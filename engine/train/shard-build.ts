// Builds a dataset's training token shards (docs/shards.md) from its JSON-lines records and, when it has
// one, its tag cache: every record tokenized once, its words and entities projected onto the WordPieces
// as POS/NE classes and word starts, cut into segments of at most maxSegmentTokens. Streams both inputs
// (one record at a time), so memory does not grow with the corpus. The folder is a cache keyed by the
// vocab's checksum and the segment length.
import fs from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import zlib from 'node:zlib'
import { readManifest } from '../data/shards'
import { WorkbenchError } from '../errors'
import { TAGS_FOLDER, readTagSummary } from '../tagging/dataset-tags'
import { bioLabels } from '../tagging/projection'
import { Schemes } from '../tagging/schemes'
import type { TaggedEntity, TaggedToken } from '../tagging/types'
import { NO_LABEL, readTokenManifest, sha256File, TOKEN_SHARDS_FORMAT, TokenSplitWriter, WORD_START, type TokenShardsManifest, type TokenSplit } from '../text/token-shards'
import { BertTokenizer, TokenBuffer } from '../text/tokenizer'
import type { Vocab } from '../text/vocab'

export const TOKENS_FOLDER = 'tokens'

/** The class lists of the POS and NE objectives: 17 UPOS + "none" ([CLS]/[SEP]); BIO over OntoNotes. */
export function objectiveLabels(schemes = Schemes.load()): { pos: string[]; ner: string[] } {
  return { pos: [...schemes.table.upos.labels, 'none'], ner: bioLabels(schemes.table.entities.labels) }
}

export interface TagRecord {
  tokens: Pick<TaggedToken, 'start' | 'end' | 'pos'>[]
  ents: Pick<TaggedEntity, 'start' | 'end' | 'label'>[]
}

/** Per-token labels of one text: POS class, BIO class, flags (word start), aligned with `buf`. */
export interface TokenLabels {
  pos: Uint8Array
  ner: Uint8Array
  flags: Uint8Array
}

/**
 * Projects a tagged text onto its WordPieces (engine/tagging/projection.ts's rule, as class ids): a token
 * takes the POS of the word holding its first character and the BIO label of the entity holding it; it
 * starts a word when that word differs from the previous token's. Without tags, every byte is NO_LABEL
 * and WordPiece words (no "##") are the words.
 */
export function labelTokens(text: string, buf: TokenBuffer, vocab: Vocab, tags: TagRecord | null, classes: { pos: Map<string, number>; ner: Map<string, number> }): TokenLabels {
  const n = buf.length
  const pos = new Uint8Array(n).fill(NO_LABEL)
  const ner = new Uint8Array(n).fill(NO_LABEL)
  const flags = new Uint8Array(n)
  if (!tags) {
    for (let k = 0; k < n; k++) if (k === 0 || !vocab.tokens[buf.ids[k]].startsWith('##')) flags[k] = WORD_START
    return { pos, ner, flags }
  }
  const len = text.length
  const wordAt = new Int32Array(len).fill(-1)
  tags.tokens.forEach((w, i) => wordAt.fill(i, Math.max(0, w.start), Math.min(len, w.end)))
  const entityAt = new Int32Array(len).fill(-1)
  tags.ents.forEach((e, i) => entityAt.fill(i, Math.max(0, e.start), Math.min(len, e.end)))
  const x = classes.pos.get('X')!
  let previousWord = -2
  let previousEntity = -1
  for (let k = 0; k < n; k++) {
    const start = buf.starts[k]
    const word = start < len ? wordAt[start] : -1
    const entity = start < len ? entityAt[start] : -1
    // a character outside every word (whitespace jieba dropped) starts its own word
    if (word !== previousWord || word < 0) flags[k] = WORD_START
    pos[k] = word < 0 ? x : (classes.pos.get(tags.tokens[word].pos) ?? x)
    ner[k] = entity < 0 ? 0 : (classes.ner.get(`${entity === previousEntity ? 'I' : 'B'}-${tags.ents[entity].label}`) ?? 0)
    previousWord = word
    previousEntity = entity
  }
  return { pos, ner, flags }
}

/** Cuts a record into segments of at most `max` tokens; an entity cut at a boundary restarts with B-. */
export function segmentsOf(ids: Int32Array, labels: TokenLabels, max: number, nerLabels: string[]): { ids: Int32Array; pos: Uint8Array; ner: Uint8Array; flags: Uint8Array }[] {
  const out = []
  for (let a = 0; a < ids.length; a += max) {
    const b = Math.min(ids.length, a + max)
    const ner = labels.ner.slice(a, b)
    const flags = labels.flags.slice(a, b)
    flags[0] |= WORD_START
    if (ner[0] !== NO_LABEL && nerLabels[ner[0]]?.startsWith('I-')) ner[0] -= 1 // I-L is B-L's successor in bioLabels order
    out.push({ ids: ids.subarray(a, b), pos: labels.pos.subarray(a, b), ner, flags })
  }
  return out
}

async function* jsonLines(file: string): AsyncGenerator<Record<string, unknown>> {
  let input: NodeJS.ReadableStream = fs.createReadStream(file)
  if (file.endsWith('.gz')) input = input.pipe(zlib.createGunzip())
  const rl = readline.createInterface({ input, crlfDelay: Infinity })
  for await (const line of rl) if (line) yield JSON.parse(line) as Record<string, unknown>
}

/** The dataset's records of one split with their global index, in order. */
async function* splitRecords(dir: string, split: string): AsyncGenerator<{ index: number; text: string | null }> {
  let base = 0
  for (const shard of readManifest(dir).shards) {
    if (shard.split === split) {
      let i = 0
      for await (const r of jsonLines(path.join(dir, shard.file))) yield { index: base + i++, text: typeof r.text === 'string' ? r.text : null }
    }
    base += shard.records
  }
}

/** The tag cache's records of one split, in order (each carries its dataset index). */
async function* splitTags(dir: string, split: string): AsyncGenerator<TagRecord & { index: number }> {
  const tagsDir = path.join(dir, TAGS_FOLDER)
  for (const shard of readManifest(tagsDir).shards) {
    if (shard.split === split) for await (const r of jsonLines(path.join(tagsDir, shard.file))) yield r as unknown as TagRecord & { index: number }
  }
}

export interface BuildShardsOptions {
  vocabFile: string
  maxSegmentTokens: number
  signal?: AbortSignal
  onProgress?: (records: number, total: number) => void
}

export function tokenShardsKey(vocabSha: string, maxSegmentTokens: number): string {
  return `${vocabSha.slice(0, 12)}-s${maxSegmentTokens}`
}

/** Whether the dataset has a tag cache (tokens with POS; entities when tagged with them). */
export function hasTagCache(datasetDir: string): boolean {
  return readTagSummary(datasetDir) !== null
}

/**
 * The dataset's token shards for this vocab and segment length: the cached folder when it exists and
 * matches the tag cache's presence, else built now. Returns the folder.
 */
export async function buildTokenShards(datasetDir: string, options: BuildShardsOptions): Promise<string> {
  const vocabSha = await sha256File(options.vocabFile)
  const final = path.join(datasetDir, TOKENS_FOLDER, tokenShardsKey(vocabSha, options.maxSegmentTokens))
  const tagSummary = readTagSummary(datasetDir)
  const tags = tagSummary ? { tagger: tagSummary.tagger, entities: tagSummary.entities } : null
  if (fs.existsSync(path.join(final, 'manifest.json'))) {
    const m = readTokenManifest(final)
    if (JSON.stringify(m.tags) === JSON.stringify(tags)) return final
  }
  const tokenizer = BertTokenizer.fromFile(options.vocabFile)
  const labels = objectiveLabels()
  const classes = { pos: new Map(labels.pos.map((l, i) => [l, i])), ner: new Map(labels.ner.map((l, i) => [l, i])) }
  const dataset = readManifest(datasetDir)
  const splits = [...new Set(dataset.shards.map((s) => s.split))]
  const partial = `${final}.partial`
  fs.rmSync(partial, { recursive: true, force: true })
  fs.mkdirSync(partial, { recursive: true })
  const written: Record<string, TokenSplit> = {}
  const buf = new TokenBuffer()
  let done = 0
  try {
    for (const split of splits) {
      const writer = new TokenSplitWriter(partial, split)
      const tagStream = tags ? splitTags(datasetDir, split) : null
      let pending: (TagRecord & { index: number }) | null = null
      const tagsFor = async (index: number): Promise<TagRecord | null> => {
        if (!tagStream) return null
        while (!pending || pending.index < index) {
          const r = await tagStream.next()
          if (r.done) return null
          pending = r.value
        }
        return pending.index === index ? pending : null
      }
      try {
        for await (const record of splitRecords(datasetDir, split)) {
          if (options.signal?.aborted) throw new WorkbenchError('CANCELLED', 'building token shards cancelled')
          options.onProgress?.(++done, dataset.records)
          if (record.text === null || record.text.trim() === '') continue
          buf.clear()
          tokenizer.tokenizeInto(record.text, buf)
          if (buf.length === 0) continue
          const ids = buf.ids.slice(0, buf.length)
          const l = labelTokens(record.text, buf, tokenizer.vocab, await tagsFor(record.index), classes)
          for (const s of segmentsOf(ids, l, options.maxSegmentTokens, labels.ner)) writer.add(record.index, s.ids, s.pos, s.ner, s.flags)
        }
        written[split] = writer.finish()
      } catch (err) {
        writer.abort()
        throw err
      }
    }
    const { pad, unk, cls, sep, mask } = tokenizer
    const manifest: TokenShardsManifest = {
      format: TOKEN_SHARDS_FORMAT,
      version: 1,
      vocab: { sha256: vocabSha, size: tokenizer.vocab.size, specials: { pad, unk, cls, sep, mask } },
      maxSegmentTokens: options.maxSegmentTokens,
      labels,
      tags,
      splits: written,
      createdAt: new Date().toISOString(),
    }
    fs.writeFileSync(path.join(partial, 'manifest.json'), JSON.stringify(manifest, null, 1))
    fs.rmSync(final, { recursive: true, force: true })
    fs.renameSync(partial, final)
    return final
  } catch (err) {
    fs.rmSync(partial, { recursive: true, force: true })
    throw err
  }
}
