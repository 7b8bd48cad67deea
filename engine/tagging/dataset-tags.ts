// Tagging a whole dataset: every record's `text` through a tagger, written as JSON-lines shards in
// datasets/<id>/tags/ (beside the dataset's own shards, same shard format) with a summary of the tag
// distribution. The folder is a cache: tagging again with the same tagger and options over the same
// records returns the summary without work. Records without a string `text` (CLUE task records) are
// counted as skipped.
//
// Corpus-sized: records are read as a stream and written as they are tagged, so memory does not grow with
// the corpus. The work goes to tags.partial/ with a checkpoint (progress.json: the next record, the counts
// so far, the shard writer's state) every few seconds; a cancelled, failed or killed run leaves it there,
// and the next run with the same tagger and options continues from the checkpoint.
import fs from 'node:fs'
import path from 'node:path'
import { WorkbenchError } from '../errors'
import { readManifest, readRecords, ShardWriter, writeFileSynced, type Sample, type ShardWriterState } from '../data/shards'
import { BuiltinTagger } from './builtin'
import type { TagDistribution, TaggedDoc, Tagger, TagSummary } from './types'
import { processAlive } from '../process-alive'

export type { TagDistribution, TagSummary }

export const TAGS_FOLDER = 'tags'
const PARTIAL_FOLDER = `${TAGS_FOLDER}.partial`
const PROGRESS_FILE = 'progress.json'
const LOCK_FILE = `${TAGS_FOLDER}.lock` // beside the dataset: the process tagging it now
const BATCH_TEXTS = 256 // texts per tagger call: LAC batches their sentences over the kernel threads

export interface TagDatasetOptions {
  tagger: Tagger
  /** Also find entities (LAC over every character). Default true. */
  entities?: boolean
  signal?: AbortSignal
  onProgress?: (done: number, total: number) => void
  /** Checkpoint after this many records as well as every 10 s (tests use small values). */
  checkpointRecords?: number
}

/** The checkpoint in tags.partial/progress.json. */
interface TagProgress {
  tagger: string
  entities: boolean
  sourceRecords: number
  /** the source shards' names and sizes: a checkpoint of other records is not resumed */
  source: string
  /** every source record before this index is tagged (or skipped) and on disk */
  next: number
  skipped: number
  distribution: TagDistribution
  writer: ShardWriterState
}

export function emptyDistribution(): TagDistribution {
  return { documents: 0, characters: 0, tokens: 0, pos: {}, tags: {}, ents: {} }
}

export function addToDistribution(d: TagDistribution, doc: TaggedDoc): void {
  d.documents++
  d.characters += doc.text.length
  d.tokens += doc.tokens.length
  for (const t of doc.tokens) {
    d.pos[t.pos] = (d.pos[t.pos] ?? 0) + 1
    d.tags[t.tag] = (d.tags[t.tag] ?? 0) + 1
  }
  for (const e of doc.ents) d.ents[e.label] = (d.ents[e.label] ?? 0) + 1
}

async function tagBatch(texts: string[], tagger: Tagger, entities: boolean): Promise<TaggedDoc[]> {
  if (!entities && tagger instanceof BuiltinTagger) return texts.map((text) => ({ text, tokens: tagger.tokens(text), ents: [] }))
  return tagger.tag(texts)
}

/** Tagged documents from a stream of texts, tagged in batches (one request per batch for spaCy). */
export async function* tagDocuments(
  texts: AsyncIterable<string>,
  tagger: Tagger,
  options: { entities?: boolean; batch?: number; signal?: AbortSignal } = {},
): AsyncGenerator<TaggedDoc> {
  const batchSize = options.batch ?? 64
  const entities = options.entities ?? true
  let batch: string[] = []
  for await (const text of texts) {
    if (options.signal?.aborted) throw new WorkbenchError('CANCELLED', 'tagging cancelled')
    batch.push(text)
    if (batch.length >= batchSize) {
      yield* await tagBatch(batch, tagger, entities)
      batch = []
    }
  }
  if (batch.length) yield* await tagBatch(batch, tagger, entities)
}

export function readTagSummary(datasetDir: string): TagSummary | null {
  const file = path.join(datasetDir, TAGS_FOLDER, 'summary.json')
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as TagSummary) : null
}

/** Takes the dataset's tagging lock, or says who holds it; a lock left by a dead process is taken over. */
function lock(datasetDir: string): () => void {
  const file = path.join(datasetDir, LOCK_FILE)
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify({ pid: process.pid }), { flag: 'wx' })
      return () => fs.rmSync(file, { force: true })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err
      let pid = 0
      try {
        pid = (JSON.parse(fs.readFileSync(file, 'utf8')) as { pid: number }).pid
      } catch {
        // a torn lock file: its writer died while writing it
      }
      if (pid && processAlive(pid)) throw new WorkbenchError('CONFLICT', `${datasetDir} is being tagged by another job (process ${pid})`)
      fs.rmSync(file, { force: true })
    }
  }
}


function readProgress(partial: string): TagProgress | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(partial, PROGRESS_FILE), 'utf8')) as TagProgress
  } catch {
    return null // none, or a checkpoint torn by a crash: start over
  }
}

export async function tagDataset(
  datasetDir: string,
  options: TagDatasetOptions,
): Promise<TagSummary & { cached: boolean; resumedFrom: number }> {
  const manifest = readManifest(datasetDir)
  const entities = options.entities ?? true
  const tagger = options.tagger.name
  const cached = readTagSummary(datasetDir)
  if (cached && cached.tagger === tagger && cached.entities === entities && cached.sourceRecords === manifest.records) {
    return { ...cached, cached: true, resumedFrom: 0 }
  }
  const unlock = lock(datasetDir)
  try {
    return await tagLocked(datasetDir, options, manifest, entities)
  } finally {
    unlock()
  }
}

async function tagLocked(
  datasetDir: string,
  options: TagDatasetOptions,
  manifest: ReturnType<typeof readManifest>,
  entities: boolean,
): Promise<TagSummary & { cached: boolean; resumedFrom: number }> {
  const tagger = options.tagger.name
  const partial = path.join(datasetDir, PARTIAL_FOLDER)
  const source = manifest.shards.map((s) => `${s.file}:${s.records}:${s.bytes}`).join(' ')
  let progress = readProgress(partial)
  const sameWork = (p: TagProgress) => p.tagger === tagger && p.entities === entities && p.sourceRecords === manifest.records && p.source === source
  if (progress && !sameWork(progress)) progress = null
  let writer: ShardWriter
  if (progress) {
    writer = ShardWriter.resume(partial, true, progress.writer)
  } else {
    fs.rmSync(partial, { recursive: true, force: true })
    writer = new ShardWriter(partial, true)
  }
  const distribution = progress?.distribution ?? emptyDistribution()
  let skipped = progress?.skipped ?? 0
  let next = progress?.next ?? 0
  const resumedFrom = next
  const total = manifest.records

  let sinceCheckpoint = 0
  let lastCheckpoint = Date.now()
  const checkpoint = () => {
    const state: TagProgress = { tagger, entities, sourceRecords: total, source, next, skipped, distribution, writer: writer.checkpoint() }
    const file = path.join(partial, PROGRESS_FILE)
    writeFileSynced(`${file}.tmp`, JSON.stringify(state))
    fs.renameSync(`${file}.tmp`, file)
    sinceCheckpoint = 0
    lastCheckpoint = Date.now()
  }
  const every = options.checkpointRecords ?? Infinity

  let batch: Sample[] = []
  let texts = 0
  const runBatch = async () => {
    const docs = await tagBatch(
      batch.filter((s) => typeof s.record.text === 'string').map((s) => s.record.text as string),
      options.tagger,
      entities,
    )
    let k = 0
    for (const sample of batch) {
      if (typeof sample.record.text === 'string') {
        const doc = docs[k++]
        writer.write(sample.split, { index: sample.index, tokens: doc.tokens, ents: doc.ents })
        addToDistribution(distribution, doc)
      } else {
        skipped++
      }
      next = sample.index + 1
      sinceCheckpoint++
      options.onProgress?.(next, total)
    }
    batch = []
    texts = 0
    if (sinceCheckpoint >= every || Date.now() - lastCheckpoint >= 10_000) checkpoint()
  }

  try {
    options.onProgress?.(next, total)
    for await (const sample of readRecords(datasetDir, next)) {
      if (options.signal?.aborted) throw new WorkbenchError('CANCELLED', 'tagging cancelled')
      batch.push(sample)
      if (typeof sample.record.text === 'string') texts++
      if (texts >= BATCH_TEXTS || batch.length >= 4 * BATCH_TEXTS) await runBatch()
    }
    if (batch.length) await runBatch()
    if (options.signal?.aborted) throw new WorkbenchError('CANCELLED', 'tagging cancelled')
    writer.finish()
  } catch (err) {
    // keep what is done for the next run: the batch in flight is not part of the checkpoint
    try {
      checkpoint()
    } catch {
      // the checkpoint before stands
    }
    writer.abort()
    throw err
  }
  const summary: TagSummary = {
    tagger,
    entities,
    sourceRecords: total,
    tagged: distribution.documents,
    skipped,
    distribution,
    createdAt: new Date().toISOString(),
  }
  fs.rmSync(path.join(partial, PROGRESS_FILE), { force: true })
  writeFileSynced(path.join(partial, 'summary.json'), JSON.stringify(summary))
  const final = path.join(datasetDir, TAGS_FOLDER)
  fs.rmSync(final, { recursive: true, force: true })
  fs.renameSync(partial, final)
  return { ...summary, cached: false, resumedFrom }
}
