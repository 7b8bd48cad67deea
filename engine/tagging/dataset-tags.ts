// Tagging a whole dataset: every record's `text` through a tagger, written as JSON-lines shards in
// datasets/<id>/tags/ (beside the dataset's own shards, same shard format) with a summary of the tag
// distribution. The folder is a cache: tagging again with the same tagger and options over the same
// records returns the summary without work. Records without a string `text` (CLUE task records) are
// counted as skipped.
import fs from 'node:fs'
import path from 'node:path'
import { WorkbenchError } from '../errors'
import { readManifest, readSamples, ShardWriter, writeFileSynced } from '../data/shards'
import { BuiltinTagger } from './builtin'
import type { TagDistribution, TaggedDoc, Tagger, TagSummary } from './types'

export type { TagDistribution, TagSummary }

export const TAGS_FOLDER = 'tags'
const PAGE = 500

export interface TagDatasetOptions {
  tagger: Tagger
  /** Also find entities (slow with the built-in tagger: LAC runs over every character). Default true. */
  entities?: boolean
  signal?: AbortSignal
  onProgress?: (done: number, total: number) => void
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

/** Tagged documents from a stream of texts, tagged in batches (one request per batch for spaCy). */
export async function* tagDocuments(
  texts: AsyncIterable<string>,
  tagger: Tagger,
  options: { entities?: boolean; batch?: number; signal?: AbortSignal } = {},
): AsyncGenerator<TaggedDoc> {
  const batchSize = options.batch ?? 64
  const tokensOnly = options.entities === false && tagger instanceof BuiltinTagger
  const run = async (batch: string[]) =>
    tokensOnly ? batch.map((text) => ({ text, tokens: (tagger as BuiltinTagger).tokens(text), ents: [] })) : tagger.tag(batch)
  let batch: string[] = []
  for await (const text of texts) {
    if (options.signal?.aborted) throw new WorkbenchError('CANCELLED', 'tagging cancelled')
    batch.push(text)
    if (batch.length >= batchSize) {
      yield* await run(batch)
      batch = []
    }
  }
  if (batch.length) yield* await run(batch)
}

export function readTagSummary(datasetDir: string): TagSummary | null {
  const file = path.join(datasetDir, TAGS_FOLDER, 'summary.json')
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as TagSummary) : null
}

export async function tagDataset(datasetDir: string, options: TagDatasetOptions): Promise<TagSummary & { cached: boolean }> {
  const manifest = readManifest(datasetDir)
  const entities = options.entities ?? true
  const cached = readTagSummary(datasetDir)
  if (cached && cached.tagger === options.tagger.name && cached.entities === entities && cached.sourceRecords === manifest.records) {
    return { ...cached, cached: true }
  }
  const partial = path.join(datasetDir, `${TAGS_FOLDER}.partial`)
  fs.rmSync(partial, { recursive: true, force: true })
  const writer = new ShardWriter(partial, true)
  const distribution = emptyDistribution()
  let done = 0
  let skipped = 0
  const positions: { index: number; split: string }[] = []
  async function* texts(): AsyncGenerator<string> {
    for (let offset = 0; offset < manifest.records; offset += PAGE) {
      const page = await readSamples(datasetDir, offset, PAGE)
      for (const sample of page.items) {
        const text = sample.record.text
        if (typeof text === 'string') {
          positions.push({ index: sample.index, split: sample.split })
          yield text
        } else {
          skipped++
          options.onProgress?.(++done, manifest.records)
        }
      }
    }
  }
  try {
    for await (const doc of tagDocuments(texts(), options.tagger, { entities, signal: options.signal })) {
      const at = positions.shift()!
      writer.write(at.split, { index: at.index, tokens: doc.tokens, ents: doc.ents })
      addToDistribution(distribution, doc)
      options.onProgress?.(++done, manifest.records)
    }
    writer.finish()
  } catch (err) {
    writer.abort()
    fs.rmSync(partial, { recursive: true, force: true })
    throw err
  }
  const summary: TagSummary = {
    tagger: options.tagger.name,
    entities,
    sourceRecords: manifest.records,
    tagged: distribution.documents,
    skipped,
    distribution,
    createdAt: new Date().toISOString(),
  }
  writeFileSynced(path.join(partial, 'summary.json'), JSON.stringify(summary))
  const final = path.join(datasetDir, TAGS_FOLDER)
  fs.rmSync(final, { recursive: true, force: true })
  fs.renameSync(partial, final)
  return { ...summary, cached: false }
}
