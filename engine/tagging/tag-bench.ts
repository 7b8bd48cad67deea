// `mengzi bench tag`: characters per second of the built-in tagger on real Chinese text (fortunes-zh,
// manpages-zh, chinese-poetry), one thread: jieba segmentation + POS (the exact posseg port, and with the
// UPOS mapping), and NER (LAC-small over sentence chunks, then the entity rules).
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { WorkbenchError } from '../errors'
import { availableSources, localChineseDocuments, type LocalSource } from '../text/local-corpus'
import { BuiltinTagger } from './builtin'

export interface TagBenchOptions {
  /** Characters of modern text for segmentation + POS (a tenth of it in classical poetry). Default 2,000,000. */
  posChars?: number
  /** Characters of text for NER (much slower). Default 50,000. */
  nerChars?: number
  /** Timed passes after one warm-up pass. Default 3. */
  rounds?: number
  log?: (line: string) => void
}

export interface TagBenchPass {
  name: string
  characters: number
  bestSeconds: number
  medianSeconds: number
  charsPerSecond: number
}

export interface TagBenchResult {
  sources: string[]
  documents: number
  loadSeconds: number
  passes: TagBenchPass[]
  node: string
  cpu: string
  loadAverage: number[]
}

async function corpus(chars: number, sources: LocalSource[]): Promise<string[]> {
  const docs: string[] = []
  let total = 0
  for await (const doc of localChineseDocuments(sources)) {
    docs.push(doc)
    total += doc.length
    if (total >= chars) break
  }
  return docs
}

function time(name: string, docs: string[], rounds: number, fn: (doc: string) => unknown): TagBenchPass {
  const characters = docs.reduce((n, d) => n + d.length, 0)
  docs.forEach(fn) // warm-up
  const seconds: number[] = []
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now()
    for (const doc of docs) fn(doc)
    seconds.push((performance.now() - t0) / 1000)
  }
  seconds.sort((a, b) => a - b)
  return { name, characters, bestSeconds: seconds[0], medianSeconds: seconds[seconds.length >> 1], charsPerSecond: characters / seconds[0] }
}

export async function benchTag(options: TagBenchOptions = {}): Promise<TagBenchResult> {
  const sources = availableSources()
  if (sources.length === 0) throw new WorkbenchError('UNAVAILABLE', 'no local Chinese text found (chinese-poetry, fortunes-zh or manpages-zh)')
  const log = options.log ?? (() => {})
  const rounds = options.rounds ?? 3
  const t0 = performance.now()
  const tagger = BuiltinTagger.shared()
  const loadSeconds = (performance.now() - t0) / 1000
  // modern text (fortunes, man pages) and classical poetry apart: classical and traditional characters
  // often fall outside jieba's dictionary and HMM character table, where the HMM does most of the work
  const modern = sources.filter((s) => s !== 'chinese-poetry')
  const classical = sources.filter((s) => s === 'chinese-poetry')
  const posChars = options.posChars ?? 2_000_000
  const modernDocs = modern.length ? await corpus(posChars, modern) : []
  const classicalDocs = classical.length ? await corpus(Math.ceil(posChars / 10), classical) : []
  const nerDocs = await corpus(options.nerChars ?? 50_000, modern.length ? modern : classical)
  log(`models loaded in ${loadSeconds.toFixed(2)} s; timing ${rounds} rounds`)
  const passes: TagBenchPass[] = []
  if (modernDocs.length) {
    passes.push(time('seg + POS, modern text (jieba posseg.cut)', modernDocs, rounds, (d) => tagger.posseg.cut(d)))
    passes.push(time('seg + POS + UPOS tokens, modern text', modernDocs, rounds, (d) => tagger.tokens(d)))
  }
  if (classicalDocs.length) passes.push(time('seg + POS, classical poetry (posseg.cut)', classicalDocs, rounds, (d) => tagger.posseg.cut(d)))
  passes.push(time('NER (LAC-small + entity rules)', nerDocs, rounds, (d) => tagger.entities(d, tagger.tokens(d))))
  return {
    sources,
    documents: modernDocs.length + classicalDocs.length + nerDocs.length,
    loadSeconds,
    passes,
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    loadAverage: os.loadavg(),
  }
}
