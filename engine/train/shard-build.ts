// Builds a dataset's training token shards (docs/shards.md) from its JSON-lines records and, when it has
// one, its tag cache: every record tokenized once, its words and entities projected onto the WordPieces
// as POS/NE classes and word starts, cut into segments of at most maxSegmentTokens. The folder is a cache
// keyed by the vocab's checksum and the segment length.
//
// Memory does not grow with the corpus: both inputs stream one record at a time, labels go to work arrays
// reused across records (LabelScratch), segments are views, and the writer fills one fixed block per file
// (TokenSplitWriter); nothing is kept per record or per segment. The build reports progress in records,
// stops between records when cancelled, and resumes from its last checkpoint.
import fs from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import zlib from 'node:zlib'
import { randomUUID } from 'node:crypto'
import { readManifest, readRecords, writeFileSynced } from '../data/shards'
import { WorkbenchError } from '../errors'
import { TAGS_FOLDER, readTagSummary } from '../tagging/dataset-tags'
import { bioLabels } from '../tagging/projection'
import { Schemes } from '../tagging/schemes'
import type { TaggedEntity, TaggedToken } from '../tagging/types'
import { NO_LABEL, readTokenManifest, sha256File, TOKEN_SHARDS_FORMAT, TokenSplitWriter, WORD_START, type TokenShardsManifest, type TokenSplit, type TokenSplitWriterState } from '../text/token-shards'
import { BertTokenizer, TokenBuffer } from '../text/tokenizer'
import type { Vocab } from '../text/vocab'
import { processAlive } from '../process-alive'

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
 * Grow-only work arrays for labelTokens, reused from record to record: they grow to the longest record
 * seen and no further, so labelling a corpus allocates nothing per record.
 */
export class LabelScratch {
  pos = new Uint8Array(256)
  ner = new Uint8Array(256)
  flags = new Uint8Array(256)
  wordAt = new Int32Array(1024)
  entityAt = new Int32Array(1024)

  /** Views of `tokens` labels, and character maps of at least `chars` (contents undefined). */
  views(tokens: number, chars: number): TokenLabels & { wordAt: Int32Array; entityAt: Int32Array } {
    if (this.pos.length < tokens) {
      const size = Math.max(tokens, this.pos.length * 2)
      this.pos = new Uint8Array(size)
      this.ner = new Uint8Array(size)
      this.flags = new Uint8Array(size)
    }
    if (this.wordAt.length < chars) {
      const size = Math.max(chars, this.wordAt.length * 2)
      this.wordAt = new Int32Array(size)
      this.entityAt = new Int32Array(size)
    }
    return {
      pos: this.pos.subarray(0, tokens),
      ner: this.ner.subarray(0, tokens),
      flags: this.flags.subarray(0, tokens),
      wordAt: this.wordAt.subarray(0, chars),
      entityAt: this.entityAt.subarray(0, chars),
    }
  }
}

/**
 * Projects a tagged text onto its WordPieces (engine/tagging/projection.ts's rule, as class ids): a token
 * takes the POS of the word holding its first character and the BIO label of the entity holding it; it
 * starts a word when that word differs from the previous token's. Without tags, every byte is NO_LABEL
 * and WordPiece words (no "##") are the words. With `scratch`, the result is views into it, valid until
 * its next use.
 */
export function labelTokens(
  text: string,
  buf: TokenBuffer,
  vocab: Vocab,
  tags: TagRecord | null,
  classes: { pos: Map<string, number>; ner: Map<string, number> },
  scratch = new LabelScratch(),
): TokenLabels {
  const n = buf.length
  const len = tags ? text.length : 0
  const { pos, ner, flags, wordAt, entityAt } = scratch.views(n, len)
  pos.fill(NO_LABEL)
  ner.fill(NO_LABEL)
  flags.fill(0)
  if (!tags) {
    for (let k = 0; k < n; k++) if (k === 0 || !vocab.tokens[buf.ids[k]].startsWith('##')) flags[k] = WORD_START
    return { pos, ner, flags }
  }
  wordAt.fill(-1)
  tags.tokens.forEach((w, i) => wordAt.fill(i, Math.max(0, w.start), Math.min(len, w.end)))
  entityAt.fill(-1)
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

/**
 * Cuts a record into segments of at most `max` tokens and hands each to `emit` as views: a segment starts
 * a word, and an entity cut at a boundary restarts with B- (both written into `labels`, in place).
 */
export function forEachSegment(
  ids: Int32Array,
  labels: TokenLabels,
  max: number,
  nerLabels: string[],
  emit: (ids: Int32Array, pos: Uint8Array, ner: Uint8Array, flags: Uint8Array) => void,
): void {
  for (let a = 0; a < ids.length; a += max) {
    const b = Math.min(ids.length, a + max)
    labels.flags[a] |= WORD_START
    const first = labels.ner[a]
    if (first !== NO_LABEL && nerLabels[first]?.startsWith('I-')) labels.ner[a] = first - 1 // I-L is B-L's successor in bioLabels order
    emit(ids.subarray(a, b), labels.pos.subarray(a, b), labels.ner.subarray(a, b), labels.flags.subarray(a, b))
  }
}

/** The tag cache's records of one split from dataset index `from`, in order (each carries its index). */
async function* splitTags(dir: string, split: string, from: number): AsyncGenerator<TagRecord & { index: number }> {
  const tagsDir = path.join(dir, TAGS_FOLDER)
  for (const shard of readManifest(tagsDir).shards) {
    if (shard.split !== split) continue
    let input: NodeJS.ReadableStream = fs.createReadStream(path.join(tagsDir, shard.file))
    if (shard.file.endsWith('.gz')) input = input.pipe(zlib.createGunzip())
    const rl = readline.createInterface({ input, crlfDelay: Infinity })
    try {
      for await (const line of rl) {
        if (!line) continue
        // the writer puts `index` first: records before a resume point are skipped without parsing
        const lead = /^\{"index":(\d+)/.exec(line)
        if (lead && Number(lead[1]) < from) continue
        const r = JSON.parse(line) as TagRecord & { index: number }
        if (r.index >= from) yield r
      }
    } finally {
      rl.close()
      ;(input as unknown as { destroy(): void }).destroy()
    }
  }
}

export interface BuildShardsOptions {
  vocabFile: string
  maxSegmentTokens: number
  signal?: AbortSignal
  /** Records read so far (all splits) of the dataset's total; first at the start (0, or where a resume begins), last at total. */
  onProgress?: (records: number, total: number) => void
  /** Another process is building the same folder: called each second while this one waits for it. */
  onWaiting?: (holder: number) => void
  /** Checkpoint after this many records as well as every 10 s (tests use small values). */
  checkpointRecords?: number
  /** Records between onProgress calls (default 1024: in a run, each is a message out of the training worker). */
  progressRecords?: number
}

export function tokenShardsKey(vocabSha: string, maxSegmentTokens: number): string {
  return `${vocabSha.slice(0, 12)}-s${maxSegmentTokens}`
}

/** Whether the dataset has a tag cache (tokens with POS; entities when tagged with them). */
export function hasTagCache(datasetDir: string): boolean {
  return readTagSummary(datasetDir) !== null
}

const PROGRESS_FILE = 'progress.json'
const PROGRESS_EVERY = 1024
const CHECKPOINT_MS = 10_000
const LOCK_STALE_MS = 60_000 // a lock not refreshed for this long belongs to a build that was killed

/** The checkpoint in <folder>.partial/progress.json: what is on disk, and where the build goes on. */
interface BuildProgress {
  /** the inputs: a checkpoint of other inputs is not resumed */
  work: string
  /** index (in dataset order of first appearance) of the split being written */
  split: number
  /** every record of that split before this dataset index is on disk */
  next: number
  /** records read so far, all splits (for progress) */
  done: number
  written: Record<string, TokenSplit>
  writer: TokenSplitWriterState
}

const EMPTY_WRITER: TokenSplitWriterState = { shards: [], current: null, records: 0, lastRecord: -1 }

function saveProgress(partial: string, state: BuildProgress): void {
  const file = path.join(partial, PROGRESS_FILE)
  writeFileSynced(`${file}.tmp`, JSON.stringify(state))
  fs.renameSync(`${file}.tmp`, file)
}

function readBuildProgress(partial: string, work: string): BuildProgress | null {
  try {
    const p = JSON.parse(fs.readFileSync(path.join(partial, PROGRESS_FILE), 'utf8')) as BuildProgress
    return p.work === work ? p : null
  } catch {
    return null // none, or torn by a crash: start over
  }
}


/**
 * Takes `<folder>.lock` (one builder per folder; a second run on the same dataset waits for the first
 * rather than writing over its files). The holder refreshes the lock's time at each checkpoint, so a lock
 * of a dead process, or of a worker thread that was terminated inside a live one, is taken over.
 */
async function takeLock(file: string, options: BuildShardsOptions): Promise<{ refresh(): void; release(): void }> {
  const mine = JSON.stringify({ pid: process.pid, token: randomUUID() })
  for (;;) {
    try {
      fs.writeFileSync(file, mine, { flag: 'wx' })
      const refresh = () => {
        const now = new Date()
        fs.utimesSync(file, now, now)
      }
      const release = () => {
        try {
          if (fs.readFileSync(file, 'utf8') === mine) fs.rmSync(file, { force: true })
        } catch {
          // gone already
        }
      }
      return { refresh, release }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    let holder = 0
    let age = 0
    try {
      holder = (JSON.parse(fs.readFileSync(file, 'utf8')) as { pid: number }).pid
      age = Date.now() - fs.statSync(file).mtimeMs
    } catch {
      // torn or just removed: look again
    }
    if (holder && (!processAlive(holder) || age > LOCK_STALE_MS)) {
      fs.rmSync(file, { force: true })
      continue
    }
    if (options.signal?.aborted) throw new WorkbenchError('CANCELLED', 'building token shards cancelled')
    options.onWaiting?.(holder)
    await new Promise((r) => setTimeout(r, 1000))
  }
}

/** The cached folder when it is complete and matches the tag cache's presence. */
function cachedFolder(final: string, tags: TokenShardsManifest['tags']): boolean {
  if (!fs.existsSync(path.join(final, 'manifest.json'))) return false
  return JSON.stringify(readTokenManifest(final).tags) === JSON.stringify(tags)
}

/**
 * The dataset's token shards for this vocab and segment length: the cached folder when it exists and
 * matches the tag cache's presence, else built now. Returns the folder.
 *
 * The build writes `<folder>.partial/` with a checkpoint every few seconds (progress.json: the split and
 * record it got to, the open shard's length); the manifest is written last and the folder renamed into
 * place, so only a complete folder is ever found under the final name. A cancelled, failed or killed
 * build leaves the partial folder, and the next build of the same inputs continues from its checkpoint
 * (the output is byte for byte what one uninterrupted build writes).
 */
export async function buildTokenShards(datasetDir: string, options: BuildShardsOptions): Promise<string> {
  const vocabSha = await sha256File(options.vocabFile)
  const key = tokenShardsKey(vocabSha, options.maxSegmentTokens)
  const final = path.join(datasetDir, TOKENS_FOLDER, key)
  const tagSummary = readTagSummary(datasetDir)
  const tags = tagSummary ? { tagger: tagSummary.tagger, entities: tagSummary.entities } : null
  if (cachedFolder(final, tags)) return final
  fs.mkdirSync(path.dirname(final), { recursive: true })
  const lock = await takeLock(`${final}.lock`, options)
  try {
    if (cachedFolder(final, tags)) return final // built by the job this one waited for
    return await buildLocked(datasetDir, final, vocabSha, tags, tagSummary?.sourceRecords ?? null, options, lock.refresh)
  } finally {
    lock.release()
  }
}

async function buildLocked(
  datasetDir: string,
  final: string,
  vocabSha: string,
  tags: TokenShardsManifest['tags'],
  taggedRecords: number | null,
  options: BuildShardsOptions,
  refreshLock: () => void,
): Promise<string> {
  const tokenizer = BertTokenizer.fromFile(options.vocabFile)
  const labels = objectiveLabels()
  const classes = { pos: new Map(labels.pos.map((l, i) => [l, i])), ner: new Map(labels.ner.map((l, i) => [l, i])) }
  const dataset = readManifest(datasetDir)
  const splits = [...new Set(dataset.shards.map((s) => s.split))]
  const total = dataset.records
  const work = JSON.stringify({
    vocabSha,
    maxSegmentTokens: options.maxSegmentTokens,
    tags,
    taggedRecords,
    source: dataset.shards.map((s) => `${s.file}:${s.records}:${s.bytes}`),
  })
  const partial = `${final}.partial`
  const resumed = readBuildProgress(partial, work)
  if (!resumed) {
    fs.rmSync(partial, { recursive: true, force: true })
    fs.mkdirSync(partial, { recursive: true })
  }
  const written: Record<string, TokenSplit> = resumed?.written ?? {}
  let done = resumed?.done ?? 0
  const buf = new TokenBuffer()
  const scratch = new LabelScratch()
  const every = options.checkpointRecords ?? Infinity
  const progressEvery = options.progressRecords ?? PROGRESS_EVERY
  const cancelled = () => new WorkbenchError('CANCELLED', 'building token shards cancelled')
  options.onProgress?.(done, total)

  for (let s = resumed?.split ?? 0; s < splits.length; s++) {
    const split = splits[s]
    const resuming = resumed && resumed.split === s
    // (resuming from an empty state also clears files of this split that a killed build had started)
    const writer = TokenSplitWriter.resume(partial, split, resuming ? resumed.writer : EMPTY_WRITER)
    let next = resuming ? resumed.next : 0
    let sinceCheckpoint = 0
    let lastCheckpoint = Date.now()
    let betweenRecords = true
    const checkpoint = () => {
      saveProgress(partial, { work, split: s, next, done, written, writer: writer.checkpoint() })
      refreshLock()
      sinceCheckpoint = 0
      lastCheckpoint = Date.now()
    }
    const tagStream = tags ? splitTags(datasetDir, split, next) : null
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
      for await (const { index, record } of readRecords(datasetDir, next, split)) {
        if (options.signal?.aborted) throw cancelled()
        betweenRecords = false
        const text = typeof record.text === 'string' ? record.text : null
        if (text !== null && text.trim() !== '') {
          buf.clear()
          tokenizer.tokenizeInto(text, buf)
          if (buf.length > 0) {
            const l = labelTokens(text, buf, tokenizer.vocab, await tagsFor(index), classes, scratch)
            forEachSegment(buf.ids.subarray(0, buf.length), l, options.maxSegmentTokens, labels.ner, (ids, pos, ner, flags) => writer.add(index, ids, pos, ner, flags))
          }
        }
        next = index + 1
        done++
        betweenRecords = true
        if (done % progressEvery === 0) options.onProgress?.(done, total)
        if (++sinceCheckpoint >= every || Date.now() - lastCheckpoint >= CHECKPOINT_MS) checkpoint()
      }
      written[split] = writer.finish()
    } catch (err) {
      // keep what is on disk for the next build (a cancel stops between records; after an error inside
      // a record the previous checkpoint stands, and a resume cuts the files back to it)
      if (betweenRecords) {
        try {
          checkpoint()
        } catch {
          // the checkpoint before stands
        }
      }
      writer.abort()
      await tagStream?.return(undefined)
      throw err
    }
    await tagStream?.return(undefined)
    if (s + 1 < splits.length) {
      // the split is finished: the next build starts at the next split
      saveProgress(partial, { work, split: s + 1, next: 0, done, written, writer: EMPTY_WRITER })
    }
  }
  if (options.signal?.aborted) throw cancelled()
  options.onProgress?.(done, total)
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
  fs.rmSync(path.join(partial, PROGRESS_FILE), { force: true })
  writeFileSynced(path.join(partial, 'manifest.json'), JSON.stringify(manifest, null, 1))
  fs.rmSync(final, { recursive: true, force: true })
  fs.renameSync(partial, final)
  return final
}
