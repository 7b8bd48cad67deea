// `mengzi bench tokenize`: tokenizer throughput on real Chinese text, single thread. The corpus (fortunes-zh,
// manpages-zh, chinese-poetry, documents as JSON lines) and a vocab built from it are cached under the
// system temp folder so that repeated runs measure the tokenizer only.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { WorkbenchError } from '../errors'
import { availableSources, localChineseDocuments } from './local-corpus'
import { BertTokenizer, TokenBuffer } from './tokenizer'
import { buildVocab } from './vocab-builder'
import { formatVocab, loadVocab, parseVocab } from './vocab'

const unavailable = (msg: string) => new WorkbenchError('UNAVAILABLE', msg)

export interface TokenizeBenchOptions {
  /** Corpus size in MB of UTF-8 text. Default 10. */
  megabytes?: number
  /** A vocab.txt; default: a 21128-entry vocab built from the corpus. */
  vocab?: string
  /** Timed passes over the corpus (after one warm-up pass). Default 3. */
  rounds?: number
  lowercase?: boolean
  cacheDir?: string
  log?: (line: string) => void
}

export interface TokenizeBenchResult {
  corpus: { file: string; sources: string[]; documents: number; characters: number; megabytes: number }
  vocab: { file: string; size: number }
  rounds: number
  /** tokenizeInto: ids and offsets into a reused buffer (the data pipeline's path). */
  ids: PassTimes
  /** encode: [CLS] … [SEP], with token strings, types, mask and offsets as JS arrays. */
  encode: PassTimes
  tokens: number
  unkRate: number
  node: string
  cpu: string
}

export interface PassTimes {
  bestSeconds: number
  medianSeconds: number
  charsPerSecond: number
  tokensPerSecond: number
}

export async function prepareBenchCorpus(megabytes: number, cacheDir: string, log: (l: string) => void) {
  const sources = availableSources()
  if (sources.length === 0) throw unavailable('no local Chinese text: install the chinese-poetry npm package or Debian fortunes-zh/manpages-zh')
  const file = path.join(cacheDir, `tokenize-corpus-${megabytes}mb.jsonl`)
  if (!fs.existsSync(file)) {
    log(`building a ${megabytes} MB corpus from ${sources.join(', ')} in ${file}`)
    fs.mkdirSync(cacheDir, { recursive: true })
    const target = megabytes * 1024 * 1024
    const lines: string[] = []
    let bytes = 0
    // take each source in turn so that all of them are represented
    for (const source of sources) {
      const quota = (target - bytes) / (sources.length - sources.indexOf(source))
      let taken = 0
      for await (const doc of localChineseDocuments([source])) {
        lines.push(JSON.stringify(doc))
        const b = Buffer.byteLength(doc)
        taken += b
        bytes += b
        if (taken >= quota) break
      }
    }
    if (bytes < target) throw unavailable(`only ${(bytes / 1048576).toFixed(1)} MB of local Chinese text found, ${megabytes} MB wanted`)
    const tmp = `${file}.tmp`
    fs.writeFileSync(tmp, lines.join('\n') + '\n')
    fs.renameSync(tmp, file)
  }
  const docs = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as string)
  return { file, sources, docs }
}

export async function benchTokenize(options: TokenizeBenchOptions = {}): Promise<TokenizeBenchResult> {
  const megabytes = options.megabytes ?? 10
  const rounds = options.rounds ?? 3
  const cacheDir = options.cacheDir ?? path.join(os.tmpdir(), 'mengzi-bench')
  const log = options.log ?? (() => {})
  const { file, sources, docs } = await prepareBenchCorpus(megabytes, cacheDir, log)

  let vocabFile = options.vocab
  if (!vocabFile) {
    vocabFile = path.join(cacheDir, `tokenize-vocab-${megabytes}mb.txt`)
    if (!fs.existsSync(vocabFile)) {
      log(`building a 21128-entry vocab from the corpus in ${vocabFile}`)
      const { tokens } = await buildVocab(docs, { size: 21128 })
      parseVocab(formatVocab(tokens)) // validates before caching
      fs.writeFileSync(vocabFile, formatVocab(tokens))
    }
  }
  const vocab = loadVocab(vocabFile)
  const tokenizer = new BertTokenizer(vocab, { lowercase: options.lowercase ?? true })

  let characters = 0
  for (const d of docs) characters += d.length
  const buf = new TokenBuffer()
  let tokens = 0
  let unks = 0
  const idsPass = () => {
    tokens = 0
    for (const d of docs) {
      buf.clear()
      tokenizer.tokenizeInto(d, buf)
      tokens += buf.length
    }
  }
  const encodePass = () => {
    for (const d of docs) tokenizer.encode(d)
  }
  idsPass() // warm-up; also counts [UNK]s
  for (const d of docs) {
    buf.clear()
    tokenizer.tokenizeInto(d, buf)
    for (let k = 0; k < buf.length; k++) if (buf.ids[k] === tokenizer.unk) unks++
  }
  const ids = timePasses(idsPass, rounds, characters, tokens)
  encodePass()
  const encode = timePasses(encodePass, rounds, characters, tokens)
  return {
    corpus: { file, sources, documents: docs.length, characters, megabytes: Buffer.byteLength(docs.join('')) / 1048576 },
    vocab: { file: vocabFile, size: vocab.size },
    rounds,
    ids,
    encode,
    tokens,
    unkRate: tokens === 0 ? 0 : unks / tokens,
    node: process.versions.node,
    cpu: os.cpus()[0]?.model ?? 'unknown',
  }
}

function timePasses(pass: () => void, rounds: number, characters: number, tokens: number): PassTimes {
  const times: number[] = []
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now()
    pass()
    times.push((performance.now() - t0) / 1000)
  }
  times.sort((a, b) => a - b)
  const best = times[0]
  return {
    bestSeconds: best,
    medianSeconds: times[Math.floor(times.length / 2)],
    charsPerSecond: characters / best,
    tokensPerSecond: tokens / best,
  }
}
