// `mengzi bench tag`: characters per second of the built-in tagger on real Chinese text (fortunes-zh,
// manpages-zh, chinese-poetry): jieba segmentation + POS (the exact posseg port, one path: JavaScript), and
// NER — LAC-small over sentence chunks on the JavaScript path and on the native kernel (1 and 2 threads),
// then the whole per-record work of a tagging job (tokens, LAC, entity rules). Rates are the median of
// the rounds; CPU rates divide by the process's CPU time, which a machine shared with other work
// disturbs less than wall time.
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { WorkbenchError } from '../errors'
import { availableSources, localChineseDocuments, type LocalSource } from '../text/local-corpus'
import { BuiltinTagger } from './builtin'

export interface TagBenchOptions {
  /** Characters of modern text for segmentation + POS (a tenth of it in classical poetry). Default 2,000,000. */
  posChars?: number
  /** Characters of text for NER on the native kernel. Default 300,000. */
  nerChars?: number
  /** Characters for NER on the JavaScript path (about 2k characters per second). Default 10,000. */
  jsNerChars?: number
  /** Threads for the native passes besides 1. Default 2. */
  threads?: number
  /** Timed passes after one warm-up pass. Default 3. */
  rounds?: number
  log?: (line: string) => void
}

export interface TagBenchPass {
  name: string
  /** 'js' or 'native' (the LAC kernel of engine/native) */
  path: 'js' | 'native'
  threads: number
  characters: number
  bestSeconds: number
  medianSeconds: number
  /** characters / median seconds */
  charsPerSecond: number
  /** characters / median CPU seconds of the process (all threads) */
  charsPerCpuSecond: number
}

export interface TagBenchResult {
  sources: string[]
  documents: number
  loadSeconds: number
  /** why the native passes are missing, when they are */
  nativeUnavailable: string | null
  passes: TagBenchPass[]
  node: string
  cpu: string
  cores: number
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]

function time(name: string, path: 'js' | 'native', threads: number, docs: string[], rounds: number, fn: (docs: string[]) => unknown): TagBenchPass {
  const characters = docs.reduce((n, d) => n + d.length, 0)
  fn(docs) // warm-up
  const seconds: number[] = []
  const cpuSeconds: number[] = []
  for (let r = 0; r < rounds; r++) {
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    fn(docs)
    seconds.push((performance.now() - t0) / 1000)
    const cpu = process.cpuUsage(cpu0)
    cpuSeconds.push((cpu.user + cpu.system) / 1e6)
  }
  const medianSeconds = median(seconds)
  return {
    name,
    path,
    threads,
    characters,
    bestSeconds: Math.min(...seconds),
    medianSeconds,
    charsPerSecond: characters / medianSeconds,
    charsPerCpuSecond: characters / median(cpuSeconds),
  }
}

/** fn over the documents in batches of 256, as the tagging job calls the tagger. */
const inBatches = (fn: (batch: string[]) => unknown) => (docs: string[]) => {
  for (let i = 0; i < docs.length; i += 256) fn(docs.slice(i, i + 256))
}

export async function benchTag(options: TagBenchOptions = {}): Promise<TagBenchResult> {
  const sources = availableSources()
  if (sources.length === 0) throw new WorkbenchError('UNAVAILABLE', 'no local Chinese text found (chinese-poetry, fortunes-zh or manpages-zh)')
  const log = options.log ?? (() => {})
  const rounds = options.rounds ?? 3
  const threads = options.threads ?? 2
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
  const nerSources = modern.length ? modern : classical
  const nerDocs = await corpus(options.nerChars ?? 300_000, nerSources)
  const jsNerDocs = await corpus(options.jsNerChars ?? 10_000, nerSources)
  log(`models loaded in ${loadSeconds.toFixed(2)} s; timing ${rounds} rounds`)
  const passes: TagBenchPass[] = []
  if (modernDocs.length) {
    passes.push(time('seg + POS, modern text (jieba posseg.cut)', 'js', 1, modernDocs, rounds, (ds) => ds.forEach((d) => tagger.posseg.cut(d))))
    passes.push(time('seg + POS + UPOS tokens, modern text', 'js', 1, modernDocs, rounds, (ds) => ds.forEach((d) => tagger.tokens(d))))
  }
  if (classicalDocs.length) {
    passes.push(time('seg + POS, classical poetry (posseg.cut)', 'js', 1, classicalDocs, rounds, (ds) => ds.forEach((d) => tagger.posseg.cut(d))))
  }
  const lac = tagger.lac
  const kernel = lac.native
  const restoreThreads = kernel?.kernelThreads()
  try {
    lac.native = null
    log('NER on the JavaScript path …')
    passes.push(time('NER: LAC-small over sentence chunks', 'js', 1, jsNerDocs, rounds, inBatches((b) => tagger.lacWordsOf(b))))
    if (kernel) {
      lac.native = kernel
      for (const n of [...new Set([1, threads])]) {
        kernel.kernelThreads(n)
        log(`NER on the native kernel, ${n} thread(s) …`)
        passes.push(time('NER: LAC-small over sentence chunks', 'native', n, nerDocs, rounds, inBatches((b) => tagger.lacWordsOf(b))))
      }
      passes.push(time('tagging job: tokens + LAC + entity rules', 'native', threads, nerDocs, rounds, inBatches((b) => tagger.tagTexts(b))))
    }
  } finally {
    lac.native = kernel
    if (kernel && restoreThreads) kernel.kernelThreads(restoreThreads)
  }
  return {
    sources,
    documents: modernDocs.length + classicalDocs.length + nerDocs.length,
    loadSeconds,
    nativeUnavailable: kernel ? null : 'the native LAC kernel is not available (engine/native not built, or MENGZI_NATIVE=0)',
    passes,
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    loadAverage: os.loadavg(),
  }
}
